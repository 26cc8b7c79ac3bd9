r"""Exercises for chapter 2 (2D scatter diffusion).

* ``q1`` — the closed-form mean and covariance of x_t when x0 ~ N(μ, Σ):
  E[x_t] = √ᾱ_t μ, Cov[x_t] = ᾱ_t Σ + (1−ᾱ_t) I.
* ``q2`` — the first code step t at which the cloud's mean √ᾱ_t μ is within ``tol`` of the origin.
* ``q3`` — noise a batch of 2D points, each at its own step t, with ᾱ_t broadcast over the coordinates.

Usage in the notebook::

    from diffusion_lab.exercises import ch2
    ch2.q1.check(xt_moments)      # ch2.q1.hint(), ch2.q1.hint(2), ch2.q1.solution()
"""
from __future__ import annotations

import math

import torch

from ..i18n import tr
from ..schedules import NoiseSchedule, make_schedule
from ..seeding import make_generator
from .base import (Exercise, Incorrect, Mistake, NotAttempted, as_float64, as_index, call_student, check_close,
                   diagnose, require_callable, source_of)

__all__ = ["q1", "q2", "q3", "xt_moments", "first_t_near_origin", "noise_batch"]


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
        "mean = math.sqrt(abar) * mu; cov = abar * Sigma + (1 - abar) * torch.eye(2, dtype=Sigma.dtype); "
        "return mean, cov.",
    ],
    solution=source_of(xt_moments),
    reference=xt_moments,
    mistakes=MEAN_MISTAKES + COV_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q2: when does the mean reach the origin?
# ---------------------------------------------------------------------------------------------
def first_t_near_origin(schedule: NoiseSchedule, mu: torch.Tensor, tol: float = 0.1) -> int:
    """First code step t with ‖√ᾱ_t μ‖ < tol (the mean of x_t within tol of 0); schedule.T if never."""
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
            "off by one — code steps start at t = 0 (the papers' 1), so return the index itself, not index + 1."),
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
        raise Incorrect(tr("{where}: expected t = {want} (there √ᾱ_t ‖μ‖ = {distance:.4f}), got t = {got}.",
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
        "below = torch.nonzero(schedule.sqrt_alphas_cumprod * torch.linalg.vector_norm(mu.double()) < tol); "
        "return int(below[0]) if below.numel() else schedule.T.",
    ],
    solution=source_of(first_t_near_origin),
    reference=first_t_near_origin,
    mistakes=FIRST_T_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q3: noise a batch of points, each at its own t
# ---------------------------------------------------------------------------------------------
def noise_batch(schedule: NoiseSchedule, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε for x0, ε of shape (n, 2) and t a LongTensor (n,) of code steps."""
    abar = schedule.alphas_cumprod[t].to(x0.dtype)[:, None]        # (n,) -> (n, 1): one value per row
    return abar.sqrt() * x0 + (1 - abar).sqrt() * eps


def _q3_cases():
    """n = 2 first: there the row/column mix-up does not even raise, and gets its own hint."""
    schedule = make_schedule("linear", 1000)
    cases = []
    for n, seed in ((2, 2), (7, 1)):
        gen = make_generator(seed)
        x0 = torch.randn((n, 2), generator=gen, dtype=torch.float64) + 2.0
        eps = torch.randn((n, 2), generator=gen, dtype=torch.float64)
        t = torch.tensor([3, 900]) if n == 2 else torch.randint(1, 1000, (n,), generator=gen)
        cases.append((schedule, x0, t, eps))
    return cases


def _abar_column(s, t):
    return s.alphas_cumprod[t][:, None]


NOISE_BATCH_MISTAKES = (
    Mistake(lambda s, x0, t, eps: s.alphas_cumprod[t].sqrt() * x0 + (1 - s.alphas_cumprod[t]).sqrt() * eps,
            "your ᾱ of shape (n,) was broadcast along the COLUMNS (coordinates): with 2 points, point 0's x₂ used "
            "point 1's ᾱ. Reshape to (n, 1) with [:, None] so each row (point) gets its own ᾱ_t."),
    Mistake(lambda s, x0, t, eps: _abar_column(s, t) * x0 + (1 - _abar_column(s, t)).sqrt() * eps,
            "x0 is multiplied by ᾱ_t; the signal coefficient is √ᾱ_t (a widely copied template has this bug). "
            "Variance ᾱ_t means standard deviation √ᾱ_t."),
    Mistake(lambda s, x0, t, eps: _abar_column(s, t).sqrt() * x0 + (1 - _abar_column(s, t)) * eps,
            "ε is multiplied by (1−ᾱ_t); its coefficient is √(1−ᾱ_t), the noise's standard deviation."),
    Mistake(lambda s, x0, t, eps: noise_batch(s, x0, (t - 1).clamp(min=0), eps),
            "you used ᾱ at t − 1. In code, step t (0..T−1) uses schedule.alphas_cumprod[t] directly: the papers' "
            "1..T is already shifted."),
    Mistake(lambda s, x0, t, eps: noise_batch(s, x0, t, eps[:1].expand_as(eps)),
            "every point got the same noise: use the whole eps tensor, one ε row per point."),
)


def _check_q3(fn) -> None:
    require_callable(fn, "q3.check(noise_batch)")
    for schedule, x0, t, eps in _q3_cases():
        n = x0.shape[0]
        try:
            out = call_student(fn, schedule, x0.clone(), t.clone(), eps.clone())
        except Incorrect as err:
            if "must match the size" in str(err) or "broadcast" in str(err):
                raise Incorrect(tr("shapes do not broadcast ({error}). schedule.alphas_cumprod[t] has shape ({n},) "
                                   "but x0 is ({n}, 2): give ᾱ one value per ROW with [:, None] (shape ({n}, 1)).",
                                   error=err, n=n)) from None
            raise
        got = as_float64(out, "x_t", (n, 2))
        want = noise_batch(schedule, x0, t, eps)
        check_close(got, want, NOISE_BATCH_MISTAKES, schedule, x0, t, eps,
                    otherwise=tr("x_t does not match √ᾱ_t x0 + √(1−ᾱ_t) ε for t = {t}: expected {want}, got {got}.",
                                 t=t.tolist(), want=_rounded(want), got=_rounded(got)))


q3 = Exercise(
    "Exercise 2.3 — noising a batch, one t per point",
    _check_q3,
    hints=[
        "Each point i has its own ᾱ = schedule.alphas_cumprod[t[i]]: one value per ROW of x0. The formula is "
        "the usual x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε; the work is in the shapes.",
        "schedule.alphas_cumprod[t] has shape (n,) and x0 has shape (n, 2). Broadcasting lines shapes up from "
        "the right, so (n,) would meet the 2 coordinates; make it a column of shape (n, 1) with [:, None].",
        "abar = schedule.alphas_cumprod[t][:, None]; return abar.sqrt() * x0 + (1 - abar).sqrt() * eps.",
    ],
    solution=source_of(noise_batch),
    reference=noise_batch,
    mistakes=NOISE_BATCH_MISTAKES,
)
