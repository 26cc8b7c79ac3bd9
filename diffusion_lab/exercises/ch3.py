r"""Chapter 3 exercises — noise schedules.

q1  cosine_alphas_cumprod(T, s, max_beta): the cosine schedule's ᾱ_t for code t = 0..T−1
q2  ᾱ_100 for β_t = 0.02·t/T (papers' t = 1..T, T = 1000): the course texts' exercise 1.1, done right
q3  first_below_half(alphas_cumprod): the first code t with ᾱ_t < 0.5 (T when it never drops below)
q4  how much of x0's scale x_T still carries for a linear schedule with T = 200

Code steps run t = 0..T−1 (the papers' 1..T): ``alphas_cumprod[t]`` is the papers' ᾱ_{t+1}.
"""
from __future__ import annotations

import math
import numbers

import torch

from ..schedules import NoiseSchedule, make_schedule
from .base import Exercise, Incorrect, NotAttempted, call_student, source_of

__all__ = ["q1", "q2", "q3", "q4", "reference_cosine_alphas_cumprod", "reference_first_below_half",
           "EX11_ALPHA_BAR_100", "T200_SCALE_LEFT"]


def _as_float64(out, what: str) -> torch.Tensor:
    try:
        return torch.as_tensor(out).detach().to(torch.float64).cpu()
    except Exception:
        raise Incorrect(f"{what} should be a torch tensor (or numpy array) of numbers, "
                        f"got {type(out).__name__}.") from None


def _as_number(answer, what: str) -> float:
    if isinstance(answer, bool):
        raise Incorrect(f"{what} should be a number, got a bool.")
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        return float(answer)
    if isinstance(answer, numbers.Real):
        return float(answer)
    try:
        import numpy as np
        if isinstance(answer, np.ndarray) and answer.size == 1:
            return float(answer)
    except ImportError:  # pragma: no cover
        pass
    raise Incorrect(f"{what} should be a single number (a float), got {type(answer).__name__}.")


# ---------------------------------------------------------------------------------------------
# q1 — the cosine schedule
# ---------------------------------------------------------------------------------------------
def reference_cosine_alphas_cumprod(T: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """ᾱ_t of the cosine schedule (Nichol & Dhariwal 2021) for code t = 0..T−1, float64, shape (T,)."""
    tau = torch.arange(T + 1, dtype=torch.float64) / T           # τ = 0, 1/T, ..., 1
    f = torch.cos((tau + s) / (1 + s) * math.pi / 2) ** 2         # f(τ); ᾱ(τ) = f(τ)/f(0)
    abar = f / f[0]
    betas = (1 - abar[1:] / abar[:-1]).clamp(max=max_beta)      # β_t = 1 − ᾱ_t/ᾱ_{t−1}, capped
    return torch.cumprod(1 - betas, dim=0)                      # ᾱ the schedule really uses


def _f(T: int, s: float) -> torch.Tensor:
    tau = torch.arange(T + 1, dtype=torch.float64) / T
    return torch.cos((tau + s) / (1 + s) * math.pi / 2) ** 2


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-6, atol: float = 1e-15) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def _check_cosine(fn) -> None:
    if not callable(fn):
        raise Incorrect("pass your function itself: q1.check(cosine_alphas_cumprod) (no brackets).")
    for T, s in ((1000, 0.008), (50, 0.02)):
        out = _as_float64(call_student(fn, T, s=s), f"cosine_alphas_cumprod({T}, s={s})")
        ref = reference_cosine_alphas_cumprod(T, s)
        if out.shape == (T + 1,):
            raise Incorrect(f"for T = {T} you returned T + 1 = {T + 1} values. The first one, f(0)/f(0) = 1, is "
                            "'before any noise'; code t = 0 is already after the first step. Return ᾱ for "
                            "t = 0..T−1 only (shape (T,)).")
        if out.shape != (T,):
            raise Incorrect(f"for T = {T} expected a 1D tensor of shape ({T},), got shape {tuple(out.shape)}.")
        if not bool(torch.isfinite(out).all()):
            raise Incorrect("your ᾱ contains NaN or inf: check for a division by f(T) ≈ 0 or a log of 0.")
        if _close(out, ref):
            continue
        _diagnose_cosine(out, ref, T, s)


