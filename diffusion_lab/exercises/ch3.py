r"""Chapter 3 exercises — noise schedules.

q1  cosine_alphas_cumprod(T, s, max_beta): the cosine schedule's ᾱ_t at code indices k = 0..T−1
q2  cosine_log_snr_half(s): the cosine schedule's log-SNR at t = T/2, derived, checked against the package
q3  beta_end_for_half(t, T, beta_start): the β_end that puts ᾱ_t = 0.5 on a linear schedule, by bisection
q4  how much of x0's scale x_T still carries for a linear schedule with T = 150 (a T the chapter does not print)

Code indices run k = 0..T−1 (the papers' t = k + 1): ``alphas_cumprod[k]`` is the papers' ᾱ_{k+1}.
"""
from __future__ import annotations

import math

import torch

from ..schedules import make_schedule
from ..i18n import tr
from .base import (SCHEDULE_RTOL, Exercise, Incorrect, Message, Mistake, as_float64, as_number,
                   call_student, check_close, diagnose, require_callable, source_of)

__all__ = ["q1", "q2", "q3", "q4", "reference_cosine_alphas_cumprod", "reference_cosine_log_snr_half",
           "reference_beta_end_for_half", "LOG_SNR_OFFSETS", "BISECTION_CASES", "T150_SCALE_LEFT"]


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
        "You need T + 1 values of τ = t/T, for t = 0..T, in float64; evaluate f there and divide by f at τ = 0. "
        "Turn that curve into T values β_t = 1 − ᾱ(τ_t)/ᾱ(τ_{t−1}) for t = 1..T, clip them at max_beta (the last "
        "one would be 1), and multiply the factors 1 − β_t back up.",
        "Hold your result against the package before you submit: dl.make_schedule('cosine', T).alphas_cumprod is "
        "what it must equal. A last value ≈ 0 means the clip is missing; a first value of exactly 1 means τ "
        "started at 0 instead of 1/T.",
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
# q3 — which β_end puts ᾱ = 1/2 at a given step? (bisection)
# ---------------------------------------------------------------------------------------------
#: (t, T, β_start) the checker tries, in this order: the chapter's question, another t, another chain.
BISECTION_CASES = ((500, 1000, 1e-4), (300, 1000, 1e-4), (30, 50, 1e-3))
#: How close ᾱ_t must come to 0.5 with the student's β_end (a float64 product; bisection reaches ~1e-15).
BISECTION_TOL = 1e-6


def _abar_at(t: int, T: int, beta_start: float, beta_end: float, steps: int | None = None) -> float:
    """ᾱ_t of the linear schedule β_start → β_end over T steps: the product of its first t factors (code
    indices 0..t−1); ``steps`` overrides how many factors are multiplied (for the off-by-one mistakes)."""
    betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    return float(torch.prod(1 - betas[: t if steps is None else steps]))


def _bisect(abar_of, target: float = 0.5, lo: float = 0.0, hi: float = 1.0) -> float:
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if abar_of(mid) > target else (lo, mid)
    return (lo + hi) / 2


def reference_beta_end_for_half(t: int, T: int = 1000, beta_start: float = 1e-4) -> float:
    """β_end such that the linear schedule from beta_start to β_end over T steps has ᾱ_t = 0.5 (the maths'
    t: the product of its first t factors 1 − β_s), found by bisection: ᾱ_t falls as β_end grows."""
    def abar_t(beta_end):
        betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
        return float(torch.prod(1 - betas[:t]))          # ᾱ_t: code indices 0 .. t − 1
    lo, hi = beta_start, 1.0                               # ᾱ_t(lo) > 0.5 > ᾱ_t(hi)
    for _ in range(60):                                    # each round halves [lo, hi]
        mid = (lo + hi) / 2
        if abar_t(mid) > 0.5:
            lo = mid                                       # still too much signal: β_end must grow
        else:
            hi = mid
    return (lo + hi) / 2


def _small_beta_answer(t, T=1000, beta_start=1e-4):
    """The closed form of ᾱ_t ≈ exp(−Σβ_s) = 0.5: Σ_{s≤t} β_s = t·β_start + (β_end − β_start)·t(t−1)/(2(T−1))."""
    return beta_start + (math.log(2) - t * beta_start) * 2 * (T - 1) / (t * (t - 1))


