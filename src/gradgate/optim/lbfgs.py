"""L-BFGS: quasi-Newton steps from the last few changes of the weights and the gradient."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import backend
from ..engine import enable_grad
from ..replay.state import replayed
from .optimizer import Optimizer


class LBFGS(Optimizer):
    """L-BFGS (Nocedal, 1980; Liu & Nocedal, 1989), as ``torch.optim.LBFGS``: the same
    iterations, tolerances and strong-Wolfe line search, so that it takes the same steps.

    All parameters are treated as one vector w (flattened and concatenated in order) with
    gradient g. ``step(closure)`` runs up to ``max_iter`` iterations, each

        d = −H g               H: the inverse Hessian estimated by the two-loop recursion
                               from the last ``history_size`` pairs s = Δw, y = Δg
                               (a pair is kept only when yᵀs > 1e-10), scaled by yᵀs / yᵀy
        w ← w + t d            t = η (the first iteration ever: min(1, 1/‖g‖₁) η)

    With ``line_search_fn="strong_wolfe"`` t is instead found by a line search meeting the
    strong Wolfe conditions (sufficient decrease c1 = 1e-4, curvature c2 = 0.9, cubic
    interpolation, as in minFunc). Without it (the default, as in PyTorch) t is used as it
    is, so η should be small enough for the problem. The loop stops early when
    max |g| ≤ ``tolerance_grad``, when the step or the change of the loss falls below
    ``tolerance_change``, or after ``max_eval`` calls of the closure (default
    ``max_iter`` · 5/4).

    The closure clears the gradients, computes the loss, calls ``backward()`` and returns
    the loss; it is called several times per step. ``maximize=True`` climbs instead
    (every value and gradient the closure gives is negated).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
        *,
        maximize: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"LBFGS: invalid learning rate {lr!r}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(
                f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}"
            )
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
            "maximize": maximize,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(
                "LBFGS optimises one group of parameters; it does not take per-group options"
            )
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, group: dict[str, Any]) -> None:
        if self.param_groups:
            raise ValueError(
                "LBFGS optimises one group of parameters; it does not take per-group options"
            )
        super().add_param_group(group)

    # --- the flat vector of all parameters ------------------------------------------------

    def _flat_grad(self) -> np.ndarray:
        """g: every parameter's gradient, flattened and concatenated (zeros where none)."""
        pieces = [
            np.zeros_like(p.data).reshape(-1)
            if p.grad is None  # on p's device
            else p.grad.data.reshape(-1)
            for p in self._params
        ]
        g = np.concatenate(pieces)
        return -g if self.param_groups[0]["maximize"] else g

    def _add(self, t: float, d: np.ndarray) -> None:
        """w ← w + t d, in place on every parameter's array."""
        offset = 0
        for p in self._params:
            n = p.data.size
            array = p.writable_array()
            array += t * d[offset : offset + n].reshape(array.shape)
            offset += n

    def _set(self, arrays: list[np.ndarray]) -> None:
        for p, array in zip(self._params, arrays, strict=True):
            p.writable_array()[...] = array

    def _evaluate(self, closure: Callable[[], Any]) -> float:
        with enable_grad():
            loss = closure()
        value = float(loss.item() if hasattr(loss, "item") else loss)
        return -value if self.param_groups[0]["maximize"] else value

    def _directional(
        self, closure: Callable[[], Any], w: list[np.ndarray], t: float, d: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """f and g at w + t d, leaving the parameters at w."""
        self._add(t, d)
        f = self._evaluate(closure)
        g = self._flat_grad()
        self._set(w)
        return f, g

    # --- one step -------------------------------------------------------------------------

    @replayed
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Run up to ``max_iter`` iterations; return the loss of the first closure call."""
        if closure is None:
            raise ValueError(
                "LBFGS.step needs a closure that recomputes the loss and its "
                "gradients: optimizer.step(closure)"
            )
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state.setdefault(0, {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            first_loss = closure()
        loss = float(first_loss.item() if hasattr(first_loss, "item") else first_loss)
        if group["maximize"]:
            loss = -loss
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if float(np.max(np.abs(g))) <= tolerance_grad:
            return first_loss

        # the history from earlier steps (None before the first iteration ever)
        d: Any = state.get("d")
        t: Any = state.get("t")
        old_dirs: Any = state.get("old_dirs")  # the y = Δg of the kept pairs
        old_steps: Any = state.get("old_stps")  # their s = Δw
        ro: Any = state.get("ro")  # their 1 / yᵀs
        H_diag: Any = state.get("H_diag")
        prev_g: Any = state.get("prev_flat_grad")
        prev_loss: Any = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -g
                old_dirs, old_steps, ro = [], [], []
                H_diag = 1.0
            else:
                y = g - prev_g
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep the pair only where the curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_steps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_steps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / float(y @ y)
                d = _two_loop(g, old_dirs, old_steps, ro, H_diag)
            prev_g = g.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(np.sum(np.abs(g)))) * lr
            else:
                t = lr
            gtd = float(g @ d)  # the slope along d
            if gtd > -tolerance_change:
                break

            line_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                w = [p.data.copy() for p in self._params]

                def along(
                    t: float, d: np.ndarray, w: list[np.ndarray] = w
                ) -> tuple[float, np.ndarray]:
                    return self._directional(closure, w, t, d)

                loss, g, t, line_evals = _strong_wolfe(
                    along, t, d, loss, g, gtd, max_ls=max_eval - evals
                )
                self._add(t, d)
                converged = float(np.max(np.abs(g))) <= tolerance_grad
            else:
                self._add(t, d)
                converged = False
                if n_iter != max_iter:
                    loss = self._evaluate(closure)
                    g = self._flat_grad()
                    converged = float(np.max(np.abs(g))) <= tolerance_grad
                    line_evals = 1
            evals += line_evals
            state["func_evals"] += line_evals

            if n_iter == max_iter or evals >= max_eval or converged:
                break
            if float(np.max(np.abs(d * t))) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(
            d=d,
            t=t,
            old_dirs=old_dirs,
            old_stps=old_steps,
            ro=ro,
            H_diag=H_diag,
            prev_flat_grad=prev_g,
            prev_loss=prev_loss,
        )
        return first_loss

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the history saved by :meth:`state_dict` (flat vectors, copied)."""
        size = sum(p.data.size for p in self._params)
        saved = state_dict.get("state", {}) if isinstance(state_dict, dict) else {}
        for values in saved.values():
            for key, value in values.items():
                vectors = value if isinstance(value, list) else [value]
                for v in vectors:
                    if getattr(v, "ndim", 0) > 0 and v.shape != (size,):
                        raise ValueError(
                            f"LBFGS.load_state_dict: {key!r} holds vectors of "
                            f"shape {v.shape}, the parameters have {size} "
                            "numbers in all"
                        )
        super().load_state_dict({"param_groups": state_dict.get("param_groups"), "state": {}})
        first = self._params[0]
        self.state = {
            int(i): {k: _copied(v, first) for k, v in values.items()} for i, values in saved.items()
        }


def _copied(value: Any, like: Any) -> Any:
    """A saved value, copied: vectors in the parameters' dtype, on their device."""
    if isinstance(value, list):
        return [_copied(v, like) for v in value]
    if hasattr(value, "ndim") and value.ndim > 0:
        host = backend.to_numpy(value).astype(like.dtype, copy=True)
        return backend.to_device(host, like.device)
    if isinstance(value, (np.ndarray, np.generic)):
        return value.item()
    return value


def _two_loop(
    g: np.ndarray,
    old_dirs: list[np.ndarray],
    old_steps: list[np.ndarray],
    ro: list[float],
    H_diag: float,
) -> np.ndarray:
    """d = −H g by the L-BFGS two-loop recursion over the stored pairs (s, y)."""
    q = -g
    alphas = [0.0] * len(old_dirs)
    for i in range(len(old_dirs) - 1, -1, -1):
        alphas[i] = float(old_steps[i] @ q) * ro[i]
        q = q - alphas[i] * old_dirs[i]
    r = q * H_diag
    for i in range(len(old_dirs)):
        beta = float(old_dirs[i] @ r) * ro[i]
        r = r + (alphas[i] - beta) * old_steps[i]
    return r


def _cubic_interpolate(
    x1: float,
    f1: float,
    g1: float,
    x2: float,
    f2: float,
    g2: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2,
    clipped to ``bounds`` (default: between x1 and x2); their midpoint if it has none."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            position = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            position = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(position, low), high)
    return (low + high) / 2.0


def _strong_wolfe(
    along: Callable[[float, np.ndarray], tuple[float, np.ndarray]],
    t: float,
    d: np.ndarray,
    f: float,
    g: np.ndarray,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple[float, np.ndarray, float, int]:
    """A step t along d meeting f(w + t d) ≤ f + c1 t gᵀd and |g(w + t d)ᵀd| ≤ c2 |gᵀd|:
    bracket such a t, then zoom in by cubic interpolation (Nocedal & Wright, algorithms
    3.5 and 3.6, as minFunc and PyTorch do). Returns (f, g, t) there and the closure calls."""
    d_norm = float(np.max(np.abs(d)))
    f_new, g_new = along(t, d)
    evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    bracket: list[float] = []
    bracket_f: list[float] = []
    bracket_g: list[np.ndarray] = []
    bracket_gtd: list[float] = []
    while ls_iter < max_ls:  # bracketing
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        previous = t
        t = _cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new.copy(), gtd_new
        f_new, g_new = along(t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:  # zoom
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        # a point too near an end of the bracket is moved inwards, unless the last one
        # already made too little progress
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = along(t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new.copy(), gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals
