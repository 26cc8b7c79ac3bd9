r"""Chapter 1 exercises: 1D diffusion.

    from diffusion_lab.exercises import ch1
    ch1.q1.check(noisy)              # closed-form noising x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε
    ch1.q2.check(alphas_cumprod)     # ᾱ_1..ᾱ_T from β_1..β_T
    ch1.q3.check(abar_100)           # the number ᾱ_100 for β_t = 0.02·t/T (papers' t = 1..T)
    ch1.q4.check(posterior_mean)     # μ̃_t(x0, x_t) of q(x_{t−1} | x_t, x0)

Time convention: the maths' steps t = 1..T, x0 the data; the exercises hand the student the code index
k = t − 1 of a step, and ``alphas_cumprod[t - 1]`` (= ``alphas_cumprod[k]``) holds ᾱ_t.

Each checker compares the student's answer with the package's reference on random inputs. When the
answer is wrong it runs the exercise's table of usual mistakes (ᾱ where √ᾱ belongs, an off-by-one in
t, a constant β, swapped coefficients ...) on the same inputs and, when one of them reproduces the
student's numbers, names it.
"""
from __future__ import annotations

import torch

from ..forward import q_posterior, q_sample
from ..schedules import NoiseSchedule, make_schedule
from ..i18n import tr
from .base import (Exercise, Mistake, as_float64, as_number, call_student, check_close, max_abs_diff,
                   require_callable, source_of)

__all__ = ["q1", "q2", "q3", "q4", "noisy_reference", "alphas_cumprod_reference", "posterior_mean_reference",
           "ABAR_100", "abar_100_reference"]


def _test_schedules() -> list[NoiseSchedule]:
    return [make_schedule("linear", 1000), make_schedule("cosine", 200),
            make_schedule("linear", 50, beta_start=0.01, beta_end=0.2)]


# ---------------------------------------------------------------------------------------------
# q1 — closed-form noising
# ---------------------------------------------------------------------------------------------
def noisy_reference(alphas_cumprod, x0, k, eps):
    """x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε for step t = k + 1: ᾱ_t = alphas_cumprod[k] (k = t − 1, the code index)."""
    abar = alphas_cumprod[k]
    return abar.sqrt() * x0 + (1 - abar).sqrt() * eps


NOISY_MISTAKES = (
    Mistake(lambda a, x0, k, e: a[k] * x0 + (1 - a[k]).sqrt() * e,
            "the signal is multiplied by ᾱ_t, but it must be √ᾱ_t (a widely copied template makes exactly this "
            "mistake). Variances add: Var(√ᾱ_t x0) + Var(√(1−ᾱ_t) ε) = ᾱ_t + (1 − ᾱ_t) = 1 for unit-variance "
            "data; with ᾱ_t in front the signal shrinks far too fast."),
    Mistake(lambda a, x0, k, e: a[k].sqrt() * x0 + (1 - a[k]) * e,
            "the noise is multiplied by (1 − ᾱ_t), but 1 − ᾱ_t is its VARIANCE: the factor in front of ε is the "
            "standard deviation √(1 − ᾱ_t)."),
    Mistake(lambda a, x0, k, e: a[k] * x0 + (1 - a[k]) * e,
            "you used ᾱ_t and 1 − ᾱ_t directly, but those are variances. The factors in front of x0 and ε are "
            "their square roots: √ᾱ_t and √(1 − ᾱ_t)."),
    Mistake(lambda a, x0, k, e: a[k + 1].sqrt() * x0 + (1 - a[k + 1]).sqrt() * e,
            "off by one: you used alphas_cumprod[k + 1], which holds ᾱ_{t+1}. The index k you are given is "
            "already t − 1, so alphas_cumprod[k] (that is alphas_cumprod[t - 1]) holds ᾱ_t: use it as it is."),
    Mistake(lambda a, x0, k, e: a[k - 1].sqrt() * x0 + (1 - a[k - 1]).sqrt() * e,
            "off by one: you used alphas_cumprod[k - 1], which holds ᾱ_{t−1}, one step short. x_t has had the "
            "steps 1..t applied, and their product ᾱ_t sits at alphas_cumprod[t - 1], which is alphas_cumprod[k] "
            "for the index k = t − 1 you are given: use k as it is."),
    Mistake(lambda a, x0, k, e: (1 - a[k]).sqrt() * x0 + a[k].sqrt() * e,
            "the two factors are swapped: √ᾱ_t belongs to x0 (the signal fades as ᾱ_t falls) and √(1 − ᾱ_t) "
            "to ε (the noise grows)."),
    Mistake(lambda a, x0, k, e: a[k].sqrt() * x0,
            "you returned only the scaled signal √ᾱ_t x0; add the noise term √(1 − ᾱ_t) ε."),
)