def _diagnose_cosine(out: torch.Tensor, ref: torch.Tensor, T: int, s: float) -> None:
    f = _f(T, s)
    if abs(float(out[0]) - 1.0) < 1e-12:
        raise Incorrect("your first value is exactly 1: that is ᾱ before any step. In code, t = 0 is the "
                        "papers' t = 1, so ᾱ_0 = f(1/T)/f(0) — start τ at 1/T (take f[1:], not f[:-1]).")
    if _close(out, reference_cosine_alphas_cumprod(T, 0.0), rtol=1e-6):
        raise Incorrect("your curve is the cosine schedule WITHOUT the offset s. Use "
                        "cos²(((t/T + s)/(1 + s))·π/2): the small s keeps β near t = 0 from being "
                        "vanishingly small (≈ 2.5e-6 without it), so the first steps still add some noise.")
    if s != 0.008 and _close(out, reference_cosine_alphas_cumprod(T, 0.008), rtol=1e-6):
        raise Incorrect(f"called with s = {s} your function still used s = 0.008: use the argument s, "
                        "not a hard-coded number.")
    if _close(out[:-1], ref[:-1] * f[0], rtol=1e-6):
        raise Incorrect(f"your values are all f(0) = {float(f[0]):.6f} times too small: divide by f(0) so "
                        "that ᾱ starts from 1 at τ = 0 (ᾱ(τ) = f(τ)/f(0)).")
    if _close(out[:-1], ref[:-1], rtol=1e-6):
        raise Incorrect(f"all but the last value are right; your last ᾱ is {float(out[-1]):.3g}, expected "
                        f"{float(ref[-1]):.3g}. At τ = 1 the curve reaches f = 0, so the last β would be 1 "
                        "(all signal destroyed in one step, and 1/√ᾱ blows up). Clip every β at max_beta "
                        "(0.999): compute β_t = 1 − ᾱ_t/ᾱ_{t−1}, clamp, then take the cumulative product.")
    if _close(out, ref, rtol=1e-3, atol=1e-12):
        raise Incorrect("very close, but not to float64 precision: build τ and f with dtype=torch.float64 "
                        "(schedules are computed in float64 in this course).")
    bad = int(torch.nonzero(~torch.isclose(out, ref, rtol=1e-6, atol=1e-15))[0])
    raise Incorrect(f"for T = {T}, s = {s} the first wrong value is at t = {bad}: expected ᾱ = "
                    f"{float(ref[bad]):.6g}, got {float(out[bad]):.6g}. Compare with the formula in the text.")


q1 = Exercise(
    "Exercise 3.1 — the cosine schedule's ᾱ_t",
    _check_cosine,
    hint="Make τ = torch.arange(T + 1, dtype=torch.float64) / T, then f = cos²(((τ + s)/(1 + s))·π/2) and "
         "ᾱ(τ) = f/f[0]. Turn it into β_t = 1 − ᾱ(τ_{t+1})/ᾱ(τ_t) (T values), clamp β at max_beta, and "
         "return torch.cumprod(1 − β, 0).",
    solution=source_of(reference_cosine_alphas_cumprod),
    reference=reference_cosine_alphas_cumprod,
)


# ---------------------------------------------------------------------------------------------
# q2 — exercise 1.1 of the course texts: β_t = 0.02 t / T
# ---------------------------------------------------------------------------------------------
def _ex11_alphas_cumprod() -> torch.Tensor:
    betas = 0.02 * torch.arange(1, 1001, dtype=torch.float64) / 1000     # papers' t = 1..1000
    return NoiseSchedule.from_betas(betas, name="exercise 1.1").alphas_cumprod


#: ᾱ_100 (papers' numbering; code index 99) for β_t = 0.02·t/T, T = 1000.
EX11_ALPHA_BAR_100 = float(_ex11_alphas_cumprod()[99])
_EX11_TOL = 5e-4


