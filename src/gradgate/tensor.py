"""The Tensor: a value, the gate that produced it (its parents are the gate's inputs), and
its gradient."""

from __future__ import annotations

import builtins
import itertools
import operator
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from .replay import state as capture_state
from .replay.state import ACTIVE as _CAPTURING

DEFAULT_FLOAT = np.dtype(np.float32)

# In-place changes are stamped from one clock. Every buffer has one version counter,
# shared by each tensor that views it (views made by gates, ``detach()``, state-dict
# entries). It is a two-item list, the cheapest object Python makes (a tensor is made per
# gate): ``[STAMP]`` is the stamp of the buffer's last change (0: never changed) and
# ``latest_change[0]`` the newest stamp handed out; a node notes ``latest_change[0]`` when it
# saves its inputs, and a saved tensor whose stamp is newer changed after that, so backward
# refuses to use it. ``[SAVED]`` counts the unreleased nodes that hold the buffer: while it is
# not zero, ``.data`` hands out a read-only view.
STAMP, SAVED = 0, 1
_clock = itertools.count(1)
latest_change = [0]


def bump(version: list[int]) -> None:
    """Record an in-place change of the buffer whose counter is ``version``."""
    stamp = next(_clock)
    version[STAMP] = stamp
    latest_change[0] = stamp