def _check_noisy(fn) -> None:
    require_callable(fn, "q1.check(noisy)")
    gen = torch.Generator().manual_seed(11)
    for schedule in _test_schedules():
        abar_all = schedule.alphas_cumprod.clone()
        T = schedule.T
        # interior steps first (so an off-by-one cannot hide behind an IndexError), then both ends;
        # k is the code index of step t = k + 1
        for k in (T // 10, T // 2, 0, T - 1):
            x0 = torch.randn((6, 3), generator=gen, dtype=torch.float64) * 2 + 1
            eps = torch.randn((6, 3), generator=gen, dtype=torch.float64)
            expected = q_sample(schedule, x0, k, noise=eps)
            got = as_float64(call_student(fn, abar_all.clone(), x0.clone(), k, eps.clone()), "your x_t", x0.shape,
                             shape_fix="Index the schedule at the single index k, so the result has x0's shape.")
            check_close(got, expected, NOISY_MISTAKES, abar_all, x0, k, eps,
                        otherwise=tr("for step t = {t} (T = {T}; code index k = {k}) your x_t differs from "
                                     "√ᾱ_t·x0 + √(1−ᾱ_t)·ε by up to {max_abs_diff:.3g}. Check each factor, and that "
                                     "you read ᾱ_t as alphas_cumprod[k].",
                                     t=k + 1, T=T, k=k, max_abs_diff=max_abs_diff(got, expected)))


q1 = Exercise(
    "Exercise 1.1 — closed-form noising",
    _check_noisy,
    hints=[
        "x_t mixes the clean x0 and the noise ε with two factors that depend only on ᾱ_t = alphas_cumprod[k]. "
        "Which pair of factors keeps the total variance at 1 for unit-variance data?",
        "ᾱ_t and 1 − ᾱ_t are the VARIANCES of the two parts; the factors in front of x0 and ε are their "
        "standard deviations, √ᾱ_t and √(1 − ᾱ_t). The index k you are given is already t − 1: no +1 or −1.",
        "Read ᾱ at index k, take the square roots of ᾱ and of 1 − ᾱ, and return the first times x0 plus the "
        "second times eps (tensor operations, so any shape works).",
    ],
    solution=source_of(noisy_reference),
    reference=noisy_reference,
    mistakes=NOISY_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q2 — ᾱ_t from the betas
# ---------------------------------------------------------------------------------------------
def alphas_cumprod_reference(betas):
    """ᾱ_t = (1 − β_1)(1 − β_2)⋯(1 − β_t) for t = 1..T (held at index t − 1, like β_t): a running product of
    α = 1 − β."""
    return torch.cumprod(1 - betas, dim=0)


ALPHAS_CUMPROD_MISTAKES = (
    Mistake(lambda b: (1 - b) ** torch.arange(1, b.shape[0] + 1, dtype=torch.float64),
            "you raised each α_t = 1 − β_t to a power, (1 − β_t)^t, as if β were the same at every step. "
            "That is the 0.998¹⁰⁰ ≈ 0.819 mistake: β changes with t, so ᾱ_t is the product of DIFFERENT "
            "factors (1 − β_1)(1 − β_2)⋯(1 − β_t): use torch.cumprod."),
    Mistake(lambda b: torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - b, 0)[:-1]]),
            "off by one: your ᾱ_t leaves out step t's own factor (you returned ᾱ_{t−1}, starting at ᾱ_0 = 1). "
            "x_t has had the steps 1..t applied, so the first entry (index 0), ᾱ_1, is already 1 − β_1."),
    Mistake(lambda b: torch.cat([torch.cumprod(1 - b, 0)[1:], torch.cumprod(1 - b, 0)[-1:] * (1 - b[-1:])]),
            "off by one: your ᾱ_t includes the factor of step t + 1 as well."),
    Mistake(lambda b: torch.cumprod(b, 0),
            "you multiplied the β_t. ᾱ_t is the running product of α_t = 1 − β_t, the share of the signal's "
            "variance each step keeps."),
    Mistake(lambda b: 1 - torch.cumsum(b, 0),
            "1 − Σβ_s is only the first-order approximation of the product (good while Σβ is tiny, wrong later, "
            "and it even goes negative). Multiply the factors: cumprod."),
    Mistake(lambda b: torch.exp(-torch.cumsum(b, 0)),
            "exp(−Σβ_s) is an approximation (log(1 − β) ≈ −β for small β); multiply the exact factors 1 − β_s "
            "instead."),
    Mistake(lambda b: torch.cumprod((1 - b).sqrt(), 0),
            "you returned √ᾱ_t (the product of √α_s). The exercise asks for ᾱ_t itself."),
    Mistake(lambda b: 1 - b,
            "you returned α_t = 1 − β_t; ᾱ_t is their running product up to and including t."),
)