# rtol: how close a β_end counts as that mistake; the nearest one (the small-β approximation) lies 0.09 % away
BISECTION_MISTAKES = (
    Mistake(_small_beta_answer,
            "that is the answer of the small-β approximation ᾱ_t ≈ exp(−Σβ_s), which drops Σβ²/2 from the exponent "
            "(section 4 uses it for an estimate): with your β_end the product itself misses 0.5. Multiply the "
            "factors 1 − β_s, and solve numerically.", rtol=2e-5, atol=0),
    Mistake(lambda t, T=1000, beta_start=1e-4: _bisect(lambda b: _abar_at(t, T, beta_start, b, steps=t + 1)),
            "one step late: your β_end puts ᾱ = 0.5 at t + 1. ᾱ_t is the product of the first t factors, code "
            "indices k = 0 … t − 1.", rtol=2e-5, atol=0),
    Mistake(lambda t, T=1000, beta_start=1e-4: _bisect(lambda b: _abar_at(t, T, beta_start, b, steps=t - 1)),
            "one step early: your β_end puts ᾱ = 0.5 at t − 1. ᾱ_t is the product of the first t factors, code "
            "indices k = 0 … t − 1.", rtol=2e-5, atol=0),
    Mistake(lambda t, T=1000, beta_start=1e-4: _bisect(lambda b: _abar_at(t, T, beta_start, b), target=0.25),
            "your β_end makes √ᾱ_t = 0.5 (x0's scale halved). The question asks for ᾱ_t = 0.5, the factor on x0's "
            "variance.", rtol=2e-5, atol=0),
    Mistake(lambda t, T=1000, beta_start=1e-4: reference_beta_end_for_half(500, T, beta_start),
            "your answer does not change with t: it is the β_end for t = 500. Use the argument t.",
            rtol=2e-5, atol=0),
    Mistake(lambda t, T=1000, beta_start=1e-4: reference_beta_end_for_half(t, T, 1e-4),
            "your answer ignores beta_start: with β_start = 0.001 the schedule starts at 0.001, not at 1e-4.",
            rtol=2e-5, atol=0),
)


def _check_beta_end_for_half(fn) -> None:
    require_callable(fn, "q3.check(beta_end_for_half)")
    for t, T, beta_start in BISECTION_CASES:
        got = as_number(call_student(fn, t, T=T, beta_start=beta_start),
                        f"beta_end_for_half({t}, T={T}, beta_start={beta_start})")
        abar = _abar_at(t, T, beta_start, got)
        if abs(abar - 0.5) <= BISECTION_TOL:
            continue
        label = tr("for t = {t}, T = {T}, β_start = {beta_start}", t=t, T=T, beta_start=beta_start)
        diagnose(got, BISECTION_MISTAKES, t, T, beta_start, prefix=label)
        raise Incorrect(tr("{label}: with your β_end = {got:.6g} the linear schedule has ᾱ_t = {abar:.6f}, not 0.5 "
                           "(within {tol}). ᾱ_t falls as β_end grows: narrow the interval until it brackets 0.5.",
                           label=label, got=got, abar=abar, tol=BISECTION_TOL))


