r"""Chapter 1 exercises: 1D diffusion.

    from diffusion_lab.exercises import ch1
    ch1.q1.check(noisy)              # closed-form noising x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε
    ch1.q2.check(alphas_cumprod)     # ᾱ_t from β_0..β_{T−1}
    ch1.q3.check(abar_100)           # the number ᾱ_100 for β_t = 0.02·t/T (papers' t = 1..T)
    ch1.q4.check(posterior_mean)     # μ̃_t(x0, x_t) of q(x_{t−1} | x_t, x0)

Each checker compares the student's answer with the package's reference on random inputs. When the
answer is wrong it also tries the usual mistakes (ᾱ where √ᾱ belongs, an off-by-one in t, a constant
β, swapped coefficients ...) and, when one of them reproduces the student's numbers, names it.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from ..forward import q_posterior, q_sample
from ..schedules import NoiseSchedule, make_schedule
from .base import Exercise, Incorrect, call_student, source_of

__all__ = ["q1", "q2", "q3", "q4", "noisy_reference", "alphas_cumprod_reference", "posterior_mean_reference",
           "ABAR_100", "abar_100_reference"]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _as_float64(out, name: str, shape) -> torch.Tensor:
    """The student's output as a float64 tensor of the expected shape, or a hint saying why not."""
    try:
        out = torch.as_tensor(out, dtype=torch.float64)
    except Exception:
        raise Incorrect(f"{name} should return a tensor (or numpy array), got {type(out).__name__}.") from None
    if tuple(out.shape) != tuple(shape):
        if out.numel() == math.prod(shape):
            out = out.reshape(shape)
        else:
            raise Incorrect(f"{name} returned shape {tuple(out.shape)}, expected {tuple(shape)}. "
                            f"Index the schedule at the single step t, so the result has the input's shape.")
    if not bool(torch.isfinite(out).all()):
        raise Incorrect(f"{name} returned NaN or inf values. Look for a division by zero or the square root "
                        f"of a negative number.")
    return out


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-6) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=tol, atol=tol))


def _diagnose(got: torch.Tensor, mistakes: dict[str, tuple[Callable[[], torch.Tensor], str]]) -> None:
    """Raise the hint of the first known mistake that reproduces ``got``."""
    for _name, (make, hint) in mistakes.items():
        try:
            candidate = make()
        except (IndexError, RuntimeError, ValueError):
            continue
        if _close(got, candidate.to(torch.float64)):
            raise Incorrect(hint)


def _test_schedules() -> list[NoiseSchedule]:
    return [make_schedule("linear", 1000), make_schedule("cosine", 200),
            make_schedule("linear", 50, beta_start=0.01, beta_end=0.2)]


# ---------------------------------------------------------------------------------------------
# q1 — closed-form noising
# ---------------------------------------------------------------------------------------------
def noisy_reference(x0, t, alphas_cumprod, eps):
    """x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε, with ᾱ_t = alphas_cumprod[t] (code step t = 0..T−1)."""
    abar = alphas_cumprod[t]
    return abar.sqrt() * x0 + (1 - abar).sqrt() * eps