class Tensor:
    """An array in the computation graph.

    ``data`` is the array (NumPy on the CPU). ``node`` is the engine's record of the gate
    that computed it (``gate`` is that gate), or None for a leaf (an input or a parameter).
    ``grad`` is a Tensor holding dE/d(this tensor) after ``backward()``; leaves accumulate
    it across calls, as in PyTorch, until it is reset to None.

    ``Tensor(data)`` behaves as :func:`gradgate.tensor` for lists and numbers; given an
    array it keeps that very array (``gradgate.from_numpy`` says what sharing means).
    Tensors hash and compare for identity in the graph (two equal constants stay two nodes);
    ``==`` and the other comparisons work element-wise and carry no gradient.
    """

    __slots__ = (
        "_data",
        "_version",
        "_grad",
        "requires_grad",
        "node",
        "retains_grad",
        "__weakref__",
    )
    __array_priority__ = 1000  # make ndarray <op> Tensor call the Tensor's reflected op

    def __init__(self, data: Any, requires_grad: builtins.bool = False):
        if type(data) is not np.ndarray and (
            isinstance(data, np.generic) or backend.device_of_or_none(data) is None
        ):  # a NumPy scalar too: the engine computes on arrays
            data = _converted(data, None, "Tensor")
        self._data = data
        self._version = [0, 0]  # [STAMP, SAVED], see above
        self._grad: Tensor | None = None
        self.node: Any = None  # engine.Node
        self.retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)
        if _CAPTURING[0]:
            r = capture_state.recording()
            if r is not None:  # also inside a library call that a replay makes whole
                r.created(self)

    if TYPE_CHECKING:  # the methods made from the gate registry (see _install_methods)

        def __getattr__(self, name: str) -> Any: ...

    @property
    def gate(self) -> Any:
        """The gate that computed this tensor, or None for a leaf."""
        node = self.node
        return None if node is None else node.gate

    @property
    def grad(self) -> Tensor | None:
        """dE/d(this tensor) after ``backward()``, as a Tensor, or None."""
        grad = self._grad
        if _CAPTURING[0] and grad is not None:
            r = capture_state.recorder()
            if r is not None:
                r.read_grad(self, grad)
        return grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"grad: expected a Tensor or None, got {type(value).__name__}")
        if _CAPTURING[0]:
            r = capture_state.recorder()
            if r is not None:
                r.set_grad(self, value)
        self._grad = value

    @property
    def data(self) -> Any:
        """The array. While an unreleased node of a graph holds this tensor's buffer, it
        comes back read-only (its ``.base`` too), so ``t.data[i] = v`` is refused then
        instead of making that backward wrong. Assigning to it (``t.data = a``) counts as an
        in-place change: a node that saved this tensor then refuses to run backward."""
        if _CAPTURING[0]:
            capture_state.refuse_read("Tensor.data (or .numpy(), .tolist(), np.asarray, print)")
        if self._version[SAVED]:
            return _read_only(self._data)
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        value = value._data if isinstance(value, Tensor) else value
        if isinstance(value, np.ndarray) and not value.flags.writeable:
            value = value.copy()  # never keep a read-only view as the tensor's own array
        if _CAPTURING[0]:
            r = capture_state.recorder()
            if r is not None:
                r.rebind(self, value)
        self._data = value
        bump(self._version)

    @property
    def version(self) -> builtins.int:
        """The stamp of this buffer's last in-place change (0: never changed)."""
        return self._version[STAMP]

    # --- what it is ---------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> builtins.int:
        return self._data.ndim

    @property
    def size(self) -> Size:
        """The number of elements, as NumPy's ``size``; called, the shape, as PyTorch's:
        ``t.size()`` is ``t.shape`` and ``t.size(d)`` is ``t.shape[d]``."""
        return Size(self._data.size, self._data.shape)

    def numel(self) -> builtins.int:
        return self._data.size

    def dim(self) -> builtins.int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self._data)

    @property
    def is_leaf(self) -> builtins.bool:
        return self.node is None

    def __len__(self) -> builtins.int:
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
        if self.node is not None:
            extras.append(f"gate={self.node.gate.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # --- conversions --------------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (shared with the tensor on the CPU)."""
        data = self.data
        return data if isinstance(data, np.ndarray) else backend.to_numpy(data)

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)``, ``np.array(t)``: an explicit conversion to the values, with no
        gradient, whether or not t requires one (as ``t.numpy()``). NumPy *functions* on
        a tensor never come here: they dispatch to gradgate (``gradgate.numpy_api``)."""
        a = self.numpy()
        if dtype is not None and np.dtype(dtype) != a.dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return numpy_api.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return numpy_api.array_function(func, args, kwargs)

    def item(self) -> builtins.float | builtins.int | builtins.bool:
        if _CAPTURING[0]:
            capture_state.refuse_read("Tensor.item() (or float(), int(), bool(), if t:)")
        if self.size != 1:
            raise ValueError(f"item: only a one-element tensor converts, this one is {self.shape}")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __float__(self) -> builtins.float:
        return float(self.item())

    def __int__(self) -> builtins.int:
        return int(self.item())

    def __bool__(self) -> builtins.bool:
        if self.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() or .all() on .numpy()"
            )
        return bool(self.item())

    def to(self, target: Any) -> Tensor:
        """This tensor on a device (``"cpu"``, ``"cuda:0"``) or in a dtype (``gg.float64``,
        ``np.int64``, ``"float32"``), as PyTorch's ``to``; differentiable (gradients come
        back to this device and dtype; an integer dtype cuts the graph)."""
        if isinstance(target, str) and target.split(":")[0] in ("cpu", "cuda"):
            return F.to_device(self, target)
        return F.astype(self, target)

    def cpu(self) -> Tensor:
        return F.to_device(self, "cpu")

    def cuda(self, index: builtins.int = 0) -> Tensor:
        return F.to_device(self, f"cuda:{index}")

    def detach(self) -> Tensor:
        """The same value, cut from the graph. It shares the array and its version counter,
        so an in-place change through either is seen by a graph that saved the other."""
        t = Tensor(self._data)
        t._version = self._version
        return t

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        """Mark a leaf as needing dE/d(it); only floating-point tensors can."""
        if requires_grad and self._data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating-point tensors can require gradients, this one is {self.dtype}"
            )
        if requires_grad and self._data.dtype.kind == "c":
            raise TypeError(
                f"complex tensors ({self.dtype}) cannot require gradients: gradgate has no "
                "convention for complex derivatives yet"
            )
        if not requires_grad and self.node is not None:
            raise RuntimeError(
                "requires_grad_: use detach() to cut a computed tensor from its graph"
            )
        self.requires_grad = requires_grad
        return self

    def mark_changed(self) -> Tensor:
        """Record that the array was changed in place by code outside gradgate: a graph
        that saved this tensor then refuses to run backward with it."""
        bump(self._version)
        return self

    def writable_array(self) -> Any:
        """The tensor's own array, writable, for an in-place change made now (as optimisers,
        ``nn.init`` and ``load_state_dict`` make); bumps the version counter, so that a graph
        that saved this tensor refuses to run backward with it."""
        if _CAPTURING[0] and capture_state.recorder() is not None:
            raise capture_state.CaptureError(
                "capture: writable_array() inside the captured function hands out the raw "
                "array, whose writes a replay cannot see; use the in-place tensor methods "
                "(t.add_(v), t[i] = v, t -= v under gg.no_grad())"
            )
        bump(self._version)
        return self._data

    def retain_grad(self) -> Tensor:
        """Keep dE/d(this tensor) in ``.grad`` even though it is not a leaf."""
        self.retains_grad = True
        return self

    @capture_state.replayed
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset ``.grad``: to None (the default), or to zeros in place (its version moves,
        as for any in-place change). Modules and optimisers reset their parameters so."""
        grad = self._grad
        if set_to_none or grad is None:
            self._grad = None
        else:
            grad.writable_array()[...] = 0

    def register_hook(self, hook: Any) -> Any:
        """Call ``hook(grad)`` with dE/d(this tensor) once backward has it complete, before
        it is accumulated into ``.grad`` or passed on to the gate that made this tensor; a
        tensor the hook returns replaces the gradient. Returns a handle with ``remove()``."""
        return engine.register_hook(self, hook)

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

    def half(self) -> Tensor:
        return F.astype(self, np.float16)

    def long(self) -> Tensor:
        """As int64: a constant, cut from the graph (no gradient flows through integers)."""
        return F.astype(self, np.int64)

    def int(self) -> Tensor:
        return F.astype(self, np.int32)

    def bool(self) -> Tensor:
        return F.astype(self, np.bool_)

    # --- in-place changes (not recorded in the graph; counted by the version counter) -----

    def _mutable(self, what: str) -> Any:
        if self.requires_grad and engine.is_grad_enabled():
            raise RuntimeError(
                f"{what}: in-place changes to a tensor that requires grad are not recorded in "
                "the graph; make them under gg.no_grad() (as an optimiser does) or use an "
                "out-of-place operation"
            )
        bump(self._version)
        return self._data

    def _write(self, what: str, how: Any, value: Any) -> Tensor:
        """The one path of every in-place change: ``how(array, value)`` writes into this
        tensor's array (a capture records it, so a replay writes again)."""
        data = self._mutable(what)
        if _CAPTURING[0]:
            r = capture_state.recorder()
            if r is not None:
                r.write(self, how, value)
        how(data, _raw(value))
        return self

    def _in_place(self, what: str, ufunc: Any, out_of_place: Any, other: Any) -> Tensor:
        """``t op= other``: in place, as in PyTorch. A computed tensor that requires grad,
        with grad mode on, is rebound to ``t op other`` (a new node), since gradgate does not
        record in-place operations; a leaf that requires grad refuses, as PyTorch does."""
        if self.requires_grad and engine.is_grad_enabled():
            if self.node is None:
                raise RuntimeError(
                    f"a leaf tensor that requires grad is used in an in-place operation "
                    f"({what}); wrap the update in gg.no_grad(), as an optimiser step is"
                )
            return out_of_place(self, other)
        return self._write(what, _IN_PLACE[ufunc], other)

    def __iadd__(self, other):
        return self._in_place("+=", np.add, F.add, other)

    def __isub__(self, other):
        return self._in_place("-=", np.subtract, F.sub, other)

    def __imul__(self, other):
        return self._in_place("*=", np.multiply, F.mul, other)

    def __itruediv__(self, other):
        return self._in_place("/=", np.true_divide, F.div, other)

    def __ipow__(self, other):
        return self._in_place("**=", np.power, F.pow, other)

    def __imatmul__(self, other):
        return self._in_place("@=", np.matmul, F.matmul, other)

    def __setitem__(self, index, value) -> None:
        self._write("setitem", _Assign(F._index(index)), value)

    def add_(self, other) -> Tensor:
        return self._write("add_", _IN_PLACE[np.add], other)

    def sub_(self, other) -> Tensor:
        return self._write("sub_", _IN_PLACE[np.subtract], other)

    def mul_(self, other) -> Tensor:
        return self._write("mul_", _IN_PLACE[np.multiply], other)

    def div_(self, other) -> Tensor:
        return self._write("div_", _IN_PLACE[np.true_divide], other)

    def copy_(self, other) -> Tensor:
        return self._write("copy_", _Assign(Ellipsis), other)

    def fill_(self, value: builtins.float) -> Tensor:
        return self._write("fill_", _fill, value)

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

    def __mod__(self, other):
        return F.remainder(self, other)

    def __rmod__(self, other):
        return F.remainder(other, self)

    def __floordiv__(self, other):
        return F.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return F.floor_divide(other, self)

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

    # comparisons: element-wise, no gradient
    def __eq__(self, other):
        return computed(operator.eq, self, other)

    def __ne__(self, other):
        return computed(operator.ne, self, other)

    def __lt__(self, other):
        return computed(operator.lt, self, other)

    def __le__(self, other):
        return computed(operator.le, self, other)

    def __gt__(self, other):
        return computed(operator.gt, self, other)

    def __ge__(self, other):
        return computed(operator.ge, self, other)

    def __and__(self, other):
        return computed(operator.and_, self, other)

    def __or__(self, other):
        return computed(operator.or_, self, other)

    def __invert__(self):
        return computed(operator.invert, self)

    __hash__ = object.__hash__

    # --- methods that mirror the functional API -----------------------------------------

    @property
    def T(self) -> Tensor:
        return F.transpose(self)

    def transpose(self, *dims) -> Tensor:
        """Two dims, ``t.transpose(0, 1)``, are swapped, as PyTorch's; a permutation, as a
        tuple (``t.transpose((1, 2, 0))``) or three or more dims, or none (reversed), is
        NumPy's ``ndarray.transpose`` (``np.transpose(t, axes)`` is always NumPy's)."""
        if len(dims) == 2 and all(isinstance(d, (int, np.integer)) for d in dims):
            return F.swapaxes(self, *dims)
        return F.transpose(self, _axes(dims))

    def permute(self, *dims) -> Tensor:
        return F.permute(self, _axes(dims))

    def swapaxes(self, axis1: builtins.int, axis2: builtins.int) -> Tensor:
        return F.swapaxes(self, axis1, axis2)

    swapdims = swapaxes

    def reshape(self, *shape) -> Tensor:
        return F.reshape(self, _axes(shape))

    def view(self, *shape) -> Tensor:
        """The same elements in a new shape, as PyTorch's ``view`` (and ``reshape``: a
        gradgate tensor has no strides that could refuse it)."""
        return F.reshape(self, _axes(shape))

    def view_as(self, other: Tensor) -> Tensor:
        return F.reshape(self, other.shape)

    def contiguous(self) -> Tensor:
        """This tensor: gradgate's arrays need no particular memory layout."""
        return self

    def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Tensor:
        return F.flatten(self, start_dim, end_dim)

    def unflatten(self, dim: builtins.int, sizes) -> Tensor:
        return F.unflatten(self, dim, sizes)

    def expand_dims(self, axis) -> Tensor:
        return F.expand_dims(self, axis)

    def unsqueeze(self, dim: builtins.int) -> Tensor:
        return F.unsqueeze(self, dim)

    def squeeze(self, dim=None) -> Tensor:
        """Without size-1 dims; with ``dim``, only those of size 1 among them, others kept
        as they are, as PyTorch's (``gg.squeeze``/``np.squeeze`` refuse them, as NumPy)."""
        if dim is None:
            return F.squeeze(self)
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        ndim = max(self.ndim, 1)
        ones = tuple(d % ndim for d in dims if self.ndim and self.shape[d] == 1)
        return F.squeeze(self, ones) if ones else self

    def expand(self, *sizes) -> Tensor:
        return F.expand(self, *sizes)

    def expand_as(self, other: Tensor) -> Tensor:
        return F.expand(self, other.shape)

    def chunk(self, chunks: builtins.int, dim: builtins.int = 0) -> tuple[Tensor, ...]:
        return F.chunk(self, chunks, dim)

    def unbind(self, dim: builtins.int = 0) -> tuple[Tensor, ...]:
        return F.unbind(self, dim)

    # reductions that PyTorch answers with (values, indices) when given a dim
    # (gradgate.conventions)

    def max(self, *args, **kwargs):
        return F.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        return F.min(self, *args, **kwargs)

    def median(self, *args, **kwargs):
        """PyTorch's median: with no dim the lower middle value (``np.median(t)`` and
        ``gg.median(t)`` are NumPy's, the mean of the two middle values); with a dim,
        ``(values, indices)``; with ``axis=``, NumPy's."""
        if not args and not kwargs:
            return F.median(self.reshape(-1), 0).values
        return F.median(self, *args, **kwargs)

    def mode(self, dim: builtins.int = -1, keepdim: builtins.bool = False):
        return F.mode(self, dim, keepdim)

    def argmax(self, *args, **kwargs) -> Tensor:
        return F.argmax(self, *args, **kwargs)

    def argmin(self, *args, **kwargs) -> Tensor:
        return F.argmin(self, *args, **kwargs)

    def any(self, *args, **kwargs) -> Tensor:
        return F.any(self, *args, **kwargs)

    def all(self, *args, **kwargs) -> Tensor:
        return F.all(self, *args, **kwargs)

    def norm(self, ord=None, axis=None, keepdims: builtins.bool = False, **kwargs) -> Tensor:
        """NumPy's ``linalg.norm`` of this tensor; ``p=``, ``dim=``, ``keepdim=`` as
        PyTorch's ``norm`` names them."""
        ord = kwargs.pop("p", ord)
        kwargs = torch_keywords("norm", kwargs)
        axis, keepdims = kwargs.pop("axis", axis), kwargs.pop("keepdims", keepdims)
        if kwargs:
            raise TypeError(f"norm: unexpected keyword arguments {sorted(kwargs)}")
        return F.norm(self, ord, axis, keepdims)

    def eq(self, other) -> Tensor:
        return F.eq(self, other)

    def ne(self, other) -> Tensor:
        return F.ne(self, other)

    def lt(self, other) -> Tensor:
        return F.lt(self, other)

    def le(self, other) -> Tensor:
        return F.le(self, other)

    def gt(self, other) -> Tensor:
        return F.gt(self, other)

    def ge(self, other) -> Tensor:
        return F.ge(self, other)

    def lerp(self, end, weight) -> Tensor:
        return F.lerp(self, end, weight)


