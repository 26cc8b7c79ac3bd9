"""Chapter 2 exercises: the references pass, blank answers are 'not attempted', and each typical
mistake gets its own specific hint (not a generic 'wrong')."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.exercises import ch2
from diffusion_lab.exercises.base import CORRECT, INCORRECT, NOT_ATTEMPTED


def status_and_message(q, answer):
    res = q.result(answer)
    return res.status, res.message


# ---------------------------------------------------------------------------------------------
# the reference answers themselves, against independent closed forms / known values
# ---------------------------------------------------------------------------------------------
def test_xt_moments_reference_matches_monte_carlo(generator):
    mu = torch.tensor([1.0, -3.0], dtype=torch.float64)
    Sigma = torch.tensor([[0.5, 0.3], [0.3, 0.4]], dtype=torch.float64)
    abar, n = 0.6, 200_000
    # x0 from the same generator as ε: the global RNG and `generator` are both seeded with 0 by
    # seed_everything, so drawing x0 from the global RNG would make ε a copy of x0's noise
    z = torch.randn((n, 2), generator=generator, dtype=torch.float64)
    x0 = mu + z @ torch.linalg.cholesky(Sigma).T
    xt = dl.q_sample(dl.NoiseSchedule(torch.tensor([1 - abar])), x0, 0, generator=generator)
    mean, cov = ch2.xt_moments(mu, Sigma, abar)
    # standard errors at n = 200 000: mean ≤ √(1/n) ≈ 0.0022, covariance entries ≈ √(2/n) ≈ 0.0032
    assert torch.allclose(xt.mean(0), mean, atol=5 * math.sqrt(1.0 / n))
    assert torch.allclose(torch.cov(xt.T), cov, atol=5 * math.sqrt(2.0 / n))
    # and the hand-computed value for one entry: 0.6·0.3 off the diagonal, 0.6·0.5 + 0.4 on it
    assert float(cov[0, 1]) == pytest.approx(0.18, abs=1e-12)
    assert float(cov[0, 0]) == pytest.approx(0.70, abs=1e-12)


def test_first_t_near_origin_known_values():
    lin = dl.make_schedule("linear", 1000)
    mu = torch.tensor([2.0, 2.0])
    t = ch2.first_t_near_origin(lin, mu, 0.1)
    # definition: √ᾱ_t·‖μ‖ < 0.1 at t and not at t − 1, computed independently in numpy
    abar = np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))
    dist = np.sqrt(abar) * math.sqrt(8.0)
    assert dist[t] < 0.1 <= dist[t - 1]
    assert t == 812
    short = dl.make_schedule("linear", 100, beta_start=0.001, beta_end=0.02, warn=False)
    assert ch2.first_t_near_origin(short, mu, 0.1) == 100       # never: ᾱ_99 ≈ 0.347, mean ≈ 1.67 from 0
    assert ch2.first_t_near_origin(lin, torch.tensor([0.0, 0.05]), 0.1) == 0   # already there at t = 0


def test_xt_correlation_reference_matches_a_noised_cloud(generator):
    """The predicted correlation against a cloud noised with q_sample (n = 200 000): the sample correlation's
    standard error is (1 − ρ²)/√n ≤ 0.0023, so 5 of them is 0.012."""
    Sigma = torch.tensor(ch2.TILTED, dtype=torch.float64)
    n, abar = 200_000, 0.5
    x0 = torch.randn((n, 2), generator=generator, dtype=torch.float64) @ torch.linalg.cholesky(Sigma).T
    xt = dl.q_sample(dl.NoiseSchedule(torch.tensor([1 - abar])), x0, 0, generator=generator)
    empirical = float(torch.corrcoef(xt.T)[0, 1])
    predicted = ch2.xt_correlation(Sigma, abar)
    assert abs(empirical - predicted) < 5 * (1 - predicted**2) / math.sqrt(n)
    # by hand: Cov = [[2.5, 0.9], [0.9, 1.0]] at ᾱ = 1/2, so ρ = 0.9/√2.5
    assert predicted == pytest.approx(0.9 / math.sqrt(2.5), abs=1e-12)
    # the chapter's question: the narrow cloud (Σ/16, the same correlation 0.9) loses its tilt much sooner
    narrow = ch2.xt_correlation(torch.tensor(ch2.TILTED_NARROW, dtype=torch.float64), abar)
    assert narrow == pytest.approx(0.05625 / math.sqrt(0.625 * 0.53125), abs=1e-12) and narrow < predicted / 5
    # the ends: ᾱ = 1 keeps x0's correlation, ᾱ = 0 leaves round noise
    assert ch2.xt_correlation(Sigma, 1.0) == pytest.approx(0.9) and ch2.xt_correlation(Sigma, 0.0) == 0.0


@pytest.mark.parametrize("q", [ch2.q1, ch2.q2, ch2.q3])
def test_reference_passes_and_blank_is_not_attempted(q):
    assert q.result(q.reference).status == CORRECT
    assert q.result(None).status == NOT_ATTEMPTED
    assert q.result(...).status == NOT_ATTEMPTED

    def blank(*args):
        raise NotImplementedError

    def returns_none(*args):
        return None

    assert q.result(blank).status == NOT_ATTEMPTED
    assert q.result(returns_none).status == NOT_ATTEMPTED


def test_q1_blank_tuple_is_not_attempted():
    assert ch2.q1.result(lambda mu, S, a: (None, None)).status == NOT_ATTEMPTED


# ---------------------------------------------------------------------------------------------
# q1: typical wrong answers and their hints
# ---------------------------------------------------------------------------------------------
def eye_like(S):
    return torch.eye(2, dtype=S.dtype)


Q1_WRONG = {
    "mean_abar": (lambda mu, S, a: (a * mu, a * S + (1 - a) * eye_like(S)), "√ᾱ_t (the signal's coefficient), not ᾱ_t"),
    "mean_unscaled": (lambda mu, S, a: (mu, a * S + (1 - a) * eye_like(S)), "the mean is still μ"),
    "no_noise_term": (lambda mu, S, a: (math.sqrt(a) * mu, a * S), "missing the noise"),
    "scalar_added": (lambda mu, S, a: (math.sqrt(a) * mu, a * S + (1 - a)), "added to EVERY entry"),
    "sqrt_sigma": (lambda mu, S, a: (math.sqrt(a) * mu, math.sqrt(a) * S + (1 - a) * eye_like(S)), "a²"),
    "sqrt_noise_var": (lambda mu, S, a: (math.sqrt(a) * mu, a * S + math.sqrt(1 - a) * eye_like(S)),
                       "standard deviation"),
    "sigma_not_scaled": (lambda mu, S, a: (math.sqrt(a) * mu, S + (1 - a) * eye_like(S)), "Σ should shrink"),
    "wrong_shape": (lambda mu, S, a: (math.sqrt(a) * mu, torch.diagonal(a * S) + 1 - a), "shape (2, 2)"),
    "one_value": (lambda mu, S, a: math.sqrt(a) * mu, "return two things"),
    "crashes": (lambda mu, S, a: (math.sqrt(a) * mu, a * S + (1 - a) * undefined_name), "NameError"),  # noqa: F821
    "other": (lambda mu, S, a: (math.sqrt(a) * mu + 1, a * S), "should be"),
}


@pytest.mark.parametrize("name", list(Q1_WRONG))
def test_q1_wrong_answers_get_the_right_hint(name):
    fn, expected = Q1_WRONG[name]
    status, message = status_and_message(ch2.q1, fn)
    assert status == INCORRECT
    assert expected in message, message


def test_q1_accepts_numpy_answers():
    def numpy_version(mu, S, a):
        return np.sqrt(a) * mu.numpy(), a * S.numpy() + (1 - a) * np.eye(2)
    assert ch2.q1.result(numpy_version).status == CORRECT


def test_q1_passing_the_call_result_is_explained():
    status, message = status_and_message(ch2.q1, (torch.zeros(2), torch.eye(2)))
    assert status == INCORRECT and "without calling it" in message


# ---------------------------------------------------------------------------------------------
# q2
# ---------------------------------------------------------------------------------------------
def _first(cond, T):
    idx = torch.nonzero(cond)
    return int(idx[0]) if idx.numel() else T


Q2_WRONG = {
    "uses_abar": (lambda s, mu, tol: _first(s.alphas_cumprod * mu.double().norm() < tol, s.T), "you used ᾱ_t"),
    "per_coordinate": (lambda s, mu, tol: _first(s.sqrt_alphas_cumprod * mu.double().abs().max() < tol, s.T),
                       "Euclidean distance"),
    "plus_one": (lambda s, mu, tol: ch2.first_t_near_origin(s, mu, tol) + 1, "off by one"),
    "minus_one": (lambda s, mu, tol: ch2.first_t_near_origin(s, mu, tol) - 1, "off by one"),
    "never_returns_minus_one": (lambda s, mu, tol: (lambda t: -1 if t == s.T else t)(
        ch2.first_t_near_origin(s, mu, tol)),
                                "never gets within"),
    "returns_float": (lambda s, mu, tol: float(ch2.first_t_near_origin(s, mu, tol)), "wrap it in int(...)"),
    "returns_bool": (lambda s, mu, tol: True, "not a bool"),
    "returns_tensor_index": (lambda s, mu, tol: torch.nonzero(s.sqrt_alphas_cumprod * mu.norm() < tol)[0], None),
}


@pytest.mark.parametrize("name", list(Q2_WRONG))
def test_q2_wrong_answers_get_the_right_hint(name):
    fn, expected = Q2_WRONG[name]
    status, message = status_and_message(ch2.q2, fn)
    if expected is None:
        # a one-element tensor index is accepted on the schedules where the mean does reach 0, but the
        # T = 100 case has no such index: indexing the empty result raises, reported as a hint
        assert status == INCORRECT and "raised IndexError" in message, message
        return
    assert status == INCORRECT
    assert expected in message, message


# ---------------------------------------------------------------------------------------------
# q3: the correlation of x_t
# ---------------------------------------------------------------------------------------------
def _corr(C):
    return float(C[0, 1] / torch.sqrt(C[0, 0] * C[1, 1]))


Q3_WRONG = {
    "no_noise": (lambda S, a: _corr(S), "does not change with ᾱ"),
    "unit_variance_shortcut": (lambda S, a: _corr(S) * a, "right only when both variances of x0 are 1"),
    "x0_stds": (lambda S, a: float(a * S[0, 1] / torch.sqrt(S[0, 0] * S[1, 1])), "right only when both variances"),
    "sqrt_sigma": (lambda S, a: _corr(math.sqrt(a) * S + (1 - a) * eye_like(S)), "(√ᾱ)² = ᾱ"),
    "noise_everywhere": (lambda S, a: _corr(a * S + (1 - a)), "EVERY entry"),
    "noise_std": (lambda S, a: _corr(a * S + math.sqrt(1 - a) * eye_like(S)), "not its standard deviation"),
    "sigma_not_scaled": (lambda S, a: _corr(S + (1 - a) * eye_like(S)), "ᾱΣ, not Σ"),
    "covariance": (lambda S, a: float((a * S + (1 - a) * eye_like(S))[0, 1]), "that is the covariance"),
    "divided_by_variances": (lambda S, a: float((a * S + (1 - a) * eye_like(S))[0, 1])
                             / float((a * S[0, 0] + 1 - a) * (a * S[1, 1] + 1 - a)), "should be"),
    "above_one": (lambda S, a: 1.5, "between −1 and 1"),
    "returns_matrix": (lambda S, a: a * S + (1 - a) * eye_like(S), "single number"),
    "crashes": (lambda S, a: undefined_name, "NameError"),  # noqa: F821
}


@pytest.mark.parametrize("name", list(Q3_WRONG))
def test_q3_wrong_answers_get_the_right_hint(name):
    fn, expected = Q3_WRONG[name]
    status, message = status_and_message(ch2.q3, fn)
    assert status == INCORRECT
    assert expected in message, message


def test_q3_every_mistake_is_named_on_the_first_case_it_fails():
    """No typical mistake is mistaken for another on the cases the checker tries."""
    for mistake in ch2.CORRELATION_MISTAKES:
        status, message = status_and_message(ch2.q3, mistake.wrong)
        assert status == INCORRECT and mistake.hint[:40] in message, (mistake.hint, message)


def _numpy_correlation(S, a):
    C = a * S.numpy() + (1 - a) * np.eye(2)
    return C[0, 1] / np.sqrt(C[0, 0] * C[1, 1])           # a numpy float


def _tensor_correlation(S, a):
    C = a * S + (1 - a) * torch.eye(2, dtype=S.dtype)
    return C[0, 1] / (C[0, 0] * C[1, 1]).sqrt()            # a 0-dim tensor


@pytest.mark.parametrize("fn", [_numpy_correlation, _tensor_correlation])
def test_q3_accepts_equivalent_answers(fn):
    assert ch2.q3.result(fn).status == CORRECT
