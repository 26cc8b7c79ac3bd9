r"""Exercises for chapter 2 (2D scatter diffusion).

* ``q1`` — the closed-form mean and covariance of x_t when x0 ~ N(μ, Σ):
  E[x_t] = √ᾱ_t μ, Cov[x_t] = ᾱ_t Σ + (1−ᾱ_t) I.
* ``q2`` — the first code step t at which the cloud's mean √ᾱ_t μ is within ``tol`` of the origin.
* ``q3`` — noise a batch of 2D points, each at its own step t, with ᾱ_t broadcast over the coordinates.

Usage in the notebook::

    from diffusion_lab.exercises import ch2
    ch2.q1.check(xt_moments)      # ch2.q1.hint(), ch2.q1.solution()
"""
from __future__ import annotations

import inspect
import math
import textwrap

import numpy as np
import torch

from ..schedules import NoiseSchedule, make_schedule
from ..seeding import make_generator
from .base import Exercise, Incorrect, NotAttempted, call_student


def source_of(fn) -> str:
    """The reference function's source as a fenced code block, indentation kept.

    (base.source_of runs inspect.cleandoc, which strips the body's indentation after an unindented
    ``def`` line, so the shown solution would not run.)
    """
    return "```python\n" + textwrap.dedent(inspect.getsource(fn)).strip() + "\n```"

__all__ = ["q1", "q2", "q3", "xt_moments", "first_t_near_origin", "noise_batch"]