class Size(int):
    """A tensor's element count that, called, gives its shape: NumPy's ``t.size`` and
    PyTorch's ``t.size()`` / ``t.size(d)`` at once."""

    shape: tuple[int, ...]

    def __new__(cls, count: int, shape: tuple[int, ...]) -> Size:
        size = super().__new__(cls, count)
        size.shape = shape
        return size

    def __call__(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]


def _read_only(array: Any) -> Any:
    """A view of a NumPy array that refuses writes, its ``.base`` included: the view is made
    from a read-only buffer, not from the writable array (CuPy arrays have no such flag)."""
    if not isinstance(array, np.ndarray):
        return array
    try:
        return np.asarray(memoryview(array).toreadonly())  # type: ignore[arg-type]
    except (TypeError, ValueError, BufferError):  # dtypes the buffer protocol cannot carry
        view = array.view()
        view.flags.writeable = False
        return view


class _InPlace:
    """``array op= value`` for one ufunc (``+=`` is ``np.add(a, v, out=a)``)."""

    __slots__ = ("ufunc",)

    def __init__(self, ufunc: Any):
        self.ufunc = ufunc

    def __call__(self, data: Any, value: Any) -> None:
        self.ufunc(data, value, out=data)


_UFUNCS: tuple[Any, ...] = (np.add, np.subtract, np.multiply, np.true_divide, np.power, np.matmul)
_IN_PLACE = {u: _InPlace(u) for u in _UFUNCS}


