"""The Tensor: a value, the gate that produced it (its parents are the gate's inputs), and
its gradient."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from . import backend

DEFAULT_FLOAT = np.dtype(np.float32)

# In-place changes are stamped from one clock: a tensor's ``_version`` is the stamp of its
# last change (0: never changed) and ``latest_change[0]`` the newest stamp handed out. A gate
# notes ``latest_change[0]`` when it saves its inputs; a saved tensor whose stamp is newer
# changed after that, and backward refuses to use it.
_clock = itertools.count(1)
latest_change = [0]


def _stamp(t: Tensor) -> None:
    stamp = next(_clock)
    t._version = stamp
    if stamp > latest_change[0]:
        latest_change[0] = stamp


class Tensor:
    """An array in the computation graph.

    ``data`` is the array (NumPy on the CPU). ``gate`` is the :class:`~gradgate.gates.Gate`
    that computed it, or None for a leaf (an input or a parameter). ``grad`` is a Tensor
    holding dE/d(this tensor) after ``backward()``; leaves accumulate it across calls, as in
    PyTorch, until it is reset to None.

    Tensors hash and compare for identity in the graph (two equal constants stay two nodes);
    ``==`` and the other comparisons work element-wise and carry no gradient.
    """

    __slots__ = ("_data", "_version", "_saved", "grad", "requires_grad", "gate", "retains_grad",
                 "__weakref__")
    __array_priority__ = 1000  # make ndarray <op> Tensor call the Tensor's reflected op

    def __init__(self, data: Any, requires_grad: bool = False):
        self._data = data
        self._version = 0  # stamp of the last in-place change, see _stamp
        self._saved = 0  # how many recorded gates, not yet released, hold this tensor
        self.grad: Tensor | None = None
        self.gate = None
        self.retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @property
    def data(self) -> Any:
        """The array. While a recorded gate that has not run backward yet holds this tensor,
        it comes back read-only, so ``t.data[i] = v`` is refused then instead of making that
        backward wrong. Assigning to it (``t.data = a``) counts as an in-place change: a gate
        that saved this tensor then refuses to run backward."""
        if self._saved:
            return _read_only(self._data)
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value
        _stamp(self)

    # --- what it is ---------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self._data)

    @property
    def is_leaf(self) -> bool:
        return self.gate is None

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype != DEFAULT_FLOAT and self.dtype.kind == "f":
            extras.append(f"dtype={self.dtype}")
        if self.gate is not None:
            extras.append(f"gate={self.gate.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # --- conversions --------------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (shared with the tensor on the CPU)."""
        return self.data if isinstance(self.data, np.ndarray) else self.data.get()

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def item(self) -> float | int | bool:
        if self.size != 1:
            raise ValueError(f"item: only a one-element tensor converts, this one is {self.shape}")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() or .all() on .numpy()"
            )
        return bool(self.item())

    def to(self, device: Any) -> Tensor:
        """This tensor on ``device``; differentiable (gradients come back to this device)."""
        return F.to_device(self, device)

    def cpu(self) -> Tensor:
        return F.to_device(self, "cpu")

    def cuda(self, index: int = 0) -> Tensor:
        return F.to_device(self, f"cuda:{index}")

    def detach(self) -> Tensor:
        """The same value, cut from the graph (shares the array)."""
        return Tensor(self._data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark a leaf as needing dE/d(it); only floating-point tensors can."""
        if requires_grad and self._data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating-point tensors can require gradients, this one is {self.dtype}"
            )
        if not requires_grad and self.gate is not None:
            raise RuntimeError("requires_grad_: use detach() to cut a computed tensor from "
                               "its graph")
        self.requires_grad = requires_grad
        return self

    def mark_changed(self) -> Tensor:
        """Record that the array was changed in place (as an optimiser does): a gate that
        saved this tensor then refuses to run backward with it."""
        _stamp(self)
        return self

    def retain_grad(self) -> Tensor:
        """Keep dE/d(this tensor) in ``.grad`` even though it is not a leaf."""
        self.retains_grad = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def backward(
        self,
        grad: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Compute dE/d(leaf) for every leaf that requires it, into ``leaf.grad``.

        ``grad`` is dE/d(this tensor); it may be omitted for a scalar (it is then 1).
        The graph's saved values are released afterwards unless ``retain_graph`` is true
        (it defaults to ``create_graph``).
        """
        engine.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def astype(self, dtype: Any) -> Tensor:
        return F.astype(self, dtype)

    def float(self) -> Tensor:
        return F.astype(self, np.float32)

    def double(self) -> Tensor:
        return F.astype(self, np.float64)

    # --- in-place changes (not recorded in the graph; counted in _version) ---------------

    def _mutable(self, what: str) -> Any:
        if self.requires_grad and engine.is_grad_enabled():
            raise RuntimeError(
                f"{what}: in-place changes to a tensor that requires grad are not recorded in "
                "the graph; make them under gg.no_grad() (as an optimiser does) or use an "
                "out-of-place operation"
            )
        _stamp(self)
        return self._data

    def __setitem__(self, index, value) -> None:
        self._mutable("setitem")[F._index(index)] = _raw(value)

    def add_(self, other) -> Tensor:
        data = self._mutable("add_")
        data += _raw(other)
        return self

    def sub_(self, other) -> Tensor:
        data = self._mutable("sub_")
        data -= _raw(other)
        return self

    def mul_(self, other) -> Tensor:
        data = self._mutable("mul_")
        data *= _raw(other)
        return self

    def div_(self, other) -> Tensor:
        data = self._mutable("div_")
        data /= _raw(other)
        return self

    def copy_(self, other) -> Tensor:
        self._mutable("copy_")[...] = _raw(other)
        return self

    def fill_(self, value: float) -> Tensor:
        self._mutable("fill_").fill(value)
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0)

    # --- operators ----------------------------------------------------------------------

    def __add__(self, other):
        return F.add(self, other)

    def __radd__(self, other):
        return F.add(other, self)

    def __sub__(self, other):
        return F.sub(self, other)

    def __rsub__(self, other):
        return F.sub(other, self)

    def __mul__(self, other):
        return F.mul(self, other)

    def __rmul__(self, other):
        return F.mul(other, self)

    def __truediv__(self, other):
        return F.div(self, other)

    def __rtruediv__(self, other):
        return F.div(other, self)

    def __pow__(self, other):
        return F.pow(self, other)

    def __rpow__(self, other):
        return F.pow(other, self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __neg__(self):
        return F.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return F.abs(self)

    def __getitem__(self, index):
        return F.getitem(self, index)

    # comparisons: element-wise, no gradient (asarray: NumPy gives 0-d results as scalars)
    def __eq__(self, other):  # type: ignore[override]
        return _constant(self._data == _raw(other))

    def __ne__(self, other):  # type: ignore[override]
        return _constant(self._data != _raw(other))

    def __lt__(self, other):
        return _constant(self._data < _raw(other))

    def __le__(self, other):
        return _constant(self._data <= _raw(other))

    def __gt__(self, other):
        return _constant(self._data > _raw(other))

    def __ge__(self, other):
        return _constant(self._data >= _raw(other))

    def __and__(self, other):
        return _constant(self._data & _raw(other))

    def __or__(self, other):
        return _constant(self._data | _raw(other))

    def __invert__(self):
        return _constant(~self._data)

    __hash__ = object.__hash__

    # --- methods that mirror the functional API -----------------------------------------

    @property
    def T(self) -> Tensor:
        return F.transpose(self)

    def transpose(self, *axes) -> Tensor:
        return F.transpose(self, _axes(axes))

    def permute(self, *axes) -> Tensor:
        return F.transpose(self, _axes(axes))

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        return F.swapaxes(self, axis1, axis2)

    def reshape(self, *shape) -> Tensor:
        return F.reshape(self, _axes(shape))

    view = reshape

    def flatten(self) -> Tensor:
        return F.reshape(self, (-1,))

    def expand_dims(self, axis) -> Tensor:
        return F.expand_dims(self, axis)

    unsqueeze = expand_dims

    def squeeze(self, axis=None) -> Tensor:
        return F.squeeze(self, axis)

    def broadcast_to(self, shape) -> Tensor:
        return F.broadcast_to(self, shape)

    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        return F.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        return F.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims: bool = False) -> Tensor:
        return F.max(self, axis, keepdims)

    def min(self, axis=None, keepdims: bool = False) -> Tensor:
        return F.min(self, axis, keepdims)

    def var(self, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
        return F.var(self, axis, keepdims, correction)

    def logsumexp(self, axis=None, keepdims: bool = False) -> Tensor:
        return F.logsumexp(self, axis, keepdims)

    def exp(self) -> Tensor:
        return F.exp(self)

    def log(self) -> Tensor:
        return F.log(self)

    def sqrt(self) -> Tensor:
        return F.sqrt(self)

    def abs(self) -> Tensor:
        return F.abs(self)

    def tanh(self) -> Tensor:
        return F.tanh(self)

    def sigmoid(self) -> Tensor:
        return F.sigmoid(self)

    def relu(self) -> Tensor:
        return F.relu(self)

    def softmax(self, axis: int = -1) -> Tensor:
        return F.softmax(self, axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return F.log_softmax(self, axis)

    def clip(self, low=None, high=None) -> Tensor:
        return F.clip(self, low, high)

    clamp = clip

    def argmax(self, axis=None) -> Tensor:
        return Tensor(self._data.argmax(axis=axis))

    def argmin(self, axis=None) -> Tensor:
        return Tensor(self._data.argmin(axis=axis))


def _read_only(array: Any) -> Any:
    """A view of a NumPy array that refuses writes (CuPy arrays have no such flag)."""
    if not isinstance(array, np.ndarray):
        return array
    view = array.view()
    view.flags.writeable = False
    return view


def _constant(result: Any) -> Tensor:
    """A result that carries no gradient, as a Tensor of an array (never a NumPy scalar)."""
    return Tensor(np.asarray(result) if isinstance(result, np.generic) else result)


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _axes(args: tuple) -> Any:
    """Accept both ``t.reshape(2, 3)`` and ``t.reshape((2, 3))``."""
    if len(args) == 1 and (args[0] is None or isinstance(args[0], (tuple, list))):
        return None if args[0] is None else tuple(args[0])
    return tuple(args) if args else None


def tensor(
    data: Any, requires_grad: bool = False, dtype: Any = None, device: Any = None
) -> Tensor:
    """A new leaf tensor holding ``data`` (copied), on ``device`` ("cpu", "cuda", "cuda:N").

    A NumPy array keeps its dtype; Python floats become float32 and Python ints int64, as
    in PyTorch; ``dtype`` overrides both. A CuPy array stays on its GPU unless ``device``
    says otherwise.
    """
    if isinstance(data, Tensor):
        data = data._data
    if backend.device_of_or_none(data) not in (None, "cpu"):  # already on a GPU
        xp = backend.namespace_of(data)
        array = xp.array(data, dtype=dtype)
        target = backend.parse_device(device) if device is not None else backend.device_of(data)
        return Tensor(backend.to_device(array, target), requires_grad=requires_grad)
    if dtype is not None:
        array = np.array(data, dtype=dtype)
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data)
    else:
        array = np.array(data)
        if array.dtype == np.float64:
            array = array.astype(DEFAULT_FLOAT)
        if array.dtype.kind not in "biufc":
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} data "
                            f"(dtype {array.dtype})")
    if device is not None:
        array = backend.to_device(array, backend.parse_device(device))
    return Tensor(array, requires_grad=requires_grad)


from . import engine  # noqa: E402  (engine and functional use Tensor)
from . import functional as F  # noqa: E402
