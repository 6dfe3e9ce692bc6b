"""What every optimiser shares: parameter groups, per-parameter state, zero_grad and
state_dict, laid out as in ``torch.optim``.

An optimiser holds ``param_groups``, a list of dicts each with ``"params"`` (a list of
tensors) and that group's hyperparameters (``"lr"``, ...), and ``state``, a dict from a
parameter's index (its position counting through all groups in order) to a dict of that
parameter's running values (``"momentum_buffer"``, ``"exp_avg"``, ``"step"``, ...).
``step()`` updates every parameter that has a ``.grad``, in place on its ``.data`` array, so
arrays shared with the model (views, aliases) stay valid. A group with ``"maximize": True``
climbs instead: its rules see −g, as in PyTorch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import backend
from ..engine import enable_grad
from ..replay.state import replayed
from ..tensor import Tensor


def _lowered_zero_grad(optimizer: Optimizer, set_to_none: bool = True) -> list[Any] | None:
    """For a capture: ``zero_grad()`` is ``p.grad = None`` for each parameter."""
    if not set_to_none:
        return None
    return [("none", p) for group in optimizer.param_groups for p in group["params"]]


def _lowered_step(optimizer: Optimizer, closure: Any = None) -> list[Any] | None:
    """For a capture: a step whose every group updates by w ← w − lr · g (``plain``) is
    that, for each parameter with a gradient now; else None (replayed whole)."""
    if closure is not None or type(optimizer).step is not Optimizer.step:
        return None
    checks: list[Any] = []
    updates: list[Any] = []
    for k, group in enumerate(optimizer.param_groups):
        if not optimizer.plain(group):
            return None
        checks.append(("plain", k))
        for p in group["params"]:
            if p._grad is None:
                checks.append(("absent", p))  # checked before any parameter changes
            else:
                updates.append(("descend", p, k))
    return checks + updates


class Optimizer:
    """Base class: subclasses define ``update(p, g, state, group)`` for one parameter."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty list of parameters")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (the defaults fill in the
        ones it does not give)."""
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        known = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor) or not p.is_leaf:
                raise TypeError(
                    f"{type(self).__name__} can only optimise leaf Tensors, got {type(p).__name__}"
                )
            if id(p) in known:
                raise ValueError(f"{type(self).__name__}: a parameter appears twice")
            known.add(id(p))
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown options {sorted(unknown)}")
        self.param_groups.append({**self.defaults, **group, "params": params})

    @replayed(lowering=_lowered_zero_grad)
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to None (the default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                p.zero_grad(set_to_none)

    @replayed(lowering=_lowered_step)
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()`` if given (it is
        called first, with gradients enabled, to recompute the loss)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        index = 0
        states, update = self.state, self.update
        for group in self.param_groups:
            maximize = group.get("maximize")
            for p in group["params"]:
                grad = p._grad
                if grad is not None:
                    state = states.get(index)
                    if state is None:
                        state = states[index] = {}
                    # the array itself (writable even while a retained graph holds p); its
                    # version moves, so that graph refuses a later backward
                    array = p.writable_array()
                    if state:
                        _follow(state, array)
                    g = grad._data  # read, never written
                    update(array, -g if maximize else g, state, group)
                index += 1
        return loss

    def update(
        self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Change the array ``p`` in place given its gradient ``g`` (not to be changed)."""
        raise NotImplementedError(f"{type(self).__name__} does not define update()")

    def plain(self, group: dict[str, Any]) -> bool:
        """Whether ``update`` is exactly ``p -= group["lr"] * g`` for this group's options
        (then a captured step writes it as two NumPy calls, reading lr at each replay)."""
        return False

    # --- saving and loading ---------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: array or number}}, "param_groups": [{options...,
        "params": [indices]}]}``: plain data that ``gradgate.io.save`` can write. The arrays
        are the optimiser's own (not copies), as in PyTorch."""
        groups = []
        index = 0
        for group in self.param_groups:
            options = {k: v for k, v in group.items() if k != "params"}
            groups.append({**options, "params": list(range(index, index + len(group["params"])))})
            index += len(group["params"])
        state = {i: dict(values) for i, values in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and running state saved by :meth:`state_dict` from an optimiser
        over parameters of the same shapes, in the same order. The arrays are copied."""
        name = type(self).__name__
        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        saved_state = state_dict.get("state") if isinstance(state_dict, dict) else None
        if not isinstance(groups, list) or not isinstance(saved_state, dict):
            raise ValueError(
                f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups'"
            )
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g.get("params", [])) for g in groups]
        if sizes != saved_sizes:
            raise ValueError(
                f"{name}.load_state_dict: the saved groups hold {saved_sizes} "
                f"parameters, this optimiser's hold {sizes}"
            )
        params = [p for g in self.param_groups for p in g["params"]]
        state: dict[int, dict[str, Any]] = {}
        for key, values in saved_state.items():
            index = int(key)
            if not 0 <= index < len(params):
                raise ValueError(
                    f"{name}.load_state_dict: state for parameter {index}, but "
                    f"there are only {len(params)}"
                )
            state[index] = {k: _restored(v, params[index], k, name) for k, v in values.items()}
        for group, saved in zip(self.param_groups, groups, strict=True):
            for key, value in saved.items():
                if key != "params":
                    group[key] = copy.deepcopy(value)
        self.state = state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _restored(value: Any, p: Tensor, key: str, name: str) -> Any:
    """A copy of one saved state value: arrays must fit the parameter and take its dtype."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray) and value.ndim > 0:
        if value.shape != p.shape:
            raise ValueError(
                f"{name}.load_state_dict: {key!r} has shape {value.shape}, its "
                f"parameter has {p.shape}"
            )
        return backend.to_device(value.astype(p.dtype, copy=True), p.device)
    if isinstance(value, (np.ndarray, np.generic)):
        return value.item()
    return value


def _follow(state: dict[str, Any], p: Any) -> None:
    """Move a parameter's running arrays to the parameter's device (after Module.to)."""
    for key, value in state.items():
        if hasattr(value, "shape") and type(value) is not type(p):
            state[key] = backend.to_device(value, backend.device_of(p))
