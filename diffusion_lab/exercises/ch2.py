r"""Exercises for chapter 2 (2D scatter diffusion).

* ``q1`` — the closed-form mean and covariance of x_t when x0 ~ N(μ, Σ):
  E[x_t] = √ᾱ_t μ, Cov[x_t] = ᾱ_t Σ + (1−ᾱ_t) I.
* ``q2`` — the first code index k (the papers' t = k + 1) at which the cloud's mean √ᾱ_t μ is within ``tol`` of
  the origin.
* ``q3`` — predict how fast a tilted cloud loses its tilt: the correlation of x_t's two coordinates.

Usage in the notebook::

    from diffusion_lab.exercises import ch2
    ch2.q1.check(xt_moments)      # ch2.q1.hint(), ch2.q1.hint(2), ch2.q1.solution()
"""
from __future__ import annotations

import math

import torch

from ..i18n import tr
from ..schedules import NoiseSchedule, make_schedule
from .base import (Exercise, Incorrect, Mistake, NotAttempted, as_float64, as_index, as_number, call_student,
                   check_close, close, diagnose, require_callable, source_of)

__all__ = ["q1", "q2", "q3", "xt_moments", "first_t_near_origin", "xt_correlation", "TILTED", "TILTED_NARROW"]


# ---------------------------------------------------------------------------------------------
# q1: closed-form moments of x_t for a Gaussian x0
# ---------------------------------------------------------------------------------------------
def xt_moments(mu: torch.Tensor, Sigma: torch.Tensor, abar: float):
    """Mean (d,) and covariance (d, d) of x_t = √ᾱ x0 + √(1−ᾱ) ε when x0 ~ N(mu, Sigma), ε ~ N(0, I)."""
    mean = math.sqrt(abar) * mu
    cov = abar * Sigma + (1 - abar) * torch.eye(mu.shape[0], dtype=Sigma.dtype)
    return mean, cov


_Q1_CASES = [  # (μ, Σ, ᾱ): a non-diagonal Σ, so adding (1−ᾱ) to every entry is caught
    ([2.0, 2.0], [[0.25, 0.0], [0.0, 0.25]], 0.35),
    ([1.0, -3.0], [[0.5, 0.3], [0.3, 0.4]], 0.6),
    ([-2.0, 0.5], [[1.5, -0.4], [-0.4, 0.2]], 0.05),
]


def _eye(Sigma):
    return torch.eye(Sigma.shape[0], dtype=Sigma.dtype)


def _right_cov(mu, Sigma, a):
    return a * Sigma + (1 - a) * _eye(Sigma)


# each wrong answer gets one part wrong and the other right; the checker looks at the mean first
MEAN_MISTAKES = (
    Mistake(lambda mu, S, a: (a * mu, _right_cov(mu, S, a)),
            "the mean is scaled by ᾱ_t, but x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε: the mean is scaled by √ᾱ_t (the "
            "signal's coefficient), not ᾱ_t."),
    Mistake(lambda mu, S, a: (mu, _right_cov(mu, S, a)),
            "the mean is still μ: noising shrinks the signal, E[x_t] = √ᾱ_t μ."),
)
COV_MISTAKES = (
    Mistake(lambda mu, S, a: (math.sqrt(a) * mu, a * S),
            "the covariance is missing the noise: ε adds its own variance, Cov[x_t] = ᾱ_t Σ + (1−ᾱ_t) I. Without "
            "the (1−ᾱ_t) I term the cloud would shrink to a point instead of becoming N(0, I)."),
    Mistake(lambda mu, S, a: (math.sqrt(a) * mu, a * S + (1 - a)),
            "(1−ᾱ_t) was added to EVERY entry of Σ (a number plus a matrix broadcasts). The noise is independent "
            "per coordinate: add (1−ᾱ_t) times the identity matrix, torch.eye(2), so only the diagonal grows."),
    Mistake(lambda mu, S, a: (math.sqrt(a) * mu, math.sqrt(a) * S + (1 - a) * _eye(S)),
            "Σ is scaled by √ᾱ_t, but scaling a variable by a scales its covariance by a²: the signal part is "
            "(√ᾱ_t)² Σ = ᾱ_t Σ."),
    Mistake(lambda mu, S, a: (math.sqrt(a) * mu, a * S + math.sqrt(1 - a) * _eye(S)),
            "the noise term uses √(1−ᾱ_t): that is the noise's standard deviation. Covariance adds variances, "
            "(1−ᾱ_t) I."),
    Mistake(lambda mu, S, a: (math.sqrt(a) * mu, S + (1 - a) * _eye(S)),
            "Σ should shrink as well: the signal part of the covariance is ᾱ_t Σ."),
)