class _Assign:
    """``array[index] = value``; ``index`` holds no tensor (converted by the caller)."""

    __slots__ = ("index",)

    def __init__(self, index: Any):
        self.index = index

    def __call__(self, data: Any, value: Any) -> None:
        data[self.index] = value


def _fill(data: Any, value: Any) -> None:
    data.fill(value)


def _constant(result: Any) -> Tensor:
    """A result that carries no gradient, as a Tensor of an array (never a NumPy scalar)."""
    return Tensor(np.asarray(result) if isinstance(result, np.generic) else result)


@capture_state.replayed
def computed(function: Any, *args: Any, **kwargs: Any) -> Any:
    """``function`` on the arrays of ``args`` (tensors, numbers), for a result that carries
    no gradient (a comparison, an argmax): a Tensor of an array. A captured step calls it
    again at each replay. A tuple of arrays comes back as a tuple of tensors."""
    result = function(*[_raw(a) for a in args], **kwargs)
    if isinstance(result, tuple):
        return tuple(_constant(r) for r in result)
    return _constant(result)


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _axes(args: tuple) -> Any:
    """Accept both ``t.reshape(2, 3)`` and ``t.reshape((2, 3))``."""
    if len(args) == 1 and (args[0] is None or isinstance(args[0], (tuple, list))):
        return None if args[0] is None else tuple(args[0])
    return tuple(args) if args else None