def _as_array(value, what: str, shape: tuple[int, ...]) -> np.ndarray:
    """A student's tensor/array/list as float64 numpy of the expected shape (else a clear hint)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Incorrect(f"{what} should be a tensor or array of shape {shape}, got {type(value).__name__}.") from None
    if arr.shape != shape:
        raise Incorrect(f"{what} should have shape {shape}, got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise Incorrect(f"{what} contains NaN or inf.")
    return arr


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


def _check_q1(fn) -> None:
    if not callable(fn):
        raise Incorrect("pass your function itself: q1.check(xt_moments), without calling it.")
    for mu_l, sig_l, abar in _Q1_CASES:
        mu = torch.tensor(mu_l, dtype=torch.float64)
        Sigma = torch.tensor(sig_l, dtype=torch.float64)
        out = call_student(fn, mu.clone(), Sigma.clone(), abar)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Incorrect("return two things: (mean, cov), e.g. `return mean, cov`.")
        if out[0] is None or out[1] is None:
            raise NotAttempted()
        mean = _as_array(out[0], "the mean", (2,))
        cov = _as_array(out[1], "the covariance", (2, 2))
        m_ref, c_ref = (x.numpy() for x in xt_moments(mu, Sigma, abar))
        mu_n, sig_n, eye = mu.numpy(), Sigma.numpy(), np.eye(2)
        ok_mean = np.allclose(mean, m_ref, atol=1e-6)
        if not ok_mean:
            if np.allclose(mean, abar * mu_n, atol=1e-6):
                raise Incorrect("the mean is scaled by ᾱ_t, but x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε: the mean "
                                "is scaled by √ᾱ_t (the signal's coefficient), not ᾱ_t.")
            if np.allclose(mean, mu_n, atol=1e-6):
                raise Incorrect("the mean is still μ: noising shrinks the signal, E[x_t] = √ᾱ_t μ.")
            raise Incorrect(f"for μ = {mu_l}, ᾱ = {abar} the mean should be {np.round(m_ref, 4).tolist()}, "
                            f"got {np.round(mean, 4).tolist()}.")
        if not np.allclose(cov, c_ref, atol=1e-6):
            if np.allclose(cov, abar * sig_n, atol=1e-6):
                raise Incorrect("the covariance is missing the noise: ε adds its own variance, "
                                "Cov[x_t] = ᾱ_t Σ + (1−ᾱ_t) I. Without the (1−ᾱ_t) I term the cloud "
                                "would shrink to a point instead of becoming N(0, I).")
            if np.allclose(cov, abar * sig_n + (1 - abar), atol=1e-6):
                raise Incorrect("(1−ᾱ_t) was added to EVERY entry of Σ (a number plus a matrix broadcasts). "
                                "The noise is independent per coordinate: add (1−ᾱ_t) times the identity "
                                "matrix, torch.eye(2), so only the diagonal grows.")
            if np.allclose(cov, math.sqrt(abar) * sig_n + (1 - abar) * eye, atol=1e-6):
                raise Incorrect("Σ is scaled by √ᾱ_t, but scaling a variable by a scales its covariance by "
                                "a²: the signal part is (√ᾱ_t)² Σ = ᾱ_t Σ.")
            if np.allclose(cov, abar * sig_n + math.sqrt(1 - abar) * eye, atol=1e-6):
                raise Incorrect("the noise term uses √(1−ᾱ_t): that is the noise's standard deviation. "
                                "Covariance adds variances, (1−ᾱ_t) I.")
            if np.allclose(cov, sig_n + (1 - abar) * eye, atol=1e-6):
                raise Incorrect("Σ should shrink as well: the signal part of the covariance is ᾱ_t Σ.")
            raise Incorrect(f"for Σ = {sig_l}, ᾱ = {abar} the covariance should be {np.round(c_ref, 4).tolist()}, "
                            f"got {np.round(cov, 4).tolist()}.")


q1 = Exercise(
    "Exercise 2.1 — moments of x_t",
    _check_q1,
    hint="Write x_t = √ᾱ x0 + √(1−ᾱ) ε with x0 and ε independent. The mean is linear: E[x_t] = √ᾱ E[x0]. "
         "Covariances of independent parts add, and Cov[a·x] = a² Cov[x]. ε has covariance I (torch.eye(2)).",
    solution=source_of(xt_moments),
    reference=xt_moments,
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


def _check_q2(fn) -> None:
    if not callable(fn):
        raise Incorrect("pass your function itself: q2.check(first_t_near_origin).")
    for schedule, mu, tol in _q2_cases():
        out = call_student(fn, schedule, mu.clone(), tol)
        if isinstance(out, torch.Tensor) and out.numel() == 1:
            out = out.item()
        if isinstance(out, (bool, np.bool_)) or not isinstance(out, (int, np.integer)):
            raise Incorrect(f"return a python int (a code step t), got {out!r} ({type(out).__name__}). "
                            f"Use int(...) around a tensor index.")
        want = first_t_near_origin(schedule, mu, tol)
        out = int(out)
        if out == want:
            continue
        T = schedule.T
        sa, ab = schedule.sqrt_alphas_cumprod, schedule.alphas_cumprod
        norm = float(torch.linalg.vector_norm(mu.double()))
        where = f"(schedule {schedule.name}, T = {T}, μ = {mu.tolist()}, tol = {tol})"
        if want == T and out != T:
            raise Incorrect(f"with {where} the mean never gets within {tol} of the origin: at the last step it "
                            f"is still {float(sa[-1]) * norm:.3f} away. Return schedule.T = {T} when no t qualifies.")
        if out == _first(ab * norm < tol, T):
            raise Incorrect(f"{where}: you used ᾱ_t; the mean of x_t is √ᾱ_t μ, so compare √ᾱ_t ‖μ‖ with tol.")
        if out == _first(sa * mu.double().abs().max() < tol, T):
            raise Incorrect(f"{where}: 'within {tol} of the origin' means the Euclidean distance ‖√ᾱ_t μ‖ < tol, "
                            f"not each coordinate separately (use torch.linalg.vector_norm).")
        if out == want + 1:
            raise Incorrect(f"{where}: off by one — code steps start at t = 0 (the papers' 1), so return the "
                            f"index itself, not index + 1.")
        if out == want - 1:
            raise Incorrect(f"{where}: off by one — that is the last step still farther than {tol}; "
                            f"return the first step that is within it.")
        raise Incorrect(f"{where}: expected t = {want} (there √ᾱ_t ‖μ‖ = {float(sa[want]) * norm:.4f}), got t = {out}.")


q2 = Exercise(
    "Exercise 2.2 — when is the mean at the origin?",
    _check_q2,
    hint="The mean of x_t is √ᾱ_t μ, so its distance to the origin is √ᾱ_t ‖μ‖ (schedule.sqrt_alphas_cumprod "
         "has all T values). Find the first index where that is below tol: torch.nonzero(cond) lists the "
         "indices where cond holds. If there is none, return schedule.T.",
    solution=source_of(first_t_near_origin),
    reference=first_t_near_origin,
)


# ---------------------------------------------------------------------------------------------
# q3: noise a batch of points, each at its own t
# ---------------------------------------------------------------------------------------------
def noise_batch(schedule: NoiseSchedule, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε for x0, ε of shape (n, 2) and t a LongTensor (n,) of code steps."""
    abar = schedule.alphas_cumprod[t].to(x0.dtype)[:, None]        # (n,) -> (n, 1): one value per row
    return abar.sqrt() * x0 + (1 - abar).sqrt() * eps


