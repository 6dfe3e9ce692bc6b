"""Modules: objects that hold parameters and compute a forward pass, as in ``torch.nn``.

A :class:`Module` finds its parameters by walking its own attributes: every leaf Tensor
it holds (made with :func:`Parameter`; one frozen with ``requires_grad_(False)`` still
counts, and is saved), then every sub-module it holds (directly, or in a list or tuple
attribute), recursively, in the order the attributes were set. No registration step and no
``__setattr__`` hook: what ``vars(module)`` shows is what ``parameters()`` walks.

A *buffer* (running statistics, a fixed mask) is a Tensor attribute named in
:meth:`Module.register_buffer`: it is saved in ``state_dict`` (unless not persistent) and
moved by ``to``, but it is not a parameter, so no optimiser sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..replay import state as capture_state
from ..replay.state import replayed
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
        if capture_state.ACTIVE[0]:
            r = capture_state.recorder()
            if r is not None:  # a replay assumes the module's training flag stays
                r.module_called(self)
        hooks = self.__dict__.get("_hooks")  # set by the first register_forward_*_hook
        if hooks is None:
            return self.forward(*inputs, **kwargs)
        for hook in list(hooks["pre"].values()):
            changed = hook(self, inputs)
            if changed is not None:
                inputs = changed if isinstance(changed, tuple) else (changed,)
        output = self.forward(*inputs, **kwargs)
        for hook in list(hooks["post"].values()):
            changed = hook(self, inputs, output)
            if changed is not None:
                output = changed
        return output

    # --- hooks ------------------------------------------------------------------------------

    def _hook_table(self, kind: str) -> dict[int, Callable[..., Any]]:
        hooks = self.__dict__.setdefault("_hooks", {"pre": {}, "post": {}})
        return hooks[kind]

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call ``hook(module, inputs)`` before each forward; a value it returns (a tuple, or
        one input) replaces the inputs. Returns a handle whose ``remove()`` takes it off."""
        return RemovableHandle(self._hook_table("pre"), hook)

    def register_forward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after each forward; a value it returns
        replaces the output."""
        return RemovableHandle(self._hook_table("post"), hook)

    # --- building ---------------------------------------------------------------------------

    def add_module(self, name: str, module: Module | None) -> None:
        """Hold ``module`` as the attribute ``name`` (as ``setattr``, checked)."""
        if not isinstance(name, str) or not name.isidentifier():
            raise KeyError(f"add_module: {name!r} is not a valid attribute name")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: a {type(module).__name__} is not a Module")
        setattr(self, name, module)

    register_module = add_module

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Hold ``tensor`` as the attribute ``name``: a buffer, saved in ``state_dict`` when
        ``persistent``, moved and cast by ``to``, and not a parameter. ``None`` reserves the
        name (as PyTorch's ``track_running_stats=False`` does)."""
        if not isinstance(name, str) or not name.isidentifier():
            raise KeyError(f"register_buffer: {name!r} is not a valid attribute name")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: {name} must be a Tensor or None, got {type(tensor).__name__}"
            )
        self.__dict__.setdefault("_buffer_names", {})[name] = bool(persistent)
        setattr(self, name, tensor)

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Every buffer with its dotted path (``"0.running_mean"``)."""
        for module_name, module in self.named_modules(prefix):
            for name in module.__dict__.get("_buffer_names", {}):
                value = vars(module).get(name)
                if isinstance(value, Tensor):
                    yield (f"{module_name}.{name}" if module_name else name), value

    def buffers(self) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers():
            yield buffer

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module, then on this module (as PyTorch, children
        first); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

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
            buffers = module.__dict__.get("_buffer_names", ())
            for name, value in vars(module).items():
                if (
                    isinstance(value, Tensor)
                    and value.is_leaf
                    and id(value) not in seen
                    and name not in buffers
                ):
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

    @replayed
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to None (the default), or to zeros in place."""
        for p in self.parameters():
            p.zero_grad(set_to_none)

    # --- saving and loading ---------------------------------------------------------------

    def to(self, device_or_dtype: Any = None, dtype: Any = None) -> Module:
        """Move every parameter and buffer (and gradient) to a device (``"cpu"``,
        ``"cuda:0"``), or convert the floating-point ones to a dtype, or both
        (``to("cuda", np.float64)``), in place; returns self.

        The parameter tensors stay the same objects, so an optimiser made before the move
        keeps working; its running state follows at its next step. Integer buffers (a
        batch count) keep their dtype.
        """
        device = None
        if device_or_dtype is not None:
            if isinstance(device_or_dtype, str) and (
                device_or_dtype.lower() == "cpu" or device_or_dtype.lower().startswith("cuda")
            ):
                device = device_or_dtype
            else:
                dtype = device_or_dtype
        if dtype is not None:
            self._cast(np.dtype(dtype))
        if device is None:
            return self
        target = backend.parse_device(device)
        for p in [*self.parameters(), *self.buffers()]:
            if p.device != target:
                p.data = backend.to_device(p.writable_array(), target)
                if p.grad is not None:
                    p.grad = Tensor(
                        backend.to_device(
                            p.grad.numpy() if target != "cpu" else p.grad.writable_array(), target
                        )
                    )
        return self

    def _cast(self, dtype: np.dtype) -> None:
        if dtype.kind != "f":
            raise TypeError(
                f"Module.to: parameters convert to floating-point dtypes only, got {dtype}"
            )
        for p in [*self.parameters(), *self.buffers()]:
            if p.dtype.kind == "f" and p.dtype != dtype:
                p.data = p.writable_array().astype(dtype)
                if p.grad is not None:
                    p.grad = Tensor(p.grad.writable_array().astype(dtype))

    def double(self) -> Module:
        """Every floating-point parameter and buffer as float64; returns self."""
        return self.to(np.float64)

    def float(self) -> Module:
        """... as float32."""
        return self.to(np.float32)

    def half(self) -> Module:
        """... as float16."""
        return self.to(np.float16)

    def state_dict(self) -> dict[str, Tensor]:
        """Every parameter and persistent buffer by name, as detached Tensors that share
        their arrays (as PyTorch's do: copy them, or save them, before training on); each
        module's parameters, then its buffers, then its sub-modules', as PyTorch orders
        them."""
        return {name: t.detach() for name, t in self._saved_tensors()}

    def _saved_tensors(self) -> Iterator[tuple[str, Tensor]]:
        parameters = dict(self.named_parameters())
        owner = {id(t): name for name, t in parameters.items()}
        for module_name, module in self.named_modules():
            names = module.__dict__.get("_buffer_names", {})
            for name, value in vars(module).items():
                if not isinstance(value, Tensor):
                    continue
                path = f"{module_name}.{name}" if module_name else name
                if name in names:
                    if names[name]:
                        yield path, value
                elif owner.get(id(value)) == path:
                    yield path, value

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy values (Tensors or arrays) into the parameters and persistent buffers of the
        same names, in place (a PyTorch state dict converted to arrays loads as it is).

        Every error is collected and reported at once in a RuntimeError: a value whose shape
        differs from its parameter's (always an error), and, when ``strict``, parameters the
        dict lacks (missing keys) and names the module does not have (unexpected keys).
        Nothing is copied unless everything fits.
        """
        own = dict(self._saved_tensors())
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
            p.writable_array()[...] = backend.to_device(array.astype(p.dtype, copy=False), p.device)
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


class RemovableHandle:
    """What registering a hook returns: ``remove()`` takes the hook off again."""

    def __init__(self, table: dict[int, Callable[..., Any]], hook: Callable[..., Any]):
        self._table = table
        self.id = id(self)
        table[self.id] = hook

    def remove(self) -> None:
        self._table.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()