def _converted(data: Any, dtype: Any, what: str) -> Any:
    """``data`` (a list, a number, an array) as a new NumPy array: Python floats become
    float32 and Python ints int64, as in PyTorch; ``dtype`` overrides both."""
    if dtype is not None:
        array = np.array(data, dtype=dtype)
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data)
    else:
        try:
            array = np.array(data)
        except ValueError as e:  # ragged lists
            raise ValueError(
                f"{what}: cannot make a tensor from {type(data).__name__} data: {e}"
            ) from None
        if array.dtype == np.float64:
            array = array.astype(DEFAULT_FLOAT)
    if array.dtype.kind not in "biufc":
        raise TypeError(
            f"{what}: cannot make a tensor from {type(data).__name__} data (dtype {array.dtype})"
        )
    return array


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, device: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data``, on ``device`` ("cpu", "cuda",
    "cuda:N"), as ``torch.tensor``.

    A NumPy array keeps its dtype; Python floats become float32 and Python ints int64, as
    in PyTorch; ``dtype`` overrides both. A CuPy array stays on its GPU unless ``device``
    says otherwise. To share an array's memory instead, use :func:`from_numpy`.
    """
    if isinstance(data, Tensor):
        data = data._data
    if backend.device_of_or_none(data) not in (None, "cpu"):  # already on a GPU
        xp = backend.namespace_of(data)
        array = xp.array(data, dtype=dtype)
        target = backend.parse_device(device) if device is not None else backend.device_of(data)
        return Tensor(backend.to_device(array, target), requires_grad=requires_grad)
    array = _converted(data, dtype, "tensor")
    if device is not None:
        array = backend.to_device(array, backend.parse_device(device))
    return Tensor(array, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares ``array``'s memory, as ``torch.from_numpy``.

    gradgate's version counter sees changes made through gradgate (in-place methods,
    ``t[i] = v``, optimisers); a write through ``array`` itself is not seen, so a graph
    that saved the tensor would use the new values in backward. Write only after backward
    (docs/autograd-mechanics.md).
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    if array.dtype.kind not in "biufc":
        raise TypeError(f"from_numpy: cannot make a tensor from dtype {array.dtype}")
    return Tensor(array)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, sharing memory where it can (a tensor or an array of the
    asked dtype and device comes back shared, anything else is converted), as
    ``torch.as_tensor``."""
    if isinstance(data, Tensor):
        same = (dtype is None or data.dtype == np.dtype(dtype)) and (
            device is None or data.device == backend.parse_device(device)
        )
        return data if same else tensor(data, dtype=dtype, device=device)
    if (
        isinstance(data, np.ndarray)
        and (dtype is None or data.dtype == np.dtype(dtype))
        and device in (None, "cpu")
    ):
        return from_numpy(data)
    if (
        backend.device_of_or_none(data) not in (None, "cpu")
        and dtype is None
        and (device is None or backend.device_of(data) == backend.parse_device(device))
    ):
        return Tensor(data)
    return tensor(data, dtype=dtype, device=device)


def _install_methods() -> None:
    """Give ``Tensor`` the methods the gates declare (``x.sigmoid()``), each calling the
    functional form of the same name."""
    from .gates import REGISTRY

    for cls in REGISTRY.values():
        for name in cls.methods:  # a method named as a function calls it; else the gate's
            function = getattr(F, name, None) or getattr(F, cls.function or name)

            def method(self: Tensor, *args: Any, _function: Any = function, **kwargs: Any) -> Any:
                return _function(self, *args, **kwargs)

            method.__name__ = method.__qualname__ = name
            method.__doc__ = function.__doc__
            setattr(Tensor, name, method)


# engine, functional and numpy_api use Tensor, so they are imported after it
from . import engine, numpy_api  # noqa: E402
from . import functional as F  # noqa: E402
from .conventions import torch_keywords  # noqa: E402

_install_methods()