def _check_ex11(answer) -> None:
    value = _as_number(answer, "ᾱ_100")
    abar = _ex11_alphas_cumprod()
    if abs(value - EX11_ALPHA_BAR_100) < _EX11_TOL:
        return
    if abs(value - 0.998 ** 100) < 2e-3:
        raise Incorrect("0.998¹⁰⁰ ≈ 0.819 treats every one of the 100 factors as if it were the last, "
                        "β_100 = 0.002. But β grows with t: β_s = 0.02·s/1000 = 0.00002·s, so "
                        "ᾱ_100 = (1 − 0.00002)(1 − 0.00004)⋯(1 − 0.002). Multiply the 100 different factors.")
    if abs(value - float(abar[100])) < 3e-4:
        raise Incorrect("that is ᾱ_101 — one factor too many. ᾱ_100 = ∏_{s=1}^{100} (1 − β_s); in code, "
                        "with t = 0..T−1, that is alphas_cumprod[99].")
    if abs(value - float(abar[98])) < 3e-4:
        raise Incorrect("that is one factor short (or your β started at s = 0: β_0 = 0 is not a step). "
                        "ᾱ_100 = ∏_{s=1}^{100} (1 − 0.00002·s): s runs from 1 to 100; in code that is "
                        "alphas_cumprod[99] of betas 0.02·arange(1, 1001)/1000.")
    linear_default = float(make_schedule("linear", 1000, warn=False).alphas_cumprod[99])
    if abs(value - linear_default) < 3e-4:
        raise Incorrect("that is make_schedule('linear'), whose β runs from 0.0001 to 0.02. The exercise's "
                        "β_t = 0.02·t/T starts at 0.00002 (t = 1): build it with "
                        "NoiseSchedule.from_betas(0.02 * torch.arange(1, 1001, dtype=torch.float64) / 1000).")
    if abs(value - 0.998) < 1e-6 or abs(value - 0.002) < 1e-6:
        raise Incorrect("that is a single step's α_100 (or β_100). ᾱ_100 is the product of all α_s "
                        "for s = 1..100.")
    if not 0.0 < value < 1.0:
        raise Incorrect(f"ᾱ is a product of numbers between 0 and 1, so it lies in (0, 1); you gave {value:g}.")
    raise Incorrect(f"expected a value within {_EX11_TOL} of the product ∏_{{s=1}}^{{100}} (1 − 0.00002·s); "
                    f"got {value:.4f}. Check your β_s and the range of s.")


q2 = Exercise(
    "Exercise 3.2 — ᾱ_100 for β_t = 0.02·t/T (the course texts' exercise 1.1)",
    _check_ex11,
    hint="ᾱ_100 = ∏_{s=1}^{100} (1 − β_s) with a DIFFERENT β_s = 0.00002·s in each factor. Build all 1000 β's "
         "with torch.arange(1, 1001) and read the cumulative product at code index 99 (papers' t = 100). "
         "Sanity check: log ᾱ_100 ≈ −Σ β_s = −0.00002·(1 + 2 + ⋯ + 100).",
    solution="```python\nbetas = 0.02 * torch.arange(1, 1001, dtype=torch.float64) / 1000   # papers' t = 1..1000\n"
             "abar_100 = float(dl.NoiseSchedule.from_betas(betas).alphas_cumprod[99])   # code index 99\n"
             "# ≈ 0.9039; by hand: exp(−0.00002 · 5050) ≈ 0.9039\n```",
    reference=EX11_ALPHA_BAR_100,
)


# ---------------------------------------------------------------------------------------------
# q3 — where ᾱ crosses 0.5
# ---------------------------------------------------------------------------------------------
def reference_first_below_half(alphas_cumprod: torch.Tensor) -> int:
    """First code step t with ᾱ_t < 0.5; len(alphas_cumprod) (= T) if ᾱ never drops below 0.5."""
    below = torch.nonzero(torch.as_tensor(alphas_cumprod) < 0.5)
    return int(below[0]) if below.numel() else len(alphas_cumprod)


def _as_index(out, where: str) -> int:
    if isinstance(out, bool):
        raise Incorrect(f"{where}: return the step t (an int), not a bool.")
    if isinstance(out, torch.Tensor) and out.numel() == 1 and not out.is_floating_point():
        return int(out)
    if isinstance(out, numbers.Integral):
        return int(out)
    if isinstance(out, (numbers.Real, torch.Tensor)):
        val = float(out) if not isinstance(out, torch.Tensor) or out.numel() == 1 else None
        if val is not None and val.is_integer():
            return int(val)
        raise Incorrect(f"{where}: you returned {out!r}. Return the step t where ᾱ first drops below 0.5 "
                        "(an integer index), not the value of ᾱ there.")
    raise Incorrect(f"{where}: return an int, got {type(out).__name__}.")


def _check_first_below_half(fn) -> None:
    if not callable(fn):
        raise Incorrect("pass your function itself: q3.check(first_below_half) (no brackets).")
    cases = [(f"{name}, T = 1000", make_schedule(name, 1000, warn=False).alphas_cumprod)
             for name in ("linear", "cosine", "quadratic", "sigmoid")]
    cases.append(("β = 0.6 at the first step", NoiseSchedule.from_betas(torch.tensor([0.6, 0.1, 0.1])).alphas_cumprod))
    for label, abar in cases:
        expected = reference_first_below_half(abar)
        got = _as_index(call_student(fn, abar.clone()), label)
        if got == expected:
            continue
        if got == expected - 1 and got >= 0:
            raise Incorrect(f"{label}: you returned t = {got}, where ᾱ = {float(abar[got]):.4f} is still ≥ 0.5. "
                            "We want the FIRST t with ᾱ_t < 0.5, one step later.")
        if got == expected + 1:
            raise Incorrect(f"{label}: you returned t = {got}, one too late — that is the papers' numbering. "
                            "In code t starts at 0, so return the index itself (no + 1).")
        raise Incorrect(f"{label}: expected t = {expected}, got {got}. Look for the first index where "
                        "alphas_cumprod < 0.5.")
    never = make_schedule("linear", 50, warn=False).alphas_cumprod          # ᾱ_49 ≈ 0.603 > 0.5
    try:
        got = call_student(fn, never.clone())
    except NotAttempted:
        got = None
    except Incorrect as err:
        raise Incorrect(f"for a schedule whose ᾱ never drops below 0.5 (linear, T = 50): {err}. Return "
                        "T = len(alphas_cumprod) when no step is below 0.5.") from None
    if got is None:
        raise Incorrect("for a schedule whose ᾱ never drops below 0.5 (linear, T = 50) your function returned "
                        "None. Return T = len(alphas_cumprod) then, as schedule.t_half() does.")
    got = _as_index(got, "linear, T = 50 (ᾱ never below 0.5)")
    if got != len(never):
        hint = (" (argmax of an all-False mask is 0 — check whether any value is below 0.5 first)"
                if got == 0 else "")
        raise Incorrect(f"for linear T = 50, ᾱ never drops below 0.5 (ᾱ_49 ≈ 0.603), so the answer is "
                        f"T = 50; you returned {got}{hint}.")


q3 = Exercise(
    "Exercise 3.3 — where does ᾱ cross 0.5?",
    _check_first_below_half,
    hint="(alphas_cumprod < 0.5) is a boolean mask; torch.nonzero(mask) lists the indices where it is True. "
         "Take the first one — and decide what to return when there is none (T, like schedule.t_half()).",
    solution=source_of(reference_first_below_half),
    reference=reference_first_below_half,
)


# ---------------------------------------------------------------------------------------------
# q4 — the short-T trap
# ---------------------------------------------------------------------------------------------
_T200 = make_schedule("linear", 200, warn=False)
#: √ᾱ_{T−1} for linear β 1e-4 → 0.02 with T = 200: the coefficient of x0 in x_T.
T200_SCALE_LEFT = math.sqrt(_T200.signal_left())
_T200_TOL = 1e-3


def _check_t200(answer) -> None:
    value = _as_number(answer, "the coefficient of x0 in x_T")
    abar = _T200.alphas_cumprod
    if abs(value - T200_SCALE_LEFT) < _T200_TOL:
        return
    if abs(value - float(abar[-1])) < _T200_TOL:
        raise Incorrect(f"{value:.4f} is ᾱ_(T−1), the share of x_T's VARIANCE that comes from x0. "
                        "x_T = √ᾱ·x0 + √(1−ᾱ)·ε: the coefficient of x0 is the square root.")
    if abs(value - math.sqrt(1 - float(abar[-1]))) < _T200_TOL or abs(value - (1 - float(abar[-1]))) < _T200_TOL:
        raise Incorrect("that is the noise part, √(1−ᾱ) or 1−ᾱ. The question asks for the coefficient "
                        "of x0: √ᾱ at the last step.")
    if abs(value - math.sqrt(float(abar[-2]))) < _T200_TOL * 0.5:
        raise Incorrect("that is one step before the end. With T = 200 the last code step is t = 199 "
                        "(index −1), not 198.")
    if abs(value - math.sqrt(make_schedule("linear", 1000, warn=False).signal_left())) < 1e-4:
        raise Incorrect("that is the T = 1000 value. Build the schedule with T = 200: "
                        "dl.make_schedule('linear', T=200).")
    raise Incorrect(f"expected √ᾱ at the last step of the T = 200 linear schedule, within {_T200_TOL}; "
                    f"got {value:.4f}.")


q4 = Exercise(
    "Exercise 3.4 — how much of x0 survives to x_T with T = 200?",
    _check_t200,
    hint="x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε. Build dl.make_schedule('linear', T=200) (it warns — that is the "
         "point) and read √ᾱ at the last code step, t = T−1 = 199.",
    solution="```python\nshort = dl.make_schedule('linear', T=200)      # ScheduleWarning: x_T still holds signal\n"
             "scale_left = float(short.sqrt_alphas_cumprod[-1])   # ≈ 0.364: x_T still has 36 % of x0's scale\n```",
    reference=T200_SCALE_LEFT,
)