def _check_alphas_cumprod(fn) -> None:
    require_callable(fn, "q2.check(alphas_cumprod)")
    gen = torch.Generator().manual_seed(12)
    cases = [s.betas.clone() for s in _test_schedules()]
    cases.append(torch.rand(30, generator=gen, dtype=torch.float64) * 0.3 + 0.01)
    for betas in cases:
        expected = torch.cumprod(1 - betas, 0)
        got = as_float64(call_student(fn, betas.clone()), "your ᾱ", betas.shape)
        check_close(got, expected, ALPHAS_CUMPROD_MISTAKES, betas,
                    otherwise=tr("for T = {T} your ᾱ differs from the running product of (1 − β) by up to "
                                 "{max_abs_diff:.3g}.",
                                 T=betas.shape[0], max_abs_diff=max_abs_diff(got, expected)))


q2 = Exercise(
    "Exercise 1.2 — ᾱ_t from β_t",
    _check_alphas_cumprod,
    hints=[
        "α_t = 1 − β_t is the share of the variance that step t keeps. ᾱ_t collects the shares of all the "
        "steps 1..t: how do shares of shares combine?",
        "β changes from step to step, so ᾱ_t is a product of DIFFERENT factors (1 − β_1)(1 − β_2)⋯(1 − β_t), "
        "not a power of one number, and the factor of step t itself is included.",
        "Test your idea on a tiny case by hand first: for β = (0.1, 0.2), ᾱ must be (0.9, 0.72). One torch "
        "function returns running products (its name starts with cum); decide which tensor holds the per-step "
        "factors before you give it one.",
    ],
    solution=source_of(alphas_cumprod_reference),
    reference=alphas_cumprod_reference,
    mistakes=ALPHAS_CUMPROD_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q3 — the number ᾱ_100 for β_t = 0.02·t/T (papers' t = 1..T), T = 1000
# ---------------------------------------------------------------------------------------------
def abar_100_reference() -> float:
    """ᾱ_100 = ∏_{s=1}^{100} (1 − 0.02·s/1000), the papers' numbering (code indices 0..99)."""
    s = torch.arange(1, 101, dtype=torch.float64)
    return float(torch.prod(1 - 0.02 * s / 1000))


#: ≈ 0.9039, not the widely quoted 0.998¹⁰⁰ ≈ 0.819.
ABAR_100 = abar_100_reference()
#: The accuracy the exercise asks for (its text says "accurate to 5e-4").
ABAR_100_ACCURACY = 5e-4

_factors = 1 - 0.02 * torch.arange(0, 102, dtype=torch.float64) / 1000    # factor s is 1 − β_s (papers' s)
# each mistake's atol: how close a number must come to count as that mistake (a known value, computed
# in any of several ways, within 1e-3 or 2e-4 — far closer than to the right answer)
ABAR_100_MISTAKES = (
    Mistake(0.998 ** 100,
            "0.998¹⁰⁰ ≈ 0.819 treats β as if it were β_100 = 0.002 at EVERY step (the widely quoted answer). "
            "But β_s = 0.02·s/1000 grows from 0.00002: the earlier factors are much closer to 1. Multiply the "
            "100 different factors (1 − β_1)(1 − β_2)⋯(1 − β_100).", rtol=0, atol=1e-3),
    Mistake(float(torch.prod(_factors[1:100])),
            "off by one: you multiplied 99 factors (s = 1..99, or s = 0..99 with β_0 = 0). ᾱ_100 has 100 factors, "
            "s = 1..100.", rtol=0, atol=2e-4),
    Mistake(float(torch.prod(_factors[1:102])),
            "off by one: you multiplied 101 factors; ᾱ_100 has s = 1..100.", rtol=0, atol=2e-4),
    Mistake(0.998,
            "that is α_100 = 1 − β_100 alone, one factor; ᾱ_100 is the product of all 100.", rtol=0, atol=2e-4),
    Mistake(1 - float((0.02 * torch.arange(1, 101, dtype=torch.float64) / 1000).sum()),
            "1 − Σβ_s is the first-order approximation; multiply the factors instead (the difference is small "
            "here but not within 5e-4).", rtol=0, atol=2e-4),
)


def _check_abar_100(value) -> None:
    value = as_number(value, "ᾱ_100")
    check_close(value, ABAR_100, ABAR_100_MISTAKES, rtol=0, atol=ABAR_100_ACCURACY,
                otherwise=tr("{got:.4f} is not ᾱ_100 (need it within {accuracy}). Build β_s = 0.02·s/1000 "
                             "for s = 1..100 and multiply the factors (1 − β_s).",
                             got=value, accuracy=ABAR_100_ACCURACY))


q3 = Exercise(
    "Exercise 1.3 — the number ᾱ_100",
    _check_abar_100,
    hints=[
        "β_s = 0.02·s/T grows with s, so the 100 factors (1 − β_s) are all different: ᾱ_100 is not a power "
        "of one number.",
        "You need the 100 steps s = 1..100 (code indices 0..99) as a float64 tensor (look up torch.arange, and "
        "mind that its end is exclusive). Make the 100 β's from them, then multiply the factors 1 − β_s "
        "(torch.prod, or your q2 function).",
        "Check your number before you submit it: it must lie above 0.998¹⁰⁰ ≈ 0.819 (every factor as small as "
        "the last one) and below 1 (no noise at all), and it must be a plain float, not a tensor.",
    ],
    solution="```python\ns = torch.arange(1, 101, dtype=torch.float64)   # steps 1..100 = code indices 0..99\n"
             "abar_100 = float(torch.prod(1 - 0.02 * s / 1000))  # ≈ 0.9039, not 0.998**100 ≈ 0.819\n```",
    reference=ABAR_100,
    mistakes=ABAR_100_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q4 — the posterior mean μ̃_t(x0, x_t)
# ---------------------------------------------------------------------------------------------
def posterior_mean_reference(betas, x0, x_t, k):
    """μ̃_t = β_t √ᾱ_{t−1}/(1−ᾱ_t) · x0 + (1−ᾱ_{t−1}) √α_t/(1−ᾱ_t) · x_t for step t = k + 1 (k: the code
    index 0..T−1, so β_t = betas[k]), with ᾱ_0 = 1 at k = 0."""
    alphas = 1 - betas
    abar = torch.cumprod(alphas, dim=0)
    abar_prev = abar[k - 1] if k > 0 else torch.ones((), dtype=abar.dtype)     # ᾱ_{t−1}
    coef_x0 = betas[k] * abar_prev.sqrt() / (1 - abar[k])
    coef_xt = (1 - abar_prev) * alphas[k].sqrt() / (1 - abar[k])
    return coef_x0 * x0 + coef_xt * x_t


def _posterior_parts(betas, k, prev="one"):
    """(β_t, α_t, ᾱ_t, ᾱ_{t−1}) for step t = k + 1, with ᾱ_0 = 1 at k = 0 (``prev="wrap"``: Python's
    abar[-1] there, the mistake)."""
    alphas = 1 - betas
    abar = torch.cumprod(alphas, 0)
    abar_prev = abar[k - 1] if (k > 0 or prev == "wrap") else torch.ones((), dtype=abar.dtype)
    return betas[k], alphas[k], abar[k], abar_prev


def _mean_with(coef_x0, coef_xt):
    """A wrong posterior mean: ``coef_*(β_t, α_t, ᾱ_t, ᾱ_{t−1})`` in place of the right coefficients."""
    def wrong(betas, x0, x_t, k, prev="one"):
        parts = _posterior_parts(betas, k, prev)
        return coef_x0(*parts) * x0 + coef_xt(*parts) * x_t
    return wrong


def _c1(b, a, ab, abp):
    return b * abp.sqrt() / (1 - ab)


def _c2(b, a, ab, abp):
    return (1 - abp) * a.sqrt() / (1 - ab)


_wrapped = _mean_with(_c1, _c2)
POSTERIOR_MEAN_MISTAKES = (
    Mistake(_mean_with(_c2, _c1),
            "the two coefficients are swapped. β_t √ᾱ_{t−1}/(1−ᾱ_t) multiplies x0 and (1−ᾱ_{t−1}) √α_t/(1−ᾱ_t) "
            "multiplies x_t. Check at the last reverse step (t = 1, code index k = 0): there 1 − ᾱ_0 = 0, so the "
            "mean must be exactly x0."),
    Mistake(lambda betas, x0, x_t, k: _wrapped(betas, x0, x_t, k, prev="wrap"),
            "at k = 0 (step t = 1) you used alphas_cumprod[k - 1] = alphas_cumprod[-1], which Python reads as the "
            "LAST entry. Before the first step nothing has been multiplied: ᾱ_0 = 1."),
    Mistake(_mean_with(lambda b, a, ab, abp: b * ab.sqrt() / (1 - ab),
                       lambda b, a, ab, abp: (1 - ab) * a.sqrt() / (1 - ab)),
            "you used ᾱ_t where ᾱ_{t−1} belongs (in √ᾱ_{t−1} and 1 − ᾱ_{t−1}). The posterior looks one step "
            "back, so it needs the product up to the PREVIOUS step."),
    Mistake(_mean_with(_c1, lambda b, a, ab, abp: (1 - abp) * a / (1 - ab)),
            "the x_t coefficient needs √α_t, not α_t."),
    Mistake(_mean_with(lambda b, a, ab, abp: b * abp / (1 - ab), _c2),
            "the x0 coefficient needs √ᾱ_{t−1}, not ᾱ_{t−1}."),
    Mistake(_mean_with(_c1, lambda b, a, ab, abp: (1 - abp) * ab.sqrt() / (1 - ab)),
            "the x_t coefficient has √α_t (one step: α_t = 1 − β_t), not √ᾱ_t."),
    Mistake(_mean_with(lambda b, a, ab, abp: b * abp.sqrt(), lambda b, a, ab, abp: (1 - abp) * a.sqrt()),
            "both coefficients are divided by 1 − ᾱ_t; you left that out."),
)


def _check_posterior_mean(fn) -> None:
    require_callable(fn, "q4.check(posterior_mean)")
    gen = torch.Generator().manual_seed(14)
    for schedule in _test_schedules():
        betas = schedule.betas.clone()
        T = schedule.T
        for k in (T // 3, T - 1, 1, 0):                  # code indices k = t − 1
            x0 = torch.randn((5, 2), generator=gen, dtype=torch.float64) * 2
            x_t = torch.randn((5, 2), generator=gen, dtype=torch.float64)
            expected, _, _ = q_posterior(schedule, x0, x_t, k)
            got = as_float64(call_student(fn, betas.clone(), x0.clone(), x_t.clone(), k), "your μ̃", x0.shape)
            check_close(got, expected, POSTERIOR_MEAN_MISTAKES, betas, x0, x_t, k,
                        otherwise=tr("for step t = {t} (T = {T}; code index k = {k}) your μ̃ differs from the "
                                     "posterior mean by up to {max_abs_diff:.3g}. Check the two coefficients and "
                                     "remember ᾱ_0 = 1 at k = 0 (step t = 1).",
                                     t=k + 1, T=T, k=k, max_abs_diff=max_abs_diff(got, expected)))


q4 = Exercise(
    "Exercise 1.4 — the posterior mean μ̃_t(x0, x_t)",
    _check_posterior_mean,
    hints=[
        "μ̃_t is a weighted sum a·x0 + b·x_t; section 4(a) gives the two weights. Start from α = 1 − β and its "
        "running products ᾱ (your function of exercise 1.2 computes them).",
        "The weight of x0 is β_t·√ᾱ_{t−1}/(1−ᾱ_t), the weight of x_t is (1−ᾱ_{t−1})·√α_t/(1−ᾱ_t). With k = t − 1 "
        "the code index: β_t is betas[k], ᾱ_t is abar[k], and ᾱ_{t−1} is abar[k − 1] for k > 0 and ᾱ_0 = 1 at "
        "k = 0 (careful: abar[−1] is the LAST entry in Python).",
        "Compute α and ᾱ from betas; read β_t, α_t and ᾱ_t at index k and ᾱ_{t−1} at index k − 1, except at k = 0, "
        "where it is 1 (a float64 one, not abar[−1]); then return the weight of hint 2 times x0 plus the other "
        "weight times x_t.",
    ],
    solution=source_of(posterior_mean_reference),
    reference=posterior_mean_reference,
    mistakes=POSTERIOR_MEAN_MISTAKES,
)