def _check_noisy(fn) -> None:
    if not callable(fn):
        raise Incorrect(f"pass your function itself, e.g. q1.check(noisy), not {type(fn).__name__}.")
    gen = torch.Generator().manual_seed(11)
    for schedule in _test_schedules():
        abar_all = schedule.alphas_cumprod.clone()
        T = schedule.T
        # interior steps first (so an off-by-one cannot hide behind an IndexError), then both ends
        for t in (T // 10, T // 2, 0, T - 1):
            x0 = torch.randn((6, 3), generator=gen, dtype=torch.float64) * 2 + 1
            eps = torch.randn((6, 3), generator=gen, dtype=torch.float64)
            expected = q_sample(schedule, x0, t, noise=eps)
            got = _as_float64(call_student(fn, x0.clone(), t, abar_all.clone(), eps.clone()), "noisy", x0.shape)
            if _close(got, expected):
                continue
            at = abar_all.__getitem__                                   # at(i) = ᾱ_i
            mistakes = {
                "abar_not_sqrt": (lambda: at(t) * x0 + (1 - at(t)).sqrt() * eps,
                                  "the signal is multiplied by ᾱ_t, but it must be √ᾱ_t (this is the mistake in one of "
                                  "the course texts' templates). Variances add: Var(√ᾱ_t x0) + Var(√(1−ᾱ_t) ε) = "
                                  "ᾱ_t + (1 − ᾱ_t) = 1 for unit-variance data; with ᾱ_t in front the signal shrinks "
                                  "far too fast."),
                "noise_not_sqrt": (lambda: at(t).sqrt() * x0 + (1 - at(t)) * eps,
                                   "the noise is multiplied by (1 − ᾱ_t), but 1 − ᾱ_t is its VARIANCE: the factor "
                                   "in front of ε is the standard deviation √(1 − ᾱ_t)."),
                "neither_sqrt": (lambda: at(t) * x0 + (1 - at(t)) * eps,
                                 "you used ᾱ_t and 1 − ᾱ_t directly, but those are variances. The factors in front "
                                 "of x0 and ε are their square roots: √ᾱ_t and √(1 − ᾱ_t)."),
                "t_plus_1": (lambda: at(t + 1).sqrt() * x0 + (1 - at(t + 1)).sqrt() * eps,
                             "off by one: you used alphas_cumprod[t + 1]. In code the steps are already "
                             "t = 0..T−1 (the papers' 1..T), so alphas_cumprod[t] is the right entry."),
                "t_minus_1": (lambda: at(t - 1).sqrt() * x0 + (1 - at(t - 1)).sqrt() * eps,
                              "off by one: you used alphas_cumprod[t − 1]. Code step t is the papers' t + 1, and "
                              "x_t has had steps 0..t applied, so use alphas_cumprod[t] itself."),
                "swapped": (lambda: (1 - at(t)).sqrt() * x0 + at(t).sqrt() * eps,
                            "the two factors are swapped: √ᾱ_t belongs to x0 (the signal fades as ᾱ_t falls) and "
                            "√(1 − ᾱ_t) to ε (the noise grows)."),
                "no_noise": (lambda: at(t).sqrt() * x0,
                             "you returned only the scaled signal √ᾱ_t x0; add the noise term √(1 − ᾱ_t) ε."),
            }
            _diagnose(got, mistakes)
            err = float((got - expected).abs().max())
            raise Incorrect(f"for t = {t} (T = {T}) your x_t differs from √ᾱ_t·x0 + √(1−ᾱ_t)·ε by up to "
                            f"{err:.3g}. Check each factor, and that you index alphas_cumprod[t].")


q1 = Exercise(
    "Exercise 1.1 — closed-form noising",
    _check_noisy,
    hint="x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε with ᾱ_t = alphas_cumprod[t]. Both factors are square roots: ᾱ_t and "
         "1 − ᾱ_t are variances. Code step t needs no +1 or −1.",
    solution=source_of(noisy_reference),
    reference=noisy_reference,
)


# ---------------------------------------------------------------------------------------------
# q2 — ᾱ_t from the betas
# ---------------------------------------------------------------------------------------------
def alphas_cumprod_reference(betas):
    """ᾱ_t = (1 − β_0)(1 − β_1)⋯(1 − β_t) for t = 0..T−1: a running product of α = 1 − β."""
    return torch.cumprod(1 - betas, dim=0)


def _check_alphas_cumprod(fn) -> None:
    if not callable(fn):
        raise Incorrect(f"pass your function itself, e.g. q2.check(alphas_cumprod), not {type(fn).__name__}.")
    gen = torch.Generator().manual_seed(12)
    cases = [s.betas.clone() for s in _test_schedules()]
    cases.append(torch.rand(30, generator=gen, dtype=torch.float64) * 0.3 + 0.01)
    for betas in cases:
        expected = torch.cumprod(1 - betas, 0)
        got = _as_float64(call_student(fn, betas.clone()), "alphas_cumprod", betas.shape)
        if _close(got, expected, 1e-9):
            continue
        T = betas.shape[0]
        steps = torch.arange(1, T + 1, dtype=torch.float64)
        mistakes = {
            "constant_beta": (lambda: (1 - betas) ** steps,
                              "you raised each α_t = 1 − β_t to a power, (1 − β_t)^(t+1), as if β were the same "
                              "at every step. That is the 0.998¹⁰⁰ ≈ 0.819 mistake: β changes with t, so ᾱ_t is "
                              "the product of DIFFERENT factors (1 − β_0)(1 − β_1)⋯(1 − β_t): use torch.cumprod."),
            "exclusive": (lambda: torch.cat([torch.ones(1, dtype=torch.float64), expected[:-1]]),
                          "off by one: your ᾱ_t leaves out step t's own factor (you returned ᾱ_{t−1}, starting "
                          "at 1). In code x_t has had steps 0..t applied, so ᾱ_0 = 1 − β_0 already."),
            "shifted": (lambda: torch.cat([expected[1:], expected[-1:] * (1 - betas[-1:])]),
                        "off by one: your ᾱ_t includes the factor of step t + 1 as well."),
            "betas_product": (lambda: torch.cumprod(betas, 0),
                              "you multiplied the β_t. ᾱ_t is the running product of α_t = 1 − β_t, the share "
                              "of the signal's variance each step keeps."),
            "sum_approx": (lambda: 1 - torch.cumsum(betas, 0),
                           "1 − Σβ_s is only the first-order approximation of the product (good while Σβ is "
                           "tiny, wrong later, and it even goes negative). Multiply the factors: cumprod."),
            "exp_sum": (lambda: torch.exp(-torch.cumsum(betas, 0)),
                        "exp(−Σβ_s) is an approximation (log(1 − β) ≈ −β for small β); multiply the exact "
                        "factors 1 − β_s instead."),
            "sqrt": (lambda: torch.cumprod((1 - betas).sqrt(), 0),
                     "you returned √ᾱ_t (the product of √α_s). The exercise asks for ᾱ_t itself."),
            "alphas": (lambda: 1 - betas,
                       "you returned α_t = 1 − β_t; ᾱ_t is their running product up to and including t."),
        }
        _diagnose(got, mistakes)
        err = float((got - expected).abs().max())
        raise Incorrect(f"for T = {T} your ᾱ differs from the running product of (1 − β) by up to {err:.3g}.")


q2 = Exercise(
    "Exercise 1.2 — ᾱ_t from β_t",
    _check_alphas_cumprod,
    hint="α_t = 1 − β_t is the share of variance step t keeps; ᾱ_t multiplies the shares of steps 0..t. "
         "torch.cumprod(x, dim=0) returns the running products [x_0, x_0·x_1, ...].",
    solution=source_of(alphas_cumprod_reference),
    reference=alphas_cumprod_reference,
)


# ---------------------------------------------------------------------------------------------
# q3 — the number ᾱ_100 for β_t = 0.02·t/T (papers' t = 1..T), T = 1000
# ---------------------------------------------------------------------------------------------
def abar_100_reference() -> float:
    """ᾱ_100 = ∏_{s=1}^{100} (1 − 0.02·s/1000), the papers' numbering (code steps 0..99)."""
    s = torch.arange(1, 101, dtype=torch.float64)
    return float(torch.prod(1 - 0.02 * s / 1000))


#: ≈ 0.9042: the correct answer to the course texts' exercise 1.1 (the texts say 0.819).
ABAR_100 = abar_100_reference()


def _check_abar_100(value) -> None:
    if callable(value):
        value = call_student(value)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise Incorrect(f"give ᾱ_100 as a number (a float), got {type(value).__name__}.") from None
    if abs(value - ABAR_100) <= 5e-4:
        return
    s = torch.arange(0, 102, dtype=torch.float64)
    factors = 1 - 0.02 * s / 1000                                    # factor s is 1 − β_s (papers' s)
    known = [
        (0.998 ** 100, 1e-3, "0.998¹⁰⁰ ≈ 0.819 treats β as if it were β_100 = 0.002 at EVERY step (the course "
                       "text's answer). But β_s = 0.02·s/1000 grows from 0.00002 — the earlier factors are much "
                       "closer to 1. Multiply the 100 different factors (1 − β_1)(1 − β_2)⋯(1 − β_100)."),
        (float(torch.prod(factors[1:100])), 2e-4, "off by one: you multiplied 99 factors (s = 1..99, or s = 0..99 with "
                                            "β_0 = 0). ᾱ_100 has 100 factors, s = 1..100."),
        (float(torch.prod(factors[1:102])), 2e-4, "off by one: you multiplied 101 factors; ᾱ_100 has s = 1..100."),
        (0.998, 2e-4, "that is α_100 = 1 − β_100 alone, one factor; ᾱ_100 is the product of all 100."),
        (1 - float((0.02 * s[1:101] / 1000).sum()), 2e-4, "1 − Σβ_s is the first-order approximation; multiply the factors "
                                                   "instead (the difference is small here but not within 5e-4)."),
    ]
    for wrong, tol, hint in known:              # tol: how close counts as "that mistake"
        if abs(value - wrong) <= tol:
            raise Incorrect(hint)
    raise Incorrect(f"{value:.4f} is not ᾱ_100 (need it within 5e-4). Build β_s = 0.02·s/1000 for s = 1..100 "
                    f"and multiply the factors (1 − β_s).")


q3 = Exercise(
    "Exercise 1.3 — the number ᾱ_100",
    _check_abar_100,
    hint="β_s = 0.02·s/T for s = 1..T (papers' numbering) changes every step, so ᾱ_100 is not a power of one "
         "number. Make the 100 β's with torch.arange(1, 101), then use torch.prod (or your q2 function).",
    solution="```python\ns = torch.arange(1, 101, dtype=torch.float64)   # papers' steps 1..100 = code steps 0..99\n"
             "abar_100 = float(torch.prod(1 - 0.02 * s / 1000))  # ≈ 0.9042, not 0.998**100 ≈ 0.819\n```",
    reference=ABAR_100,
)


# ---------------------------------------------------------------------------------------------
# q4 — the posterior mean μ̃_t(x0, x_t)
# ---------------------------------------------------------------------------------------------
def posterior_mean_reference(x0, x_t, t, betas):
    """μ̃_t = β_t √ᾱ_{t−1}/(1−ᾱ_t) · x0 + (1−ᾱ_{t−1}) √α_t/(1−ᾱ_t) · x_t, with ᾱ_{−1} = 1 (code t = 0..T−1)."""
    alphas = 1 - betas
    abar = torch.cumprod(alphas, dim=0)
    abar_prev = abar[t - 1] if t > 0 else torch.ones((), dtype=abar.dtype)
    coef_x0 = betas[t] * abar_prev.sqrt() / (1 - abar[t])
    coef_xt = (1 - abar_prev) * alphas[t].sqrt() / (1 - abar[t])
    return coef_x0 * x0 + coef_xt * x_t


def _check_posterior_mean(fn) -> None:
    if not callable(fn):
        raise Incorrect(f"pass your function itself, e.g. q4.check(posterior_mean), not {type(fn).__name__}.")
    gen = torch.Generator().manual_seed(14)
    for schedule in _test_schedules():
        betas = schedule.betas.clone()
        T = schedule.T
        for t in (T // 3, T - 1, 1, 0):
            x0 = torch.randn((5, 2), generator=gen, dtype=torch.float64) * 2
            x_t = torch.randn((5, 2), generator=gen, dtype=torch.float64)
            expected, _, _ = q_posterior(schedule, x0, x_t, t)
            got = _as_float64(call_student(fn, x0.clone(), x_t.clone(), t, betas.clone()), "posterior_mean", x0.shape)
            if _close(got, expected):
                continue
            b, a = schedule.betas, schedule.alphas
            ab, abp = schedule.alphas_cumprod, schedule.alphas_cumprod_prev
            c1, c2 = schedule.posterior_mean_coef1[t], schedule.posterior_mean_coef2[t]
            mistakes = {
                "swapped": (lambda: c2 * x0 + c1 * x_t,
                            "the two coefficients are swapped. β_t √ᾱ_{t−1}/(1−ᾱ_t) multiplies x0 and "
                            "(1−ᾱ_{t−1}) √α_t/(1−ᾱ_t) multiplies x_t. Check at t = 0: then 1 − ᾱ_{−1} = 0, so "
                            "the mean must be exactly x0."),
                "wrapped_prev": (lambda: (b[t] * ab[t - 1].sqrt() * x0 + (1 - ab[t - 1]) * a[t].sqrt() * x_t) / (1 - ab[t]),
                                 "at t = 0 you used alphas_cumprod[t − 1] = alphas_cumprod[−1], which Python reads "
                                 "as the LAST entry. Before the first step nothing has been multiplied: ᾱ_{−1} = 1."),
                "abar_t_for_prev": (lambda: (b[t] * ab[t].sqrt() * x0 + (1 - ab[t]) * a[t].sqrt() * x_t) / (1 - ab[t]),
                                    "you used ᾱ_t where ᾱ_{t−1} belongs (in √ᾱ_{t−1} and 1 − ᾱ_{t−1}). The posterior "
                                    "looks one step back, so it needs the product up to the PREVIOUS step."),
                "alpha_not_sqrt": (lambda: c1 * x0 + (1 - abp[t]) * a[t] / (1 - ab[t]) * x_t,
                                   "the x_t coefficient needs √α_t, not α_t."),
                "abar_prev_not_sqrt": (lambda: b[t] * abp[t] / (1 - ab[t]) * x0 + c2 * x_t,
                                       "the x0 coefficient needs √ᾱ_{t−1}, not ᾱ_{t−1}."),
                "sqrt_abar_for_alpha": (lambda: c1 * x0 + (1 - abp[t]) * ab[t].sqrt() / (1 - ab[t]) * x_t,
                                        "the x_t coefficient has √α_t (one step: α_t = 1 − β_t), not √ᾱ_t."),
                "no_denominator": (lambda: b[t] * abp[t].sqrt() * x0 + (1 - abp[t]) * a[t].sqrt() * x_t,
                                   "both coefficients are divided by 1 − ᾱ_t; you left that out."),
            }
            _diagnose(got, mistakes)
            err = float((got - expected).abs().max())
            raise Incorrect(f"for t = {t} (T = {T}) your μ̃ differs from the posterior mean by up to {err:.3g}. "
                            f"Check the two coefficients and remember ᾱ_{{−1}} = 1 at t = 0.")


q4 = Exercise(
    "Exercise 1.4 — the posterior mean μ̃_t(x0, x_t)",
    _check_posterior_mean,
    hint="μ̃_t = β_t·√ᾱ_{t−1}/(1−ᾱ_t)·x0 + (1−ᾱ_{t−1})·√α_t/(1−ᾱ_t)·x_t. Make α = 1 − β and ᾱ with cumprod; "
         "ᾱ_{t−1} is abar[t − 1] for t > 0 and 1 at t = 0 (careful: abar[−1] is the last entry in Python).",
    solution=source_of(posterior_mean_reference),
    reference=posterior_mean_reference,
)