def _q3_cases():
    schedule = make_schedule("linear", 1000)
    cases = []
    for n, seed in ((7, 1), (2, 2)):                 # n = 2: the row/column mix-up does not even raise
        gen = make_generator(seed)
        x0 = torch.randn((n, 2), generator=gen, dtype=torch.float64) + 2.0
        eps = torch.randn((n, 2), generator=gen, dtype=torch.float64)
        t = torch.randint(1, 1000, (n,), generator=gen)
        if n == 2:
            t = torch.tensor([3, 900])
        cases.append((schedule, x0, t, eps))
    return cases


def _check_q3(fn) -> None:
    if not callable(fn):
        raise Incorrect("pass your function itself: q3.check(noise_batch).")
    for schedule, x0, t, eps in _q3_cases():
        n = x0.shape[0]
        try:
            out = fn(schedule, x0.clone(), t.clone(), eps.clone())
        except NotImplementedError:
            raise NotAttempted() from None
        except RuntimeError as err:
            if "must match the size" in str(err) or "broadcast" in str(err):
                raise Incorrect(f"shapes do not broadcast ({err}). schedule.alphas_cumprod[t] has shape ({n},) "
                                f"but x0 is ({n}, 2): give ᾱ one value per ROW with [:, None] (shape ({n}, 1)).") from None
            raise Incorrect(f"your function raised RuntimeError: {err}") from None
        except Exception as err:  # noqa: BLE001 - a bug in the student's code becomes a hint
            raise Incorrect(f"your function raised {type(err).__name__}: {err}") from None
        if out is None or out is Ellipsis:
            raise NotAttempted()
        got = _as_array(out, "x_t", (n, 2))
        ab = schedule.alphas_cumprod[t]
        want = noise_batch(schedule, x0, t, eps).numpy()
        if np.allclose(got, want, atol=1e-5):
            continue
        x, e = x0.numpy(), eps.numpy()
        a_col = ab.numpy()[None, :]                                    # the (n,) vs (n, 2) mix-up when n = 2
        if n == 2 and np.allclose(got, np.sqrt(a_col) * x + np.sqrt(1 - a_col) * e, atol=1e-5):
            raise Incorrect("with 2 points your ᾱ of shape (2,) was broadcast along the COLUMNS (coordinates): "
                            "point 0's x₂ used point 1's ᾱ. Reshape to (n, 1) with [:, None] so each row "
                            "(point) gets its own ᾱ_t.")
        a = ab.numpy()[:, None]
        if np.allclose(got, a * x + np.sqrt(1 - a) * e, atol=1e-5):
            raise Incorrect("x0 is multiplied by ᾱ_t; the signal coefficient is √ᾱ_t (a known bug in one "
                            "course template). Variance ᾱ_t means standard deviation √ᾱ_t.")
        if np.allclose(got, np.sqrt(a) * x + (1 - a) * e, atol=1e-5):
            raise Incorrect("ε is multiplied by (1−ᾱ_t); its coefficient is √(1−ᾱ_t), the noise's standard deviation.")
        a_prev = schedule.alphas_cumprod[(t - 1).clamp(min=0)].numpy()[:, None]
        if np.allclose(got, np.sqrt(a_prev) * x + np.sqrt(1 - a_prev) * e, atol=1e-5):
            raise Incorrect("you used ᾱ at t − 1. In code, step t (0..T−1) uses schedule.alphas_cumprod[t] "
                            "directly: the papers' 1..T is already shifted.")
        if np.allclose(got, np.sqrt(a) * x + np.sqrt(1 - a) * np.broadcast_to(e[:1], e.shape), atol=1e-5):
            raise Incorrect("every point got the same noise: use the whole eps tensor, one ε row per point.")
        raise Incorrect(f"x_t does not match √ᾱ_t x0 + √(1−ᾱ_t) ε for t = {t.tolist()}: "
                        f"expected {np.round(want, 4).tolist()}, got {np.round(got, 4).tolist()}.")


q3 = Exercise(
    "Exercise 2.3 — noising a batch, one t per point",
    _check_q3,
    hint="schedule.alphas_cumprod[t] picks one ᾱ per point: shape (n,). x0 is (n, 2). To multiply row i by "
         "ᾱ of point i, make it a column: abar[:, None] has shape (n, 1), which broadcasts across the 2 "
         "coordinates. Then x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps.",
    solution=source_of(noise_batch),
    reference=noise_batch,
)