def _check_q1(fn) -> None:
    require_callable(fn, "q1.check(xt_moments)")
    for mu_l, sig_l, abar in _Q1_CASES:
        mu = torch.tensor(mu_l, dtype=torch.float64)
        Sigma = torch.tensor(sig_l, dtype=torch.float64)
        out = call_student(fn, mu.clone(), Sigma.clone(), abar)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Incorrect(tr("return two things: (mean, cov), e.g. `return mean, cov`."))
        if out[0] is None or out[1] is None:
            raise NotAttempted()
        mean = as_float64(out[0], "the mean", (2,))
        cov = as_float64(out[1], "the covariance", (2, 2))
        m_ref, c_ref = xt_moments(mu, Sigma, abar)
        check_close(mean, m_ref, MEAN_MISTAKES, mu, Sigma, abar, part=0,
                    otherwise=tr("for μ = {mu}, ᾱ = {abar} the mean should be {want}, got {got}.",
                                 mu=mu_l, abar=abar, want=_rounded(m_ref), got=_rounded(mean)))
        check_close(cov, c_ref, COV_MISTAKES, mu, Sigma, abar, part=1,
                    otherwise=tr("for Σ = {sigma}, ᾱ = {abar} the covariance should be {want}, got {got}.",
                                 sigma=sig_l, abar=abar, want=_rounded(c_ref), got=_rounded(cov)))


def _rounded(x: torch.Tensor) -> list:
    return [round(v, 4) for v in x.tolist()] if x.dim() == 1 else [_rounded(row) for row in x]


