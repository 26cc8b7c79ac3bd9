r"""Chapter 7 exercises — the probability-flow ODE in σ and its solvers.

q1  euler_sigma_step(x_tilde, sigma_t, sigma_s, eps_hat): one Euler step x̃_s = x̃_t + (σ_s − σ_t)·ε̂,
    checked against a DDIM step (η = 0) of the package
q2  heun_step(eps_fn, x_tilde, sigma_t, sigma_s): Heun's correction (average of the slopes at both ends;
    a plain Euler step, with one call, when σ_s = 0)
q3  dpmpp_2m_step(x_tilde, sigma_t, sigma_s, x0_t, sigma_prev, x0_prev): one DPM-Solver++(2M) step from its
    derivation (the chapter gives the exact-for-constant-x̂0 update and says where D is read; the student
    builds the line in λ = −log σ and reads it at the step's middle)
q4  ancestral_sigmas(sigma_t, sigma_s, eta): (σ_up, σ_down) of Euler ancestral, derived from "noise
    variances add" and "η = 1 is DDPM's posterior step" (no formula for them is printed in the chapter)
q5  estimate_order(step_counts, errors): the order p of error ≈ C·N^(−p), from a least-squares line
    through (log N, log error)
q6  karras_grid(sigma_max, sigma_min, n, rho): Karras' levels, from "evenly spaced in σ^(1/ρ)"

What each asks beyond a printed formula (issue 19): q1 applies Euler's method to dx̃/dσ = ε̂ with a falling
σ (the chapter derives DDIM = Euler only after the exercise, and in x); q2 turns a described method into
code and decides the call count at σ_s = 0; q5 linearises a power law; q3 the line through two points in
λ and its value at the middle; q4 a conditional variance of a sum of Gaussians; q6 an inverse transform.

x̃ = x_t/√ᾱ_t = x0 + σ_t ε is the scaled sample, σ_t = √((1−ᾱ_t)/ᾱ_t) for the maths' steps t = 1..T and
σ_0 = 0 (the data, ᾱ_0 = 1); in code σ_t and ᾱ_t sit at index t − 1.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import sampling as _sampling
from ..sampling import ddim_steps, karras_sigmas
from ..schedules import make_schedule
from ..i18n import tr
from .base import (Exercise, Incorrect, Mistake, as_float64, as_number, call_student, check_close, close, diagnose,
                   max_abs_diff, package_functions, refuse_package_answer, require_callable, source_of)

__all__ = ["q1", "q2", "q5", "q3", "q4", "q6", "reference_euler_sigma_step", "reference_heun_step",
           "reference_estimate_order", "reference_dpmpp_2m_step", "reference_ancestral_sigmas",
           "reference_karras_grid", "mixture_eps"]

_SCHEDULE = make_schedule("linear", 1000)


# ---------------------------------------------------------------------------------------------
# q1 — an Euler step in σ, checked against DDIM
# ---------------------------------------------------------------------------------------------
def reference_euler_sigma_step(x_tilde, sigma_t, sigma_s, eps_hat):
    """Euler on dx̃/dσ = ε̂ from σ_t down to σ_s: x̃_s = x̃_t + (σ_s − σ_t)·ε̂ (= x̂0 + σ_s·ε̂)."""
    return x_tilde + (sigma_s - sigma_t) * eps_hat


EULER_MISTAKES = (
    Mistake(lambda x, st, ss, e: x + (st - ss) * e,
            "the step goes the wrong way: σ falls from σ_t to σ_s, so the step is (σ_s − σ_t)·ε̂, a negative "
            "multiple of ε̂ — sampling removes noise."),
    Mistake(lambda x, st, ss, e: x - st * e,
            "you returned x̂0 = x̃_t − σ_t·ε̂, a jump all the way to σ = 0. Go only down to σ_s: add σ_s·ε̂ back."),
    Mistake(lambda x, st, ss, e: x + (ss ** 2 - st ** 2) * e,
            "the step uses variances σ² instead of the noise levels σ: dx̃/dσ = ε̂, so the step is (σ_s − σ_t)·ε̂."),
    Mistake(lambda x, st, ss, e: x - ss * e,
            "you subtracted σ_s·ε̂: x̂0 is x̃_t − σ_t·ε̂ (the current level), and the step adds σ_s·ε̂ back."),
)


def _ddim_one_step(x_t, t, s, eps_hat):
    """x_s of one DDIM step (η = 0) of the package from step t down to step s (the maths' 1..T; s = 0: to x0),
    ε̂ fixed. The package takes code indices t − 1 and s − 1."""
    timesteps = [t - 1] if s == 0 else [t - 1, s - 1]
    steps = ddim_steps(lambda x, t_batch: eps_hat, _SCHEDULE, x_t.clone(), timesteps=timesteps,
                       generator=torch.Generator().manual_seed(0))      # η = 0 draws (unused) noise: not the global RNG
    return next(iter(steps)).x_prev


def _check_euler(fn) -> None:
    require_callable(fn, "q1.check(euler_sigma_step)")
    # σ_t and √ᾱ_t for the maths' t = 0..T: σ_0 = 0 and √ᾱ_0 = 1 (the data), then the schedule's index t − 1
    sigma = [0.0] + _SCHEDULE.sqrt_recipm1_alphas_cumprod.tolist()
    scale = [1.0] + _SCHEDULE.sqrt_alphas_cumprod.tolist()
    gen = torch.Generator().manual_seed(7)
    for t, s in ((1000, 901), (501, 301), (41, 1), (21, 0)):          # from step t down to step s
        x_t = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        eps_hat = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        sigma_s, scale_s = sigma[s], scale[s]
        args = (x_t / scale[t], sigma[t], sigma_s, eps_hat)
        out = as_float64(call_student(fn, args[0].clone(), args[1], args[2], args[3].clone()), "x̃_s", x_t.shape,
                         shape_fix="One step keeps x̃'s shape.")
        ddim = _ddim_one_step(x_t, t, s, eps_hat)
        # compared in x̃: the DDIM step, divided by √ᾱ_s, is the scaled sample at σ_s
        check_close(out, ddim / scale_s, EULER_MISTAKES, *args,
                    otherwise=tr("from σ_t = {sigma_t:.4g} (t = {t}) to σ_s = {sigma_s:.4g} (s = {s}): √ᾱ_s times your "
                                 "x̃_s differs from the package's DDIM step by up to {max_abs_diff:.3g}.",
                                 sigma_t=sigma[t], t=t, sigma_s=sigma_s, s=s,
                                 max_abs_diff=max_abs_diff(out * scale_s, ddim)))


q1 = Exercise(
    "Exercise 7.1 — an Euler step in σ (= DDIM)",
    _check_euler,
    hints=[
        "Euler's method: new value = old value + step × slope at the start. Which variable takes the step here, "
        "from which value to which, and what does the ODE say the slope is?",
        "The variable is σ, from σ_t down to σ_s: the step is negative (sampling removes noise). The slope dx̃/dσ "
        "is ε̂, the same all along an Euler step. Once it passes, regroup your answer around x̂0 (the prediction "
        "of the data at σ_t): which chapter 5 step does it become?",
    ],
    solution=source_of(reference_euler_sigma_step),
    reference=reference_euler_sigma_step,
    mistakes=EULER_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q2 — Heun's correction
# ---------------------------------------------------------------------------------------------
def reference_heun_step(eps_fn, x_tilde, sigma_t, sigma_s):
    """Heun on dx̃/dσ = ε̂(x̃, σ): an Euler trial step, then the step with the average of the slopes at both
    ends; at σ_s = 0 (no network there) the Euler step itself."""
    h = sigma_s - sigma_t
    d_start = eps_fn(x_tilde, sigma_t)
    x_trial = x_tilde + h * d_start
    if sigma_s == 0:
        return x_trial
    d_end = eps_fn(x_trial, sigma_s)
    return x_tilde + h * 0.5 * (d_start + d_end)


_MEANS = torch.tensor([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]], dtype=torch.float64)
_STD = 0.3


def mixture_eps(x_tilde, sigma):
    """The exact ε*(x̃, σ) for three equal Gaussians N(μ_k, 0.3² I) at any noise level σ > 0:
    σ Σ_k r_k (x̃ − μ_k)/(0.3² + σ²), r_k the posterior weight of component k (nonlinear in x̃)."""
    var = _STD ** 2 + sigma ** 2
    diff = x_tilde[:, None, :] - _MEANS                                       # (n, K, 2)
    resp = torch.softmax(-0.5 * (diff ** 2).sum(-1) / var, dim=1)             # equal weights and variances
    return sigma * (resp[:, :, None] * diff).sum(1) / var


_PACKAGE_HEUN = package_functions(_sampling, "heun_steps")
_PACKAGE_ORDER = package_functions(_sampling, "convergence_order", "convergence_errors")
_PACKAGE_DPMPP = package_functions(_sampling, "dpmpp_2m_update", "_dpmpp_2m", "dpmpp_2m_steps", "exact_flow_step")
_PACKAGE_ANCESTRAL = package_functions(_sampling, "ancestral_sigmas", "euler_ancestral_steps")
_PACKAGE_KARRAS = package_functions(_sampling, "karras_sigmas", "sigma_timesteps")


class _CountingEps:
    """``mixture_eps`` that records every noise level it is called at."""

    def __init__(self):
        self.sigmas: list[float] = []

    def __call__(self, x_tilde, sigma):
        sigma = float(sigma)
        self.sigmas.append(sigma)
        if sigma <= 0:
            raise Incorrect(tr("your heun_step called eps_fn at σ = 0. There is no network at σ = 0 (x̃ is then x0 "
                               "itself): when sigma_s == 0, return the Euler step without a second call."))
        return mixture_eps(torch.as_tensor(x_tilde, dtype=torch.float64), sigma)


def _heun_mistake(combine, second_at=lambda x, x_trial: x_trial, calls_twice=True):
    """A wrong Heun step written as a student would, through ``eps_fn``: the trial step, then (if
    ``calls_twice``) a second slope at ``second_at(x, x_trial)`` and σ_s, combined by
    ``combine(x, h, d_start, d_end, x_trial)``."""
    def wrong(eps_fn, x, st, ss):
        h = ss - st
        d_start = eps_fn(x, st)
        x_trial = x + h * d_start
        if ss == 0:
            return x_trial
        d_end = eps_fn(second_at(x, x_trial), ss) if calls_twice else None
        return combine(x, h, d_start, d_end, x_trial)
    return wrong


HEUN_MISTAKES = (
    Mistake(_heun_mistake(lambda x, h, d1, d2, xe: xe, calls_twice=False),
            "you returned the Euler trial step: Heun evaluates the slope again at the trial point and redoes the "
            "step from x̃_t with the average ½(ε̂_start + ε̂_end)."),
    Mistake(_heun_mistake(lambda x, h, d1, d2, xe: x + h * d2),
            "you used the slope at the end alone: Heun averages both, ½(ε̂(x̃_t, σ_t) + ε̂(x̃', σ_s))."),
    Mistake(_heun_mistake(lambda x, h, d1, d2, xe: x + h * (d1 + d2)),
            "the two slopes are added, not averaged: the step is (σ_s − σ_t)·½(ε̂_start + ε̂_end)."),
    Mistake(_heun_mistake(lambda x, h, d1, d2, xe: xe + h * 0.5 * (d1 + d2)),
            "the corrected step starts from the trial point x̃'; it must start again from x̃_t: "
            "x̃_s = x̃_t + (σ_s − σ_t)·½(ε̂_start + ε̂_end)."),
    Mistake(_heun_mistake(lambda x, h, d1, d2, xe: x + h * 0.5 * (d1 + d2), second_at=lambda x, xe: x),
            "the second slope is taken at x̃_t; Heun takes it at the END of the trial step, ε̂(x̃', σ_s) with "
            "x̃' = x̃_t + (σ_s − σ_t)·ε̂(x̃_t, σ_t)."),
)


def _check_heun(fn) -> None:
    require_callable(fn, "q2.check(heun_step)")
    refuse_package_answer(fn, _PACKAGE_HEUN)
    gen = torch.Generator().manual_seed(8)
    for sigma_t, sigma_s in ((10.0, 3.0), (1.0, 0.4), (0.5, 0.0)):
        x_tilde = 2.0 * torch.randn(16, 2, generator=gen, dtype=torch.float64) * (1 + sigma_t)
        counting = _CountingEps()
        got = call_student(fn, counting, x_tilde.clone(), sigma_t, sigma_s)
        out = as_float64(got, "x̃_s", x_tilde.shape, shape_fix="One step keeps x̃'s shape.")
        ref = reference_heun_step(mixture_eps, x_tilde, sigma_t, sigma_s)
        if not close(out, ref):                   # a wrong value: a typical mistake's own hint first
            diagnose(out, HEUN_MISTAKES, mixture_eps, x_tilde, sigma_t, sigma_s)
        expected_calls = 1 if sigma_s == 0 else 2
        if len(counting.sigmas) != expected_calls:
            where = (tr("at σ_t and at the end of the trial step (σ_s).") if expected_calls == 2
                     else tr("only at σ_t (no network at σ = 0)."))
            raise Incorrect(tr("from σ_t = {sigma_t} to σ_s = {sigma_s} your heun_step called eps_fn {calls} time(s) "
                               "at σ = {sigmas}; Heun needs {expected}: {where}", sigma_t=sigma_t, sigma_s=sigma_s,
                               calls=len(counting.sigmas), sigmas=counting.sigmas, expected=expected_calls,
                               where=where))
        check_close(out, ref, HEUN_MISTAKES, mixture_eps, x_tilde, sigma_t, sigma_s,
                    otherwise=tr("from σ_t = {sigma_t} to σ_s = {sigma_s} your x̃_s differs from Heun's by up to "
                                 "{max_abs_diff:.3g}.",
                                 sigma_t=sigma_t, sigma_s=sigma_s, max_abs_diff=max_abs_diff(out, ref)))


q2 = Exercise(
    "Exercise 7.2 — Heun's correction",
    _check_heun,
    hints=[
        "First an Euler step to σ_s as a trial. Then ask eps_fn for the slope at that trial point, and redo the "
        "step from the start with the average of the two slopes.",
        "Count the calls: two when σ_s > 0 (the slope at x̃_t, σ_t and the slope at the end of the trial step, "
        "at σ_s); one when σ_s = 0, where there is no network — then the trial step itself is the answer. The "
        "redone step starts again from x̃_t, not from the trial point.",
    ],
    solution=source_of(reference_heun_step),
    reference=reference_heun_step,
    mistakes=HEUN_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q5 — a convergence order from measured errors
# ---------------------------------------------------------------------------------------------
def reference_estimate_order(step_counts, errors):
    """p in error ≈ C·N^(−p): minus the slope of the least-squares line through (log N, log error)."""
    slope = np.polyfit(np.log(np.asarray(step_counts, dtype=float)), np.log(np.asarray(errors, dtype=float)), 1)[0]
    return -float(slope)


def _two_point(n, e):
    return -math.log(e[-1] / e[0]) / math.log(n[-1] / n[0])


ORDER_MISTAKES = (
    Mistake(lambda n, e: -reference_estimate_order(n, e),
            "the sign: the error FALLS as N grows, so the slope of log error against log N is negative; the order p "
            "is minus that slope (a positive number: 1 for Euler, 2 for Heun)."),
    Mistake(lambda n, e: -float(np.polyfit(np.log(np.asarray(n, float)), np.log10(np.asarray(e, float)), 1)[0]),
            "two different logarithms: log10 on one axis and the natural log on the other scale the slope by "
            "ln 10 ≈ 2.3. Use the same logarithm for both."),
    Mistake(lambda n, e: -float(np.polyfit(np.log(np.asarray(e, float)), np.log(np.asarray(n, float)), 1)[0]),
            "the axes are swapped: fit log error (y) against log N (x), so that the slope is −p (you got about 1/p)."),
    Mistake(lambda n, e: _two_point(n, e),
            "you used only the first and last points. Single runs scatter; a least-squares line through ALL the "
            "points (log N, log error) averages that out.", rtol=1e-3, atol=1e-3),
    Mistake(lambda n, e: -float(np.polyfit(np.asarray(n, float), np.asarray(e, float), 1)[0]),
            "you fitted a straight line to the raw numbers. A power law error ≈ C·N^(−p) is a straight line only "
            "on log-log axes: take the logarithm of both N and the error first."),
)

#: An estimate counts as right within this distance of the least-squares order: a fit done another way
#: (scipy.stats.linregress, a hand-written normal equation) agrees to round-off, ~1e-12.
ORDER_ATOL = 1e-6


def _order_cases():
    """(step counts, errors, what they are): an exact power law, and a noisy one (fixed scatter)."""
    n1 = [10, 20, 40, 80]
    n2 = np.array([8, 16, 32, 64, 128])
    scatter = np.exp(np.array([0.35, -0.05, 0.1, -0.1, -0.3]))
    return [(n1, [3.0 * k ** -2.0 for k in n1], tr("an exact power law 3·N^(−2)")),
            (n2, 0.4 * n2 ** -1.0 * scatter, tr("measured errors that scatter around 0.4·N^(−1)"))]


def _check_order(fn) -> None:
    require_callable(fn, "q5.check(estimate_order)")
    refuse_package_answer(fn, _PACKAGE_ORDER)
    for n, e, what in _order_cases():
        got = as_number(call_student(fn, n, e), "the order p")
        want = reference_estimate_order(n, e)
        check_close(got, want, ORDER_MISTAKES, n, e, rtol=0.0, atol=ORDER_ATOL,
                    otherwise=tr("for {what} (N = {n}) the least-squares order is {want:.3f}, you got {got:.3f}.",
                                 what=what, n=list(np.asarray(n).tolist()), want=want, got=got))


q5 = Exercise(
    "Exercise 7.5 — a convergence order from measured errors",
    _check_order,
    hints=[
        "error ≈ C·N^(−p) becomes a straight line after taking logarithms: log error = log C − p·log N. Fit that "
        "line through all your points.",
        "Any least-squares straight-line fit gives a slope and an intercept. Decide which quantity goes on which "
        "axis, use the same logarithm for both, and work out how the slope you get is related to p.",
    ],
    solution=source_of(reference_estimate_order),
    reference=reference_estimate_order,
    mistakes=ORDER_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q3 — one DPM-Solver++(2M) step, from its derivation
# ---------------------------------------------------------------------------------------------
def reference_dpmpp_2m_step(x_tilde, sigma_t, sigma_s, x0_t, sigma_prev, x0_prev):
    """One DPM-Solver++(2M) step from σ_t down to σ_s: the exact update for a constant x̂0, with x̂0 replaced
    by D, the line through the last two x̂0 (in λ = −log σ) read at the middle of the step."""
    if sigma_s == 0:
        return x0_t                                     # λ_s = ∞: the step lands on x̂0
    d = x0_t
    if x0_prev is not None:                             # the first step has no previous x̂0: D = x̂0_t (DDIM)
        lam_prev, lam_t, lam_s = -math.log(sigma_prev), -math.log(sigma_t), -math.log(sigma_s)
        slope = (x0_t - x0_prev) / (lam_t - lam_prev)
        d = x0_t + slope * (lam_s - lam_t) / 2
    ratio = sigma_s / sigma_t
    return ratio * x_tilde + (1 - ratio) * d


def _line_wrong(read):
    """A wrong DPM++(2M) step that differs only in D: ``read(x0_t, x0_prev, h, h_prev, st, ss, sp)``."""
    def wrong(x, st, ss, x0, sp, x0p):
        if ss == 0:
            return x0
        d = x0 if x0p is None else read(x0, x0p, math.log(st / ss), math.log(sp / st), st, ss, sp)
        return ss / st * x + (1 - ss / st) * d
    return wrong


def _exact_line_mean(x0, x0p, h, hp, st, ss, sp):
    """⟨x̂0⟩ of the exact step for an x̂0 that is exactly the line: weights e^{λ−λ_s} over the step."""
    slope = (x0 - x0p) / hp
    return x0 + slope * (h - 1 + math.exp(-h)) / (1 - math.exp(-h))


DPMPP_MISTAKES = (
    Mistake(_line_wrong(lambda x0, x0p, h, hp, st, ss, sp: x0),
            "you used x̂0_t alone on every step: that is the Euler/DDIM step, exact only when x̂0 does not change. "
            "DPM++(2M) replaces x̂0_t by D, the line through the last two x̂0, from the second step on."),
    Mistake(_line_wrong(lambda x0, x0p, h, hp, st, ss, sp: x0 + (x0 - x0p) * h / hp),
            "you read the line at the END of the step (λ_s). DPM++(2M) reads it at the middle, λ_t + h/2: the "
            "step averages x̂0 over the whole interval."),
    Mistake(_line_wrong(lambda x0, x0p, h, hp, st, ss, sp: x0 + (x0 - x0p) / (st - sp) * (ss - st) / 2),
            "your line is straight in σ. DPM++(2M) draws it in λ = −log σ (where the ODE's linear part has a "
            "constant rate): use the λ of σ_prev, σ_t and σ_s, and the middle in λ."),
    Mistake(_line_wrong(lambda x0, x0p, h, hp, st, ss, sp: x0 + (x0 - x0p) * hp / (2 * h)),
            "the two step lengths are swapped: the line's slope is (x̂0_t − x̂0_prev)/h_prev (the previous step), "
            "and it is followed for half of THIS step, h/2."),
    Mistake(_line_wrong(_exact_line_mean),
            "you integrated the line exactly (weights e^(λ−λ_s)) — more accurate for a straight x̂0, and a fine "
            "sampler, but not DPM-Solver++(2M), which reads the line at the middle of the step (the two differ by "
            "O(h³) per step)."),
    Mistake(lambda x, st, ss, x0, sp, x0p: x0 if ss == 0 else
            (1 - ss / st) * x + ss / st * reference_dpmpp_2m_step(0.0 * x, st, ss, x0, sp, x0p) / (1 - ss / st),
            "the two weights are swapped: x̃_t keeps the share σ_s/σ_t (its noise shrinks in proportion to σ) and D "
            "gets 1 − σ_s/σ_t."),
)


def _dpmpp_cases():
    """(x̃_t, σ_t, σ_s, x̂0_t, σ_prev, x̂0_prev, what the case is): a first step, two later steps with unequal
    step lengths, the last step to σ = 0."""
    gen = torch.Generator().manual_seed(9)

    def r(scale):
        return scale * torch.randn(12, 2, generator=gen, dtype=torch.float64)
    return [
        (r(60.0), 80.0, 20.0, r(1.0), None, None, tr("the first step (no previous x̂0)")),
        (r(5.0), 4.0, 1.5, r(1.0), 12.0, r(1.0), tr("a later step, h ≠ h_prev")),
        (r(0.6), 0.5, 0.1, r(1.0), 0.9, r(1.0), tr("a later step near the data")),
        (r(0.1), 0.05, 0.0, r(1.0), 0.2, r(1.0), tr("the last step, to σ = 0")),
    ]


def _check_dpmpp(fn) -> None:
    require_callable(fn, "q3.check(dpmpp_2m_step)")
    refuse_package_answer(fn, _PACKAGE_DPMPP)
    for x, st, ss, x0, sp, x0p, what in _dpmpp_cases():
        args = (x, st, ss, x0, sp, x0p)
        try:
            got = call_student(fn, x.clone(), st, ss, x0.clone(), sp, None if x0p is None else x0p.clone())
            out = as_float64(got, "x̃_s", x.shape, shape_fix="One step keeps x̃'s shape.")
        except Incorrect as err:
            if ss != 0 or err.kind == "mistake":
                raise
            raise Incorrect(tr("the last step, to σ_s = 0, failed ({error}). At σ_s = 0, λ_s = −log σ_s is infinite, "
                               "so no line in λ can be read there; the exact update has σ_s/σ_t = 0, so the step "
                               "lands on x̂0_t. Treat σ_s = 0 before taking any logarithm.", error=str(err))) from None
        want = reference_dpmpp_2m_step(*args)
        check_close(out, want, DPMPP_MISTAKES, *args,
                    otherwise=tr("for {what} (σ_t = {sigma_t}, σ_s = {sigma_s}) your x̃_s differs from DPM++(2M)'s "
                                 "by up to {max_abs_diff:.3g}.", what=what, sigma_t=st, sigma_s=ss,
                                 max_abs_diff=max_abs_diff(out, want)))


q3 = Exercise(
    "Exercise 7.3 — one DPM-Solver++(2M) step",
    _check_dpmpp,
    hints=[
        "Three cases. σ_s = 0: where does the exact update land when σ_s/σ_t = 0? No previous x̂0 (the first step): "
        "the only x̂0 you have stands for the whole step. Otherwise: D comes from a straight line through the "
        "points (λ_prev, x̂0_prev) and (λ_t, x̂0_t), with λ = −log σ.",
        "Slope of the line = change of x̂0 over change of λ between the previous step and this one. The step runs "
        "from λ_t to λ_s; its middle lies half of that length beyond λ_t, and D is the line's value there. Then "
        "x̃_t keeps the share σ_s/σ_t and D gets the rest.",
    ],
    solution=source_of(reference_dpmpp_2m_step),
    reference=reference_dpmpp_2m_step,
    mistakes=DPMPP_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q4 — σ_up and σ_down of Euler ancestral
# ---------------------------------------------------------------------------------------------
def reference_ancestral_sigmas(sigma_t, sigma_s, eta):
    """(σ_up, σ_down): σ_up² is η² times the variance of x̃_s given x̃_t and x0 (x̃_t = x̃_s + independent noise
    of variance σ_t² − σ_s², x̃_s = x0 + σ_s ε); σ_down² + σ_up² = σ_s² (independent noises add in variance)."""
    posterior_std = sigma_s * math.sqrt(sigma_t ** 2 - sigma_s ** 2) / sigma_t
    sigma_up = min(sigma_s, eta * posterior_std)
    sigma_down = math.sqrt(sigma_s ** 2 - sigma_up ** 2)
    return sigma_up, sigma_down


def _up_wrong(up, down=lambda ss, u: math.sqrt(max(ss ** 2 - u ** 2, 0.0))):
    def wrong(st, ss, eta):
        u = up(st, ss, eta)
        return u, down(ss, u)
    return wrong


def _posterior_std(st, ss):
    return ss * math.sqrt(st ** 2 - ss ** 2) / st


ANCESTRAL_MISTAKES = (
    Mistake(_up_wrong(lambda st, ss, eta: eta * _posterior_std(st, ss), down=lambda ss, u: ss - u),
            "σ_down = σ_s − σ_up adds noise LEVELS like numbers. Independent Gaussian noises add in variance: the "
            "deterministic part at level σ_down plus fresh noise σ_up must give σ_down² + σ_up² = σ_s²."),
    Mistake(_up_wrong(lambda st, ss, eta: eta * math.sqrt(st ** 2 - ss ** 2)),
            "σ_up = η·√(σ_t² − σ_s²) is the noise the FORWARD process adds between the two levels. The reverse step "
            "needs the spread of x̃_s GIVEN x̃_t (and x0): that is smaller, and it can never exceed σ_s."),
    Mistake(_up_wrong(lambda st, ss, eta: eta * ss),
            "σ_up = η·σ_s would replace ALL of x̃_s's noise by fresh noise (σ_down = 0 at η = 1): the step would "
            "forget x̃_t. With η = 1 it must be DDPM's step: the spread of x̃_s given x̃_t and x0."),
    Mistake(_up_wrong(lambda st, ss, eta: eta ** 2 * _posterior_std(st, ss)),
            "η scales the standard deviation of the fresh noise, not its variance: σ_up is η times the posterior "
            "standard deviation (η² would scale the variance)."),
    Mistake(_up_wrong(lambda st, ss, eta: eta * ss ** 2 * (st ** 2 - ss ** 2) / st ** 2),
            "your σ_up is a variance: the conditional VARIANCE of x̃_s is σ_s²(σ_t² − σ_s²)/σ_t²; σ_up is its square "
            "root (times η)."),
)


def _check_ancestral(fn) -> None:
    require_callable(fn, "q4.check(ancestral_sigmas)")
    refuse_package_answer(fn, _PACKAGE_ANCESTRAL)
    for st, ss, eta in ((10.0, 3.0, 1.0), (1.0, 0.4, 0.5), (2.0, 1.9, 1.0), (5.0, 2.0, 0.0), (0.5, 0.0, 1.0)):
        got = call_student(fn, st, ss, eta)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Incorrect(tr("return two numbers, (sigma_up, sigma_down); got {got}.", got=repr(got)))
        out = (as_number(got[0], "σ_up (the fresh noise)"), as_number(got[1], "σ_down (where the Euler step lands)"))
        want = reference_ancestral_sigmas(st, ss, eta)
        if close(torch.tensor(out), torch.tensor(want)):
            continue
        diagnose(out, ANCESTRAL_MISTAKES, st, ss, eta)
        raise Incorrect(tr("from σ_t = {sigma_t} to σ_s = {sigma_s} with η = {eta}: (σ_up, σ_down) should be "
                           "({up:.4f}, {down:.4f}), you gave ({got_up:.4f}, {got_down:.4f}). Check: do the two "
                           "noises together give level σ_s?", sigma_t=st, sigma_s=ss, eta=eta, up=want[0],
                           down=want[1], got_up=out[0], got_down=out[1]))


q4 = Exercise(
    "Exercise 7.4 — σ_up and σ_down of Euler ancestral",
    _check_ancestral,
    hints=[
        "Two facts decide it. (1) Independent Gaussian noises add in variance: after the Euler step to σ_down and "
        "fresh noise of size σ_up, the sample must be at level σ_s again. (2) With η = 1 the step must be DDPM's: "
        "x̃_s drawn with the spread it has given x̃_t (and x0).",
        "In σ, x̃_s = x0 + σ_s·ε and x̃_t = x̃_s + independent noise of variance σ_t² − σ_s². For a sum of two "
        "independent Gaussians with variances a and b, the first one's variance given the sum is a·b/(a + b). η "
        "scales the standard deviation; at σ_s = 0 both numbers are 0.",
    ],
    solution=source_of(reference_ancestral_sigmas),
    reference=reference_ancestral_sigmas,
    mistakes=ANCESTRAL_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q6 — Karras' grid of noise levels
# ---------------------------------------------------------------------------------------------
def reference_karras_grid(sigma_max, sigma_min, n, rho):
    """n levels from σ_max down to σ_min, evenly spaced in σ^(1/ρ): go to u = σ^(1/ρ), space u evenly, come back."""
    u = np.linspace(sigma_max ** (1 / rho), sigma_min ** (1 / rho), n)
    return u ** rho


KARRAS_MISTAKES = (
    Mistake(lambda hi, lo, n, rho: np.linspace(lo ** (1 / rho), hi ** (1 / rho), n) ** rho,
            "your grid ascends. A sampler starts from the noise, so the list runs from σ_max DOWN to σ_min."),
    Mistake(lambda hi, lo, n, rho: np.linspace(hi, lo, n) ** (1 / rho),
            "you spaced σ itself evenly and then took the ρ-th root: the levels are no longer between σ_min and "
            "σ_max. Space u = σ^(1/ρ) evenly, then come back with u^ρ."),
    Mistake(lambda hi, lo, n, rho: np.linspace(hi ** rho, lo ** rho, n) ** (1 / rho),
            "the powers are the wrong way round: evenly spaced in σ^(1/ρ) means u = σ^(1/ρ) (a root, which squeezes "
            "the large σ together), then σ = u^ρ."),
    Mistake(lambda hi, lo, n, rho: np.geomspace(hi, lo, n),
            "you spaced log σ evenly (a geometric grid, the limit ρ → ∞). Karras' grid spaces σ^(1/ρ) evenly, with "
            "the ρ given."),
    Mistake(lambda hi, lo, n, rho: np.linspace(hi, lo, n),
            "you spaced σ itself evenly (that is ρ = 1). Karras' grid spaces σ^(1/ρ) evenly, which puts most levels "
            "at small σ, where detail forms."),
)


def _check_karras(fn) -> None:
    require_callable(fn, "q6.check(karras_grid)")
    refuse_package_answer(fn, _PACKAGE_KARRAS)
    sig = _SCHEDULE.sqrt_recipm1_alphas_cumprod
    for hi, lo, n, rho in ((float(sig[-1]), float(sig[0]), 10, 7.0), (80.0, 0.002, 5, 7.0), (10.0, 0.1, 6, 3.0)):
        got = call_student(fn, hi, lo, n, rho)
        out = as_float64(got, "the grid", (n,), shape_fix=tr("Return n levels, σ_max first and σ_min last, both "
                                                              "included."))
        want = karras_sigmas(hi, lo, n, rho)
        check_close(out, want, KARRAS_MISTAKES, hi, lo, n, rho,
                    otherwise=tr("for σ_max = {hi:.4g}, σ_min = {lo:.4g}, n = {n}, ρ = {rho}: your levels differ from "
                                 "Karras' by up to {max_abs_diff:.3g}.", hi=hi, lo=lo, n=n, rho=rho,
                                 max_abs_diff=max_abs_diff(out, want)))


q6 = Exercise(
    "Exercise 7.6 — Karras' grid of noise levels",
    _check_karras,
    hints=[
        "'Evenly spaced in σ^(1/ρ)' says: change variable to u = σ^(1/ρ), put n evenly spaced points between the "
        "u of σ_max and the u of σ_min, and change back.",
        "Both ends are levels of the grid (n points, not n + 1, and the last is σ_min itself). The first level is "
        "σ_max: the sampler starts from the noise. Going back from u to σ undoes the root.",
    ],
    solution=source_of(reference_karras_grid),
    reference=reference_karras_grid,
    mistakes=KARRAS_MISTAKES,
)
