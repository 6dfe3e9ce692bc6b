"""Modules: objects that hold parameters and compute a forward pass, as in ``torch.nn``.

A :class:`Module` finds its parameters by walking its own attributes: every leaf Tensor
it holds (made with :func:`Parameter`; one frozen with ``requires_grad_(False)`` still
counts, and is saved), then every sub-module it holds (directly, or in a list or tuple
attribute), recursively, in the order the attributes were set. No registration step and no
``__setattr__`` hook: what ``vars(module)`` shows is what ``parameters()`` walks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..tensor import DEFAULT_FLOAT, Tensor


def Parameter(data: Any, requires_grad: bool = True) -> Tensor:  # noqa: N802  (torch's name)
    """A tensor for a :class:`Module` to learn: a leaf Tensor with ``requires_grad=True``.

    The values are copied (as ``torch.nn.Parameter(torch.tensor(a))``: a NumPy array refilled
    later, a reused batch buffer say, does not change the parameter); floating-point dtypes
    are kept, anything else becomes float32. It is a plain Tensor, not a subclass, so the
    engine's fast path takes it as it is; what makes it a parameter is being held as a
    module's attribute. Optimisers update its array in place, so the array object stays
    the same for life.
    """
    if isinstance(data, Tensor):
        data = data.data
    array = np.array(data)
    if array.dtype.kind != "f":
        array = array.astype(DEFAULT_FLOAT)
    return Tensor(array, requires_grad=requires_grad)


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match, as in PyTorch."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers, losses and networks.

    Subclasses set their parameters and sub-modules as attributes in ``__init__`` (after
    calling ``super().__init__()``) and define ``forward``; calling the module calls
    ``forward``. ``training`` is True until :meth:`eval` is called.
    """

    def __init__(self) -> None:
        self.training = True

    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.forward(*inputs, **kwargs)

    # --- walking the tree -----------------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The sub-modules held directly, by attribute name (``name.i`` inside a list)."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named ``prefix``) and every module below it, depth first."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Every parameter (leaf Tensor attribute) with its dotted path (``"0.weight"``);
        a parameter shared by two modules is listed once, under its first name."""
        seen: set[int] = set()
        for module_name, module in self.named_modules(prefix):
            for name, value in vars(module).items():
                if isinstance(value, Tensor) and value.is_leaf and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    def parameters(self) -> Iterator[Tensor]:
        for _, parameter in self.named_parameters():
            yield parameter

    def num_parameters(self) -> int:
        """How many numbers the module learns."""
        return sum(p.size for p in self.parameters())

    # --- modes and gradients --------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode here and in every sub-module."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: Dropout passes its input through unchanged."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to None (the default), or to zeros in place."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    # --- saving and loading ---------------------------------------------------------------

    def to(self, device: Any) -> Module:
        """Move every parameter (and its gradient) to ``device``, in place; returns self.

        The parameter tensors stay the same objects, so an optimiser made before the move
        keeps working; its running state follows at its next step.
        """
        target = backend.parse_device(device)
        for p in self.parameters():
            if p.device != target:
                p.data = backend.to_device(p.writable_array(), target)
                if p.grad is not None:
                    p.grad = Tensor(backend.to_device(p.grad.numpy() if target != "cpu"
                                                      else p.grad.writable_array(), target))
        return self

    def state_dict(self) -> dict[str, Tensor]:
        """Every parameter by name, as detached Tensors that share the parameters' arrays
        (as PyTorch's do: copy them, or save them, before training on)."""
        return {name: p.detach() for name, p in self.named_parameters()}

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy values (Tensors or arrays) into the parameters of the same names, in place.

        Every error is collected and reported at once in a RuntimeError: a value whose shape
        differs from its parameter's (always an error), and, when ``strict``, parameters the
        dict lacks (missing keys) and names the module does not have (unexpected keys).
        Nothing is copied unless everything fits.
        """
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(map(str, unexpected))}")
        values = {}
        for name, p in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            array = value.data if isinstance(value, Tensor) else np.asarray(value)
            if array.shape != p.shape:
                problems.append(
                    f"shape mismatch for {name}: the state dict has {array.shape}, "
                    f"the module has {p.shape}"
                )
            values[name] = array
        if problems:
            raise RuntimeError(
                f"error loading the state dict into {type(self).__name__}: " + "; ".join(problems)
            )
        for name, array in values.items():
            p = own[name]
            # the array itself (writable even while a graph holds p); its version moves
            p.writable_array()[...] = backend.to_device(array.astype(p.dtype, copy=False),
                                                        p.device)
        return IncompatibleKeys(missing, unexpected)

    # --- display --------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The module's settings, shown inside the parentheses of its repr."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():
            lines.append(f"  {self.extra_repr()}")
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)
