"""The array namespace a gate's rule runs on.

A rule is written once against ``xp``. On the fast first-order path ``xp`` is the
namespace of the array library that holds the data (NumPy here; CuPy on a GPU), extended
with the few helpers below that NumPy does not name. When a graph of the gradient itself is
wanted (``create_graph=True``) the engine passes ``gradgate.functional`` instead, which
offers the same names as differentiable operations.
"""

from __future__ import annotations

import contextlib
import math
import types
from typing import Any

import numpy as np

from . import contraction

Array = Any  # a NumPy (or CuPy) ndarray


def _is_basic_index(index: tuple) -> bool:
    """True when ``index`` only holds ints, slices, None and Ellipsis (no repeats possible)."""
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in index)


SMALL_SIGMOID = 8192  # elements; above, a second array costs more than np.errstate


def _quiet_overflow() -> Any:
    return np.errstate(over="ignore", under="ignore")


def make_namespace(module: types.ModuleType) -> types.SimpleNamespace:
    """The module's functions plus the helpers every rule may call by the same name."""
    ns = types.SimpleNamespace(**{k: v for k, v in vars(module).items() if not k.startswith("_")})

    # NumPy warns when e^−x overflows, CuPy never does
    quiet = _quiet_overflow if module is np else contextlib.nullcontext
    constants: dict[Any, tuple[Array, Array]] = {}  # 0-d arrays: cheaper than floats

    def sigmoid(x: Array) -> Array:
        """σ(x) = 1 / (1 + e^−x), within a few ulps of the exact value in both tails, in
        float32 and float64 ((1 + tanh(x/2)) / 2 cancels to 0 below x ≈ −17 in float32).

        Small arrays take e^x / (e^x + 1) with x clipped from above where σ rounds to 1
        anyway (at log of the largest float, less 1): e^x underflows quietly for x ≪ 0 and
        never overflows. For a large array that second array costs more than silencing
        the overflow of e^−x (inf, which gives σ = 1/inf = 0, as it should).
        """
        if x.dtype.kind != "f":
            x = x.astype(float)
        if x.size <= SMALL_SIGMOID:
            top_one = constants.get(x.dtype)
            if top_one is None:
                top = float(np.log(np.finfo(x.dtype).max)) - 1
                top_one = constants[x.dtype] = (module.asarray(top, dtype=x.dtype),
                                                module.asarray(1, dtype=x.dtype))  # fmt: skip
            e = module.minimum(x, top_one[0])
            if not e.ndim:  # from a 0-d x: a scalar, which out= cannot write into
                e = module.asarray(e)
            module.exp(e, out=e)
            e /= module.add(e, top_one[1])
            return e
        e = module.negative(x)
        with quiet():
            module.exp(e, out=e)
        e += 1
        return module.reciprocal(e, out=e)

    def logsumexp_parts(x: Array, axis: Any) -> tuple[Array, Array]:
        """(m, ln Σ e^(x − m)) along ``axis``, both kept as size-1 axes, with m = max x (0
        where the max is not finite, so ±inf and NaN pass through): the one stable
        log-sum-exp that logsumexp and log_softmax share. ln Σ e^x = m + the second."""
        m = x.max(axis=axis, keepdims=True)
        m = module.where(module.isfinite(m), m, 0)
        return m, module.log(module.sum(module.exp(x - m), axis=axis, keepdims=True))

    def softmax(x: Array, axis: int = -1) -> Array:
        e = module.exp(x - x.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        return e

    def scatter_add(g: Array, index: tuple, shape: tuple) -> Array:
        """A zero array of ``shape`` with ``g`` added at ``index`` (repeated indices summed)."""
        out = module.zeros(shape, dtype=g.dtype)
        if _is_basic_index(index):
            out[index] = g
        elif module is np:
            module.add.at(out, index, g)
        else:  # CuPy: index arrays must live on the device too
            import cupyx

            index = tuple(module.asarray(i) if isinstance(i, np.ndarray) else i for i in index)
            cupyx.scatter_add(out, index, g)
        return out

    if module is np:
        c_erf, c_erfc = np.frompyfunc(math.erf, 1, 1), np.frompyfunc(math.erfc, 1, 1)

        def erf(x: Array) -> Array:
            """The C library's erf, element by element (NumPy has none)."""
            return np.asarray(c_erf(x), dtype=x.dtype)

        def erfc(x: Array) -> Array:
            return np.asarray(c_erfc(x), dtype=x.dtype)

    else:  # CuPy
        from cupyx.scipy.special import erf, erfc  # type: ignore[no-redef]

    ns.erf, ns.erfc = erf, erfc

    def einsum(subscripts: str, *operands: Array, optimize: Any = None) -> Array:
        """``einsum`` with explicit subscripts ("ij,jk->ik", as rules write them) of two
        or more operands contracted pairwise by a plan made once per shapes, each pair a
        (batched) matrix product (``gradgate.contraction``); other forms go to the
        module's own einsum."""
        if len(operands) == 1:
            return module.einsum(subscripts, operands[0])
        if "->" not in subscripts or "." in subscripts:
            return module.einsum(subscripts, *operands, optimize=True)
        shapes = tuple([x.shape for x in operands])
        return contraction.plan(subscripts, shapes).run(module, operands)

    ns.einsum = einsum

    def apply(gate: Any, *arrays: Array) -> Array:
        """Another gate's forward on arrays. A rule whose J^T g is itself a gate (a
        convolution's input gradient is a transposed convolution) calls ``xp.apply``: here
        that runs the forward, and under ``create_graph=True`` ``gradgate.functional.apply``
        records the gate, whose own vjp then gives the next derivative."""
        if gate.saves:
            return gate.forward(ns, *arrays)[0]
        return gate.forward(ns, *arrays)

    def keep(g: Array, mask: Array) -> Array:
        """g where ``mask`` holds and +0 elsewhere, exactly where(mask, g, 0) (a NaN or ±inf
        of g outside the mask gives 0 too). On the CPU, for float32 and float64, by a
        bitwise and of g's bits with the mask's (all ones or all zeros): NumPy's where
        branches per element, and on an unpredictable mask (ReLU's) is ten times slower."""
        if (
            module is np
            and g.ndim
            and g.dtype in (np.float32, np.float64)
            and g.shape == mask.shape
        ):
            bits = g.view(np.int32 if g.dtype == np.float32 else np.int64)
            ones = mask.astype(bits.dtype)
            np.negative(ones, out=ones)  # True → −1: every bit set
            return (bits & ones).view(g.dtype)
        return module.where(mask, g, 0)

    ns.apply = apply
    ns.keep = keep
    ns.to_device = to_device
    ns.sigmoid = sigmoid
    ns.softmax = softmax
    ns.logsumexp_parts = logsumexp_parts
    ns.scatter_add = scatter_add
    return ns


_cuda: dict[str, Any] = {}  # "namespace" or "reason", filled on first use


def cuda_unavailable_reason() -> str | None:
    """None when CuPy is installed and a GPU is usable; otherwise one line saying why."""
    if "namespace" in _cuda:
        return None
    if "reason" not in _cuda:
        try:
            import cupy
        except ImportError:
            _cuda["reason"] = (
                "CuPy is not installed (pip install cupy-cuda12x, or cupy-cuda13x for a "
                "CUDA 13 driver; the [gpu] extra installs the first)"
            )
            return _cuda["reason"]
        try:
            usable = bool(cupy.cuda.is_available())
            count = cupy.cuda.runtime.getDeviceCount() if usable else 0
        except Exception as e:  # no driver, broken runtime: CuPy raises many kinds
            usable, count = False, 0
            _cuda["reason"] = f"CuPy is installed but CUDA is not usable: {e}".splitlines()[0]
        if usable and count:
            _cuda["namespace"] = make_namespace(cupy)
            _cuda["count"] = count
            return None
        _cuda.setdefault("reason", "CuPy is installed but no NVIDIA GPU (or driver) was found")
    return _cuda["reason"]


def parse_device(device: Any) -> str:
    """``"cpu"`` or ``"cuda:N"`` for a device name; a clear error for anything else, and for
    a GPU that is not there."""
    name = "cpu" if device is None else str(device).strip().lower()
    if name == "cpu":
        return "cpu"
    kind, _, number = name.partition(":")
    if kind != "cuda" or (number and not number.isdigit()):
        raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'")
    reason = cuda_unavailable_reason()
    if reason:
        raise RuntimeError(f"device {device!r} is not available: {reason}")
    index = int(number or 0)
    if index >= _cuda["count"]:
        raise RuntimeError(f"device {device!r} is not available: {_cuda['count']} GPU(s) found")
    return f"cuda:{index}"


def _is_cupy(array: Array) -> bool:
    return type(array).__module__.startswith("cupy")


def namespace_of(array: Array) -> types.SimpleNamespace:
    """The namespace for the library that holds ``array``: NumPy, or CuPy on a GPU."""
    if type(array) is np.ndarray or isinstance(array, np.ndarray):
        return numpy_namespace
    if _is_cupy(array) and cuda_unavailable_reason() is None:
        return _cuda["namespace"]
    raise TypeError(f"unsupported array type {type(array).__name__}")


def device_of(array: Array) -> str:
    """``"cpu"`` for NumPy arrays, ``"cuda:N"`` for CuPy arrays on GPU N."""
    if isinstance(array, (np.ndarray, np.generic)):
        return "cpu"
    if _is_cupy(array):
        return f"cuda:{array.device.id}"
    device = getattr(array, "device", None)  # a gradgate Tensor names its own
    if isinstance(device, str):
        return device
    raise TypeError(f"unsupported array type {type(array).__name__}")


def device_of_or_none(array: Array) -> str | None:
    """:func:`device_of` for arrays, None for anything else (lists, numbers)."""
    if isinstance(array, (np.ndarray, np.generic)):
        return "cpu"
    return device_of(array) if _is_cupy(array) else None


def to_numpy(array: Any) -> np.ndarray:
    """A NumPy array from a NumPy or CuPy array (copied to the host) or a number: the one
    place that brings values back from a GPU."""
    if isinstance(array, np.ndarray):
        return array
    if _is_cupy(array) or callable(getattr(array, "get", None)):  # CuPy, or an array like it
        return array.get()
    return np.asarray(array)


def to_device(array: Array, device: str) -> Array:
    """``array`` on ``device`` (a name from :func:`parse_device`); no copy when it is there."""
    if device == "cpu":
        return to_numpy(array) if _is_cupy(array) else array
    if _is_cupy(array) and device_of(array) == device:
        return array
    import cupy

    with cupy.cuda.Device(int(device.split(":")[1])):
        return cupy.asarray(array)


numpy_namespace = make_namespace(np)


# glibc's mallopt parameters (malloc.h): M_TRIM_THRESHOLD and M_MMAP_THRESHOLD
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def retain_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 256 << 20) -> bool:
    """Ask the C library to keep freed memory for reuse instead of handing it back to the
    operating system; True when it could (glibc), False elsewhere (nothing changes).

    A training step allocates the same large temporaries every step. glibc serves arrays
    above its mmap threshold with fresh pages and returns the top of the heap once more
    than its trim threshold is free, so each step faults its pages in again: the digits
    CNN's 32 → 64 convolution took 8.2 ms forward and backward so, 4.6 ms with the memory
    kept (benchmarks/conv.py). This is process-wide, so the library never calls it on its
    own: the ``gradgate`` command does, and a program of yours may (the process then keeps
    up to ``trim_threshold`` bytes of freed memory)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )
