r"""Chapter 3 exercises — noise schedules.

q1  cosine_alphas_cumprod(T, s, max_beta): the cosine schedule's ᾱ_t at code indices k = 0..T−1
q2  cosine_log_snr_half(s): the cosine schedule's log-SNR at t = T/2, derived, checked against the package
q3  first_below_half(alphas_cumprod): the first code index k with ᾱ < 0.5 (T when it never drops below)
q4  how much of x0's scale x_T still carries for a linear schedule with T = 200

Code indices run k = 0..T−1 (the papers' t = k + 1): ``alphas_cumprod[k]`` is the papers' ᾱ_{k+1}.
"""
from __future__ import annotations

import math
import numbers

import torch

from ..schedules import NoiseSchedule, make_schedule
from ..i18n import tr
from .base import (SCHEDULE_RTOL, Exercise, Incorrect, Message, Mistake, NotAttempted, as_float64, as_index, as_number,
                   call_student, check_close, diagnose, require_callable, source_of)

__all__ = ["q1", "q2", "q3", "q4", "reference_cosine_alphas_cumprod", "reference_cosine_log_snr_half",
           "reference_first_below_half", "LOG_SNR_OFFSETS", "T200_SCALE_LEFT"]


# ---------------------------------------------------------------------------------------------
# q1 — the cosine schedule
# ---------------------------------------------------------------------------------------------
def reference_cosine_alphas_cumprod(T: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """ᾱ_t of the cosine schedule (Nichol & Dhariwal 2021) at code indices k = 0..T−1, float64, shape (T,)."""
    tau = torch.arange(T + 1, dtype=torch.float64) / T           # τ = 0, 1/T, ..., 1
    f = torch.cos((tau + s) / (1 + s) * math.pi / 2) ** 2         # f(τ); ᾱ(τ) = f(τ)/f(0)
    abar = f / f[0]
    betas = (1 - abar[1:] / abar[:-1]).clamp(max=max_beta)      # β_t = 1 − ᾱ_t/ᾱ_{t−1}, capped
    return torch.cumprod(1 - betas, dim=0)                      # ᾱ the schedule really uses


def _f(T: int, s: float, dtype=torch.float64) -> torch.Tensor:
    tau = torch.arange(T + 1, dtype=dtype) / T
    return torch.cos((tau + s) / (1 + s) * math.pi / 2) ** 2


def _cosine_in_float32(T, s=0.008, max_beta=0.999):
    f = _f(T, s, torch.float32)
    abar = f / f[0]
    return torch.cumprod(1 - (1 - abar[1:] / abar[:-1]).clamp(max=max_beta), dim=0)


COSINE_MISTAKES = (
    Mistake(lambda T, s=0.008, max_beta=0.999: torch.cat([torch.ones(1, dtype=torch.float64),
                                                          reference_cosine_alphas_cumprod(T, s, max_beta)[:-1]]),
            "your first value is exactly 1: that is ᾱ before any step. Code index k = 0 is the papers' t = 1, so "
            "its value is ᾱ_1 = f(1/T)/f(0) — start τ at 1/T (take f[1:], not f[:-1]).",
            rtol=SCHEDULE_RTOL, atol=1e-12),
    Mistake(lambda T, s=0.008, max_beta=0.999: reference_cosine_alphas_cumprod(T, 0.0, max_beta),
            "your curve is the cosine schedule WITHOUT the offset s. Use cos²(((t/T + s)/(1 + s))·π/2): the small "
            "s keeps β near t = 0 from being vanishingly small (≈ 2.5e-6 without it), so the first steps still "
            "add some noise.", rtol=SCHEDULE_RTOL, atol=0),
    Mistake(lambda T, s=0.008, max_beta=0.999: reference_cosine_alphas_cumprod(T, 0.008, max_beta),
            "called with s = 0.02 your function still used s = 0.008: use the argument s, not a hard-coded "
            "number.", rtol=SCHEDULE_RTOL, atol=0),
    Mistake(lambda T, s=0.008, max_beta=0.999: _f(T, s)[1:],
            "your values are all f(0) times too small (f(0) = cos²(s/(1 + s)·π/2) ≈ 0.9998): divide by f(0) so "
            "that ᾱ starts from 1 at τ = 0 (ᾱ(τ) = f(τ)/f(0)).", rtol=SCHEDULE_RTOL, atol=0),
    # the unclipped tail is ~1e-27 or 0 however it is computed: matched absolutely there (atol 1e-12)
    Mistake(lambda T, s=0.008, max_beta=0.999: _f(T, s)[1:] / _f(T, s)[0],
            "all but the last value are right, but your last ᾱ is (nearly) 0. At τ = 1 the curve reaches f = 0, "
            "so the last β would be 1 (all signal destroyed in one step, and 1/√ᾱ blows up). Clip every β at "
            "max_beta (0.999): compute β_t = 1 − ᾱ_t/ᾱ_{t−1}, clamp, then take the cumulative product.",
            rtol=SCHEDULE_RTOL, atol=1e-12),
    # float32 arithmetic is off by up to 6e-5 (relative) in the tail: anything that close counts as it
    Mistake(_cosine_in_float32,
            "very close, but not to float64 precision: build τ and f with dtype=torch.float64 (schedules are "
            "computed in float64 in this course).", rtol=1e-3, atol=0),
)


def _check_cosine(fn) -> None:
    require_callable(fn, "q1.check(cosine_alphas_cumprod)")
    for T, s in ((1000, 0.008), (50, 0.02)):
        out = as_float64(call_student(fn, T, s=s), f"cosine_alphas_cumprod({T}, s={s})", finite=False)
        if out.shape == (T + 1,):
            raise Incorrect(tr("for T = {T} you returned T + 1 = {n} values. The first one, f(0)/f(0) = 1, is "
                               "'before any noise'; code index k = 0 is already after the first step. Return ᾱ "
                               "at k = 0..T−1 only (shape (T,)).", T=T, n=T + 1))
        if out.shape != (T,):
            raise Incorrect(tr("for T = {T} expected a 1D tensor of shape ({T},), got shape {shape}.", T=T,
                               shape=tuple(out.shape)))
        if not bool(torch.isfinite(out).all()):
            raise Incorrect(tr("your ᾱ contains NaN or inf: check for a division by f(T) ≈ 0 or a log of 0."))
        ref = reference_cosine_alphas_cumprod(T, s)

        def first_wrong(out=out, ref=ref, T=T, s=s):
            bad = int(torch.nonzero(~torch.isclose(out, ref, rtol=SCHEDULE_RTOL, atol=0))[0])
            return tr("for T = {T}, s = {s} the first wrong value is at index k = {bad}: expected ᾱ = {want:.6g}, "
                      "got {got:.6g}. Compare with the formula in the text.", T=T, s=s, bad=bad,
                      want=float(ref[bad]), got=float(out[bad]))
        check_close(out, ref, COSINE_MISTAKES, T, s, rtol=SCHEDULE_RTOL, atol=0, otherwise=first_wrong)


q1 = Exercise(
    "Exercise 3.1 — the cosine schedule's ᾱ_t",
    _check_cosine,
    hints=[
        "Section 1's recipe: a curve f(τ) = cos²(((τ + s)/(1 + s))·π/2) on τ = t/T, normalised so that ᾱ = 1 at "
        "τ = 0. Code index k = 0 is already after the first step, at τ = 1/T.",
        "Make τ = torch.arange(T + 1, dtype=torch.float64) / T (T + 1 points), f as above and ᾱ(τ) = f/f[0]. "
        "Turn it into T values β_t = 1 − ᾱ(τ_t)/ᾱ(τ_{t−1}) for t = 1..T, clip them at max_beta (the last one "
        "would be 1), and multiply the factors 1 − β_t back up.",
        "Divide f by its first value; the ratio of each value to the one before gives 1 − β for the T steps; clamp "
        "the β's at max_beta, then return the running product of 1 − β (float64 throughout).",
    ],
    solution=source_of(reference_cosine_alphas_cumprod),
    reference=reference_cosine_alphas_cumprod,
    mistakes=COSINE_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q2 — a derivation: the cosine schedule's log-SNR at t = T/2
# ---------------------------------------------------------------------------------------------
#: The offsets s the checker tries; s = 0 is the case a student can do in their head (ᾱ = cos²(π/4) = 1/2).
LOG_SNR_OFFSETS = (0.0, 0.008, 0.05, 0.2)


def reference_cosine_log_snr_half(s: float) -> float:
    """log-SNR = log(ᾱ/(1−ᾱ)) of the cosine schedule at t = T/2 (τ = 1/2, any even T), derived:
    ᾱ_{T/2} = f(1/2)/f(0) with f(τ) = cos²((τ + s)/(1 + s)·π/2).

    Checked against the package: dl.make_schedule('cosine', 1000, s=s).log_snr[500 - 1]
    (t = 500 is code index 499)."""
    f = lambda tau: math.cos((tau + s) / (1 + s) * math.pi / 2) ** 2
    abar = f(0.5) / f(0.0)
    return math.log(abar / (1 - abar))


def _abar_half(s: float, divide: bool = True, tau: float = 0.5) -> float:
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    return f(tau) / f(0.0) if divide else f(tau)


LOG_SNR_MISTAKES = (
    Mistake(lambda s: 0.0,
            "0 is right only for s = 0, where ᾱ_{T/2} = cos²(π/4) = 1/2. With an offset the angle is "
            "(1/2 + s)/(1 + s)·π/2, a little past π/4, so ᾱ_{T/2} < 1/2 and the log-SNR is negative."),
    Mistake(lambda s: math.log(_abar_half(s, divide=False) / (1 - _abar_half(s, divide=False))),
            "you left out the division by f(0): ᾱ(τ) = f(τ)/f(0), so that ᾱ_0 = 1. f(0) = cos²(s/(1+s)·π/2) is "
            "just below 1 for s > 0."),
    Mistake(lambda s: math.log(_abar_half(s, tau=0.501) / (1 - _abar_half(s, tau=0.501))),
            "that is one step late, t = T/2 + 1 (τ = 0.501 for T = 1000): in code, t = T/2 is index T/2 − 1, "
            "i.e. log_snr[499], not log_snr[500]."),
    Mistake(lambda s: math.log(_abar_half(s)),
            "that is log ᾱ, the signal's log-variance only. The SNR divides by the noise's variance: "
            "log(ᾱ/(1 − ᾱ))."),
    Mistake(lambda s: _abar_half(s) / (1 - _abar_half(s)),
            "that is the SNR ᾱ/(1 − ᾱ) itself; the question asks for its natural logarithm."),
    Mistake(lambda s: math.log10(_abar_half(s) / (1 - _abar_half(s))),
            "that is log base 10; the log-SNR uses the natural log (math.log / torch.log)."),
    Mistake(lambda s: 0.5 * math.log(_abar_half(s) / (1 - _abar_half(s))),
            "that is log(√ᾱ/√(1 − ᾱ)), the ratio of the scales. The SNR is the ratio of the variances, "
            "ᾱ/(1 − ᾱ): no square roots."),
)


def _check_log_snr_half(fn) -> None:
    require_callable(fn, "q2.check(cosine_log_snr_half)")
    for s in LOG_SNR_OFFSETS:
        got = as_number(call_student(fn, s), f"cosine_log_snr_half({s})")
        want = reference_cosine_log_snr_half(s)
        check_close(got, want, LOG_SNR_MISTAKES, s,
                    otherwise=tr("for s = {s} expected {want:.5f} (the log-SNR of the package's cosine schedule at "
                                 "t = T/2), got {got:.5f}. Write ᾱ_{{T/2}} = f(1/2)/f(0) first, then "
                                 "log(ᾱ/(1 − ᾱ)).", s=s, want=want, got=got))


q2 = Exercise(
    "Exercise 3.2 — derive the cosine schedule's log-SNR at t = T/2",
    _check_log_snr_half,
    hints=[
        "At t = T/2 the cosine recipe has τ = t/T = 1/2, whatever T is. Start with s = 0: what is cos²(π/4)?",
        "ᾱ_{T/2} = f(1/2)/f(0) with f(τ) = cos²((τ + s)/(1 + s)·π/2); then log-SNR = log(ᾱ/(1 − ᾱ)), natural log. "
        "For s = 0 you should get exactly 0; for s = 0.008 about −0.025.",
        "Write f as a small function of τ with math.cos, evaluate ᾱ = f(1/2)/f(0), and return the natural log of "
        "ᾱ/(1 − ᾱ) as a float.",
    ],
    solution=source_of(reference_cosine_log_snr_half),
    reference=reference_cosine_log_snr_half,
    mistakes=LOG_SNR_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q3 — where ᾱ crosses 0.5
# ---------------------------------------------------------------------------------------------
def reference_first_below_half(alphas_cumprod: torch.Tensor) -> int:
    """First code index k with ᾱ < 0.5 there (the papers' t = k + 1); len(alphas_cumprod) (= T) if ᾱ never
    drops below 0.5."""
    below = torch.nonzero(torch.as_tensor(alphas_cumprod) < 0.5)
    return int(below[0]) if below.numel() else len(alphas_cumprod)


FIRST_BELOW_HALF_MISTAKES = (
    Mistake(lambda abar: reference_first_below_half(abar) - 1,
            "one step too early: there ᾱ is still ≥ 0.5. We want the FIRST index k with ᾱ < 0.5, one step later."),
    Mistake(lambda abar: reference_first_below_half(abar) + 1,
            "one step too late — that is the papers' t = k + 1. Return the code index k itself (no + 1)."),
)


def _as_step(out, where: str) -> int:
    """The student's step; a non-integer number is most likely the value of ᾱ there."""
    if isinstance(out, torch.Tensor) and out.numel() == 1 and out.is_floating_point():
        out = float(out)
    if isinstance(out, numbers.Real) and not isinstance(out, (bool, numbers.Integral)) \
            and not float(out).is_integer():
        raise Incorrect(tr("{where}: you returned {value}. Return the code index k where ᾱ first drops below 0.5 "
                           "(an integer), not the value of ᾱ there.", where=tr(where), value=repr(out)))
    return as_index(out, where)


def _check_first_below_half(fn) -> None:
    require_callable(fn, "q3.check(first_below_half)")
    cases = [(f"{name}, T = 1000", make_schedule(name, 1000, warn=False).alphas_cumprod)
             for name in ("linear", "cosine", "quadratic", "sigmoid")]
    cases.append((tr("β = 0.6 at the first step"), NoiseSchedule(torch.tensor([0.6, 0.1, 0.1])).alphas_cumprod))
    for label, abar in cases:
        expected = reference_first_below_half(abar)
        got = _as_step(call_student(fn, abar.clone()), label)
        if got == expected:
            continue
        diagnose(got, FIRST_BELOW_HALF_MISTAKES, abar, prefix=tr("{label}: you returned k = {got}", label=label,
                                                                 got=got))
        raise Incorrect(tr("{label}: expected k = {expected}, got {got}. Look for the first index where "
                           "alphas_cumprod < 0.5.", label=label, expected=expected, got=got))
    never = make_schedule("linear", 50, warn=False).alphas_cumprod          # ᾱ_49 ≈ 0.603 > 0.5
    try:
        got = call_student(fn, never.clone())
    except NotAttempted:
        got = None
    except Incorrect as err:
        raise Incorrect(tr("for a schedule whose ᾱ never drops below 0.5 (linear, T = 50): {error}. Return "
                           "T = len(alphas_cumprod) when no step is below 0.5.", error=err)) from None
    if got is None:
        raise Incorrect(tr("for a schedule whose ᾱ never drops below 0.5 (linear, T = 50) your function returned "
                           "None. Return T = len(alphas_cumprod) then, as schedule.t_half() does."))
    got = _as_step(got, tr("linear, T = 50 (ᾱ never below 0.5)"))
    if got != len(never):
        hint = (tr(" (argmax of an all-False mask is 0 — check whether any value is below 0.5 first)")
                if got == 0 else "")
        raise Incorrect(tr("for linear T = 50, ᾱ never drops below 0.5 (ᾱ_49 ≈ 0.603), so the answer is "
                           "T = 50; you returned {got}{hint}.", got=got, hint=hint))


q3 = Exercise(
    "Exercise 3.3 — where does ᾱ cross 0.5?",
    _check_first_below_half,
    hints=[
        "(alphas_cumprod < 0.5) is a boolean mask, True where ᾱ_t is below one half. You want the position of "
        "its first True — and an answer for when there is none.",
        "torch.nonzero(mask) lists the indices where the mask is True, in order. When that list is empty, "
        "return T = len(alphas_cumprod), like schedule.t_half(). (Beware: argmax of an all-False mask is 0.)",
        "List the indices where the mask holds; if there are any, return the first as an int, otherwise return "
        "the length of alphas_cumprod.",
    ],
    solution=source_of(reference_first_below_half),
    reference=reference_first_below_half,
    mistakes=FIRST_BELOW_HALF_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q4 — the short-T trap
# ---------------------------------------------------------------------------------------------
_T200 = make_schedule("linear", 200, warn=False)
#: √ᾱ_{T−1} for linear β 1e-4 → 0.02 with T = 200: the coefficient of x0 in x_T.
T200_SCALE_LEFT = math.sqrt(_T200.signal_left())
#: The accuracy the check asks for.
T200_ACCURACY = 1e-3

_t200_abar = _T200.alphas_cumprod
# atol: how close counts as that mistake (the known values lie ≥ 0.03 from the right answer)
T200_MISTAKES = (
    Mistake(float(_t200_abar[-1]),
            Message("{value:.4f} is ᾱ_(T−1), the share of x_T's VARIANCE that comes from x0 (for unit-variance "
                    "data). x_T = √ᾱ·x0 + √(1−ᾱ)·ε: the coefficient of x0 is the square root.",
                    value=float(_t200_abar[-1])),
            rtol=0, atol=T200_ACCURACY),
    Mistake(math.sqrt(1 - float(_t200_abar[-1])),
            "that is the noise part, √(1−ᾱ) or 1−ᾱ. The question asks for the coefficient of x0: √ᾱ at the "
            "last step.", rtol=0, atol=T200_ACCURACY),
    Mistake(1 - float(_t200_abar[-1]),
            "that is the noise part, √(1−ᾱ) or 1−ᾱ. The question asks for the coefficient of x0: √ᾱ at the "
            "last step.", rtol=0, atol=T200_ACCURACY),
    Mistake(math.sqrt(float(_t200_abar[-2])),
            "that is one step before the end. With T = 200 the last step t = 200 has code index k = 199 (index −1), "
            "not 198.",
            rtol=0, atol=T200_ACCURACY / 2),
    Mistake(math.sqrt(make_schedule("linear", 1000, warn=False).signal_left()),
            "that is the T = 1000 value. Build the schedule with T = 200: dl.make_schedule('linear', T=200).",
            rtol=0, atol=1e-4),
)


def _check_t200(answer) -> None:
    value = as_number(answer, "the coefficient of x0 in x_T")
    check_close(value, T200_SCALE_LEFT, T200_MISTAKES, rtol=0, atol=T200_ACCURACY,
                otherwise=tr("expected √ᾱ at the last step of the T = 200 linear schedule, within {accuracy}; "
                             "got {value:.4f}.", accuracy=T200_ACCURACY, value=value))


q4 = Exercise(
    "Exercise 3.4 — how much of x0 survives to x_T with T = 200?",
    _check_t200,
    hints=[
        "x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε, so the factor in front of x0 at the last step, t = T (code index k = T − 1), "
        "is what you want: a standard deviation, not a variance.",
        "Build the schedule with dl.make_schedule('linear', T=200) (it warns — that is the point); the schedule "
        "holds √ᾱ for every step.",
        "Read √ᾱ at the last code index, k = T − 1 = 199 (index −1 in Python), and turn it into a float.",
    ],
    solution="```python\nshort = dl.make_schedule('linear', T=200)      # ScheduleWarning: x_T still holds signal\n"
             "scale_left = float(short.sqrt_alphas_cumprod[-1])   # ≈ 0.364: x_T still has 36 % of x0's scale\n```",
    reference=T200_SCALE_LEFT,
    mistakes=T200_MISTAKES,
)