q3 = Exercise(
    "Exercise 3.3 — which β_end puts ᾱ = 0.5 at step t? (bisection)",
    _check_beta_end_for_half,
    hints=[
        "Every β_s after the first grows with β_end, so ᾱ_t only falls as β_end grows: exactly one β_end gives "
        "ᾱ_t = 0.5. Find a value where ᾱ_t is still above 0.5 (β_end = β_start) and one where it is below "
        "(β_end = 1, or just below it): the answer lies between them. dl.make_schedule refuses β_end = 1 (every "
        "β_t must lie in (0, 1)), so build the β's yourself, as hint 2 says, not with make_schedule.",
        "Bisection: keep an interval [lo, hi] with ᾱ_t above 0.5 at lo and below at hi; evaluate ᾱ_t at the "
        "midpoint and let it replace the end on the same side of 0.5. Each round halves the interval, so about "
        "60 rounds reach float64 precision. ᾱ_t multiplies the first t factors 1 − β_s, code indices 0 … t − 1; "
        "the β's are evenly spaced from β_start to β_end (look up torch.linspace), in float64.",
        "What your bisection must keep true in every round: ᾱ_t > 0.5 at lo and ᾱ_t < 0.5 at hi. Check it for "
        "your starting interval before the first round, and check which end each midpoint replaces. The "
        "approximation exp(−Σβ) is not good enough here: multiply the factors themselves.",
    ],
    solution=source_of(reference_beta_end_for_half),
    reference=reference_beta_end_for_half,
    mistakes=BISECTION_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q4 — the short-T trap
# ---------------------------------------------------------------------------------------------
_T150 = make_schedule("linear", 150, warn=False)
#: √ᾱ_T for linear β 1e-4 → 0.02 with T = 150: the coefficient of x0 in x_T (the chapter prints 50, 200, 300).
T150_SCALE_LEFT = math.sqrt(_T150.signal_left())
#: The accuracy the check asks for.
T150_ACCURACY = 1e-3

_t150_abar = _T150.alphas_cumprod
# atol: how close counts as that mistake (the known values lie ≥ 0.004 from the right answer)
T150_MISTAKES = (
    # ᾱ_T for T = 150 (0.21922) and √ᾱ_T for T = 300 (0.21922, printed by section 5) agree to 4e-6: one
    # message names both causes
    Mistake(float(_t150_abar[-1]),
            Message("{value:.4f} is two wrong answers at once. It is ᾱ_T for T = 150, the share of x_T's VARIANCE "
                    "that comes from x0 (for unit-variance data): x_T = √ᾱ·x0 + √(1−ᾱ)·ε, so the coefficient of "
                    "x0 is its square root. It is also √ᾱ_T for T = 300, the value section 5 prints: build the "
                    "schedule with T = 150.", value=float(_t150_abar[-1])),
            rtol=0, atol=T150_ACCURACY),
    Mistake(math.sqrt(1 - float(_t150_abar[-1])),
            "that is the noise part, √(1−ᾱ) or 1−ᾱ. The question asks for the coefficient of x0: √ᾱ at the "
            "last step.", rtol=0, atol=T150_ACCURACY),
    Mistake(1 - float(_t150_abar[-1]),
            "that is the noise part, √(1−ᾱ) or 1−ᾱ. The question asks for the coefficient of x0: √ᾱ at the "
            "last step.", rtol=0, atol=T150_ACCURACY),
    Mistake(math.sqrt(float(_t150_abar[-2])),
            "that is one step before the end. With T = 150 the last step t = 150 has code index k = 149 (index −1), "
            "not 148.",
            rtol=0, atol=T150_ACCURACY),
    Mistake(math.sqrt(make_schedule("linear", 200, warn=False).signal_left()),
            "that is the T = 200 value section 5 prints. Build the schedule with T = 150.",
            rtol=0, atol=T150_ACCURACY),
    Mistake(math.sqrt(make_schedule("linear", 50, warn=False).signal_left()),
            "that is the T = 50 value section 5 prints. Build the schedule with T = 150.",
            rtol=0, atol=T150_ACCURACY),
    Mistake(math.sqrt(make_schedule("linear", 1000, warn=False).signal_left()),
            "that is the T = 1000 value. Build the schedule with T = 150 (the argument T of dl.make_schedule).",
            rtol=0, atol=1e-4),
)


def _check_t150(answer) -> None:
    value = as_number(answer, "the coefficient of x0 in x_T")
    check_close(value, T150_SCALE_LEFT, T150_MISTAKES, rtol=0, atol=T150_ACCURACY,
                otherwise=tr("expected √ᾱ at the last step of the T = 150 linear schedule, within {accuracy}; "
                             "got {value:.4f}.", accuracy=T150_ACCURACY, value=value))


q4 = Exercise(
    "Exercise 3.4 — how much of x0 survives to x_T with T = 150?",
    _check_t150,
    hints=[
        "x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε, so the factor in front of x0 at the last step, t = T (code index k = T − 1), "
        "is what you want: a standard deviation, not a variance. Before computing: section 5 printed 0.364 for "
        "T = 200 and 0.78 for T = 50. Where should T = 150 land?",
        "Build the linear schedule with T = 150 with dl.make_schedule (it warns — that is the point); the schedule "
        "holds √ᾱ for every step.",
        "Read √ᾱ at the last code index, k = T − 1 = 149 (index −1 in Python), and turn it into a float.",
    ],
    solution="```python\nshort = dl.make_schedule('linear', T=150)      # ScheduleWarning: x_T still holds signal\n"
             "scale_left = float(short.sqrt_alphas_cumprod[-1])   # x_T still carries this share of x0's scale\n```",
    reference=T150_SCALE_LEFT,
    mistakes=T150_MISTAKES,
)
