r"""Chapter 7 exercises — the probability-flow ODE in σ and its solvers.

q1  euler_sigma_step(x_tilde, sigma_t, sigma_s, eps_hat): one Euler step x̃_s = x̃_t + (σ_s − σ_t)·ε̂,
    checked against a DDIM step (η = 0) of the package
q2  heun_step(eps_fn, x_tilde, sigma_t, sigma_s): Heun's correction (average of the slopes at both ends;
    a plain Euler step, with one call, when σ_s = 0)
q3  estimate_order(step_counts, errors): the order p of error ≈ C·N^(−p), from a least-squares line
    through (log N, log error)

x̃ = x_t/√ᾱ_t = x0 + σ_t ε is the scaled sample, σ_t = √((1−ᾱ_t)/ᾱ_t) for the maths' steps t = 1..T and
σ_0 = 0 (the data, ᾱ_0 = 1); in code σ_t and ᾱ_t sit at index t − 1.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..sampling import ddim_steps
from ..schedules import make_schedule
from ..i18n import tr
from .base import (Exercise, Incorrect, Mistake, as_float64, as_number, call_student, check_close, max_abs_diff,
                   require_callable, source_of)

__all__ = ["q1", "q2", "q3", "reference_euler_sigma_step", "reference_heun_step", "reference_estimate_order",
           "mixture_eps"]

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
        "Euler's method: new value = old value + step × slope at the start. Here the slope is dx̃/dσ = ε̂ and the "
        "step in σ goes from σ_t down to σ_s.",
        "The step is σ_s − σ_t (negative: σ falls), the slope ε̂. Note that x̃_t − σ_t·ε̂ is x̂0, so the answer is "
        "also x̂0 + σ_s·ε̂: DDIM.",
        "return x_tilde + (sigma_s - sigma_t) * eps_hat",
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


def _heun_mistake(correct):
    """A wrong Heun step written with plain ``mixture_eps``: ``correct(x, h, d_start, d_end, x_trial)``."""
    def wrong(eps_fn, x, st, ss):
        h = ss - st
        d_start = mixture_eps(x, st)
        x_trial = x + h * d_start
        if ss == 0:
            return x_trial
        return correct(x, h, d_start, mixture_eps(x_trial, ss), x_trial, ss)
    return wrong


HEUN_MISTAKES = (
    Mistake(_heun_mistake(lambda x, h, d1, d2, xe, ss: xe),
            "you returned the Euler trial step: Heun evaluates the slope again at the trial point and redoes the "
            "step from x̃_t with the average ½(ε̂_start + ε̂_end)."),
    Mistake(_heun_mistake(lambda x, h, d1, d2, xe, ss: x + h * d2),
            "you used the slope at the end alone: Heun averages both, ½(ε̂(x̃_t, σ_t) + ε̂(x̃', σ_s))."),
    Mistake(_heun_mistake(lambda x, h, d1, d2, xe, ss: x + h * (d1 + d2)),
            "the two slopes are added, not averaged: the step is (σ_s − σ_t)·½(ε̂_start + ε̂_end)."),
    Mistake(_heun_mistake(lambda x, h, d1, d2, xe, ss: xe + h * 0.5 * (d1 + d2)),
            "the corrected step starts from the trial point x̃'; it must start again from x̃_t: "
            "x̃_s = x̃_t + (σ_s − σ_t)·½(ε̂_start + ε̂_end)."),
    Mistake(_heun_mistake(lambda x, h, d1, d2, xe, ss: x + h * 0.5 * (d1 + mixture_eps(x, ss))),
            "the second slope is taken at x̃_t; Heun takes it at the END of the trial step, ε̂(x̃', σ_s) with "
            "x̃' = x̃_t + (σ_s − σ_t)·ε̂(x̃_t, σ_t)."),
)


def _check_heun(fn) -> None:
    require_callable(fn, "q2.check(heun_step)")
    gen = torch.Generator().manual_seed(8)
    for sigma_t, sigma_s in ((10.0, 3.0), (1.0, 0.4), (0.5, 0.0)):
        x_tilde = 2.0 * torch.randn(16, 2, generator=gen, dtype=torch.float64) * (1 + sigma_t)
        counting = _CountingEps()
        got = call_student(fn, counting, x_tilde.clone(), sigma_t, sigma_s)
        expected_calls = 1 if sigma_s == 0 else 2
        if len(counting.sigmas) != expected_calls:
            where = (tr("at σ_t and at the end of the trial step (σ_s).") if expected_calls == 2
                     else tr("only at σ_t (no network at σ = 0)."))
            raise Incorrect(tr("from σ_t = {sigma_t} to σ_s = {sigma_s} your heun_step called eps_fn {calls} time(s) "
                               "at σ = {sigmas}; Heun needs {expected}: {where}", sigma_t=sigma_t, sigma_s=sigma_s,
                               calls=len(counting.sigmas), sigmas=counting.sigmas, expected=expected_calls,
                               where=where))
        out = as_float64(got, "x̃_s", x_tilde.shape, shape_fix="One step keeps x̃'s shape.")
        ref = reference_heun_step(mixture_eps, x_tilde, sigma_t, sigma_s)
        check_close(out, ref, HEUN_MISTAKES, mixture_eps, x_tilde, sigma_t, sigma_s,
                    otherwise=tr("from σ_t = {sigma_t} to σ_s = {sigma_s} your x̃_s differs from Heun's by up to "
                                 "{max_abs_diff:.3g}.",
                                 sigma_t=sigma_t, sigma_s=sigma_s, max_abs_diff=max_abs_diff(out, ref)))


q2 = Exercise(
    "Exercise 7.2 — Heun's correction",
    _check_heun,
    hints=[
        "First an Euler step to σ_s as a trial. Then ask eps_fn for the slope at that trial point, and redo the "
        "step from the start with the average of the two slopes. At σ_s = 0 stop after the trial.",
        "h = sigma_s − sigma_t; d1 = eps_fn(x_tilde, sigma_t); trial = x_tilde + h·d1. If sigma_s == 0 return the "
        "trial; else d2 = eps_fn(trial, sigma_s) and the answer is x_tilde + h·(d1 + d2)/2.",
        "h = sigma_s - sigma_t; d1 = eps_fn(x_tilde, sigma_t); trial = x_tilde + h * d1; if sigma_s == 0: return "
        "trial; d2 = eps_fn(trial, sigma_s); return x_tilde + h * 0.5 * (d1 + d2)",
    ],
    solution=source_of(reference_heun_step),
    reference=reference_heun_step,
    mistakes=HEUN_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q3 — a convergence order from measured errors
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
            "you used only the first and last points. Single runs scatter; a least-squares line through ALL points "
            "(np.polyfit(np.log(N), np.log(errors), 1)) averages that out.", rtol=1e-3, atol=1e-3),
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
    require_callable(fn, "q3.check(estimate_order)")
    for n, e, what in _order_cases():
        got = as_number(call_student(fn, n, e), "the order p")
        want = reference_estimate_order(n, e)
        check_close(got, want, ORDER_MISTAKES, n, e, rtol=0.0, atol=ORDER_ATOL,
                    otherwise=tr("for {what} (N = {n}) the least-squares order is {want:.3f}, you got {got:.3f}.",
                                 what=what, n=list(np.asarray(n).tolist()), want=want, got=got))


q3 = Exercise(
    "Exercise 7.3 — a convergence order from measured errors",
    _check_order,
    hints=[
        "error ≈ C·N^(−p) becomes a straight line after taking logarithms: log error = log C − p·log N. Fit that "
        "line through all your points.",
        "np.polyfit(x, y, 1) returns [slope, intercept] of the least-squares line; use x = log N, y = log error "
        "(the same logarithm for both), and return −slope.",
        "slope = np.polyfit(np.log(np.asarray(step_counts, float)), np.log(np.asarray(errors, float)), 1)[0]; "
        "return -slope",
    ],
    solution=source_of(reference_estimate_order),
    reference=reference_estimate_order,
    mistakes=ORDER_MISTAKES,
)