q1 = Exercise(
    "Exercise 2.1 — moments of x_t",
    _check_q1,
    hints=[
        "Write x_t = √ᾱ x0 + √(1−ᾱ) ε with x0 and ε independent. The mean is linear, so start there; then "
        "work out the covariance of each of the two parts.",
        "E[x_t] = √ᾱ·E[x0]. Covariances of independent parts add, and Cov[a·x] = a²·Cov[x]. ε has covariance "
        "I, the identity matrix (torch.eye(2)), not a matrix of ones.",
        "Two lines: the mean is √ᾱ times mu; the covariance is ᾱ times Sigma plus (1−ᾱ) times a 2×2 identity "
        "matrix in Sigma's dtype. Return the two as a tuple (mean, cov).",
    ],
    solution=source_of(xt_moments),
    reference=xt_moments,
    mistakes=MEAN_MISTAKES + COV_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q2: when does the mean reach the origin?
# ---------------------------------------------------------------------------------------------
def first_t_near_origin(schedule: NoiseSchedule, mu: torch.Tensor, tol: float = 0.1) -> int:
    """First code index k (the papers' t = k + 1) with ‖√ᾱ_t μ‖ < tol (the mean of x_t within tol of 0);
    schedule.T if never."""
    dist = schedule.sqrt_alphas_cumprod * torch.linalg.vector_norm(mu.double())
    below = torch.nonzero(dist < tol)
    return int(below[0]) if below.numel() else schedule.T


def _q2_cases():
    return [
        (make_schedule("linear", 1000), torch.tensor([2.0, 2.0]), 0.1),
        (make_schedule("linear", 100, beta_start=0.001, beta_end=0.02, warn=False), torch.tensor([2.0, 2.0]), 0.1),
        (make_schedule("cosine", 1000), torch.tensor([3.0, -1.0]), 0.1),
        (make_schedule("linear", 500, beta_start=1e-4, beta_end=0.04), torch.tensor([0.5, 1.5]), 0.25),
    ]


def _first(cond: torch.Tensor, T: int) -> int:
    idx = torch.nonzero(cond)
    return int(idx[0]) if idx.numel() else T


FIRST_T_MISTAKES = (
    Mistake(lambda s, mu, tol: _first(s.alphas_cumprod * torch.linalg.vector_norm(mu.double()) < tol, s.T),
            "you used ᾱ_t; the mean of x_t is √ᾱ_t μ, so compare √ᾱ_t ‖μ‖ with tol."),
    Mistake(lambda s, mu, tol: _first(s.sqrt_alphas_cumprod * mu.double().abs().max() < tol, s.T),
            "'within tol of the origin' means the Euclidean distance ‖√ᾱ_t μ‖ < tol, not each coordinate "
            "separately (use torch.linalg.vector_norm)."),
    Mistake(lambda s, mu, tol: first_t_near_origin(s, mu, tol) + 1,
            "off by one — that is the papers' t = k + 1. Return the code index k itself, not k + 1."),
    Mistake(lambda s, mu, tol: first_t_near_origin(s, mu, tol) - 1,
            "off by one — that is the last step still farther than tol; return the first step that is within it."),
)


def _check_q2(fn) -> None:
    require_callable(fn, "q2.check(first_t_near_origin)")
    for schedule, mu, tol in _q2_cases():
        out = as_index(call_student(fn, schedule, mu.clone(), tol), "first_t_near_origin")
        want = first_t_near_origin(schedule, mu, tol)
        if out == want:
            continue
        T = schedule.T
        norm = float(torch.linalg.vector_norm(mu.double()))
        where = tr("(schedule {name}, T = {T}, μ = {mu}, tol = {tol})", name=schedule.name, T=T, mu=mu.tolist(),
                   tol=tol)
        if want == T:
            raise Incorrect(tr("with {where} the mean never gets within {tol} of the origin: at the last step it "
                               "is still {distance:.3f} away. Return schedule.T = {T} when no t qualifies.",
                               where=where, tol=tol, distance=float(schedule.sqrt_alphas_cumprod[-1]) * norm, T=T))
        diagnose(out, FIRST_T_MISTAKES, schedule, mu, tol, prefix=where)
        raise Incorrect(tr("{where}: expected k = {want} (there √ᾱ_t ‖μ‖ = {distance:.4f}), got k = {got}.",
                           where=where, want=want, distance=float(schedule.sqrt_alphas_cumprod[want]) * norm,
                           got=out))


q2 = Exercise(
    "Exercise 2.2 — when is the mean at the origin?",
    _check_q2,
    hints=[
        "The cloud's mean at step t is √ᾱ_t μ, so its distance to the origin is √ᾱ_t ‖μ‖: one number per t, "
        "falling as t grows. You want the first t where it is below tol.",
        "schedule.sqrt_alphas_cumprod holds all T values of √ᾱ_t and torch.linalg.vector_norm(mu) is ‖μ‖. "
        "torch.nonzero(cond) lists the indices where cond holds; when it is empty, return schedule.T.",
        "Multiply the whole tensor of √ᾱ by ‖μ‖, compare it with tol to get a mask, and return the index of the "
        "mask's first True as an int, or schedule.T when the mask has none.",
    ],
    solution=source_of(first_t_near_origin),
    reference=first_t_near_origin,
    mistakes=FIRST_T_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q3: how fast does a tilt fade? (predict the correlation of x_t's coordinates)
# ---------------------------------------------------------------------------------------------
def xt_correlation(Sigma: torch.Tensor, abar: float) -> float:
    """Correlation of the two coordinates of x_t = √ᾱ x0 + √(1−ᾱ) ε when Cov[x0] = Sigma."""
    cov = abar * Sigma + (1 - abar) * torch.eye(2, dtype=Sigma.dtype)   # Cov[x_t] (exercise 2.1)
    return float(cov[0, 1] / torch.sqrt(cov[0, 0] * cov[1, 1]))


#: The chapter's tilted cloud (correlation 0.9, standard deviations 2 and 1) and the same shape four times
#: narrower: at ᾱ = 1/2 the wide one keeps correlation 0.57, the narrow one 0.10.
TILTED = ((4.0, 1.8), (1.8, 1.0))
TILTED_NARROW = tuple(tuple(v / 16 for v in row) for row in TILTED)
_Q3_CASES = [  # (Σ, ᾱ): non-unit variances first, so the unit-variance shortcut ρ·ᾱ is caught; then a
    (TILTED, 0.6),  # negative correlation, a unit-variance Σ (where the shortcut is right) and the two ends
    (TILTED_NARROW, 0.5),
    (((1.5, -0.4), (-0.4, 0.2)), 0.3),
    (((1.0, 0.6), (0.6, 1.0)), 0.3),
    (TILTED, 1.0),
    (TILTED, 0.0),
]


def _corr(C: torch.Tensor) -> float:
    return float(C[0, 1] / torch.sqrt(C[0, 0] * C[1, 1]))


CORRELATION_MISTAKES = (
    Mistake(lambda S, a: _corr(S),
            "your correlation does not change with ᾱ: that is the correlation of x0. The noise adds (1−ᾱ) to each "
            "coordinate's variance but nothing to the covariance between them, so the tilt fades as t grows."),
    Mistake(lambda S, a: float(_corr(S)) * a,
            "ρ·ᾱ (or x_t's covariance over x0's standard deviations, the same thing) is right only when both "
            "variances of x0 are 1. Here they are not: the noise adds the same (1−ᾱ) to each variance, whatever its "
            "size. Divide by the standard deviations of x_t."),
    Mistake(lambda S, a: _corr(math.sqrt(a) * S + (1 - a) * _eye(S)),
            "Σ was scaled by √ᾱ, but scaling a variable by √ᾱ scales its covariance by (√ᾱ)² = ᾱ."),
    Mistake(lambda S, a: _corr(a * S + (1 - a)),
            "(1−ᾱ) was added to EVERY entry, the covariance too. The noise's two coordinates are independent: it "
            "adds (1−ᾱ) times the identity matrix, nothing off the diagonal."),
    Mistake(lambda S, a: _corr(a * S + math.sqrt(1 - a) * _eye(S)),
            "the noise adds its variance (1−ᾱ) to each diagonal entry, not its standard deviation √(1−ᾱ)."),
    Mistake(lambda S, a: _corr(S + (1 - a) * _eye(S)),
            "the signal's part of the covariance is ᾱΣ, not Σ: x0 is scaled down before the noise is added."),
    Mistake(lambda S, a: float((a * S + (1 - a) * _eye(S))[0, 1]),
            "that is the covariance of the two coordinates. A correlation divides it by both standard deviations, "
            "√(C₁₁·C₂₂), so that it lies between −1 and 1."),
)


def _check_q3(fn) -> None:
    require_callable(fn, "q3.check(xt_correlation)")
    for sig_l, abar in _Q3_CASES:
        Sigma = torch.tensor(sig_l, dtype=torch.float64)
        got = as_number(call_student(fn, Sigma.clone(), abar), "xt_correlation")
        want = xt_correlation(Sigma, abar)
        where = tr("for Σ = {sigma}, ᾱ = {abar}", sigma=[list(r) for r in sig_l], abar=abar)
        if close(got, want):
            continue
        diagnose(got, CORRELATION_MISTAKES, Sigma, abar, prefix=where)
        if abs(got) > 1 + 1e-9:
            raise Incorrect(tr("{where} you returned {got:.4f}, but a correlation always lies between −1 and 1: "
                               "divide the covariance by the product of the two standard deviations.", where=where,
                               got=got))
        raise Incorrect(tr("{where} the correlation of x_t's coordinates should be {want:.4f}, got {got:.4f}.",
                           where=where, want=want, got=got))


q3 = Exercise(
    "Exercise 2.3 — how fast does a tilt fade?",
    _check_q3,
    hints=[
        "Start from the covariance of x_t (exercise 2.1), not from the correlation of x0: the noise changes the two "
        "variances, but not the covariance between the coordinates.",
        "Cov[x_t] = ᾱΣ + (1−ᾱ)I. A correlation is the off-diagonal entry divided by the product of the two standard "
        "deviations, √(C₁₁·C₂₂), all of them of x_t, not of x0.",
        "Build x_t's 2×2 covariance with an identity matrix in Sigma's dtype, divide its entry [0, 1] by the square "
        "root of the product of its two diagonal entries, and return a float. For the prediction: the noise adds the "
        "same (1−ᾱ) to a wide and a narrow cloud; which of the two does it swamp sooner?",
    ],
    solution=source_of(xt_correlation),
    reference=xt_correlation,
    mistakes=CORRELATION_MISTAKES,
)
