"""Chapter 1 exercises: references pass, other correct solutions pass, typical mistakes fail with the
RIGHT hint, blank templates are reported as not attempted."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.exercises import ch1
from diffusion_lab.exercises.base import CORRECT, INCORRECT, NOT_ATTEMPTED


def status(q, answer):
    return q.result(answer).status


def message(q, answer):
    res = q.result(answer)
    assert res.status == INCORRECT, res
    return res.message


# ---- every exercise ----------------------------------------------------------------------------
@pytest.mark.parametrize("q", [ch1.q1, ch1.q2, ch1.q3, ch1.q4], ids=["q1", "q2", "q3", "q4"])
def test_reference_passes_and_blanks_are_not_attempted(q):
    assert status(q, q.reference) == CORRECT
    assert status(q, None) == NOT_ATTEMPTED
    assert status(q, ...) == NOT_ATTEMPTED


def blank(*args):
    ...


def not_implemented(*args):
    raise NotImplementedError


@pytest.mark.parametrize("q", [ch1.q1, ch1.q2, ch1.q4], ids=["q1", "q2", "q4"])
def test_blank_function_bodies_are_not_attempted(q):
    assert status(q, blank) == NOT_ATTEMPTED
    assert status(q, not_implemented) == NOT_ATTEMPTED


@pytest.mark.parametrize("q", [ch1.q1, ch1.q2, ch1.q4], ids=["q1", "q2", "q4"])
def test_a_crashing_answer_gets_a_hint_not_a_traceback(q):
    def broken(*args):
        return undefined_name  # noqa: F821
    assert "NameError" in message(q, broken)
    assert "function itself" in message(q, 3.0)


# ---- q1: closed-form noising --------------------------------------------------------------------
def test_q1_other_correct_solutions_pass():
    def with_numpy(alphas_cumprod, x0, t, eps):
        a = alphas_cumprod.numpy()[t]
        return np.sqrt(a) * x0.numpy() + np.sqrt(1 - a) * eps.numpy()

    def with_package(alphas_cumprod, x0, t, eps):
        return dl.q_sample(dl.NoiseSchedule(1 - alphas_cumprod / torch.cat(
            [torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])), x0, t, noise=eps)

    def in_float32(alphas_cumprod, x0, t, eps):          # float32 round-off is within the stated tolerance
        a = alphas_cumprod[t].float()
        return a.sqrt() * x0.float() + (1 - a).sqrt() * eps.float()
    assert status(ch1.q1, with_numpy) == CORRECT
    assert status(ch1.q1, with_package) == CORRECT
    assert status(ch1.q1, in_float32) == CORRECT


@pytest.mark.parametrize("wrong, expected", [
    (lambda a, x0, t, e: a[t] * x0 + (1 - a[t]).sqrt() * e, "must be √ᾱ_t"),
    (lambda a, x0, t, e: a[t].sqrt() * x0 + (1 - a[t]) * e, "standard deviation √(1 − ᾱ_t)"),
    (lambda a, x0, t, e: a[t] * x0 + (1 - a[t]) * e, "those are variances"),
    (lambda a, x0, k, e: a[k + 1].sqrt() * x0 + (1 - a[k + 1]).sqrt() * e,
     "alphas_cumprod[k + 1], which holds ᾱ_{t+1}"),
    (lambda a, x0, k, e: a[k - 1].sqrt() * x0 + (1 - a[k - 1]).sqrt() * e,
     "alphas_cumprod[k - 1], which holds ᾱ_{t−1}"),
    (lambda a, x0, t, e: (1 - a[t]).sqrt() * x0 + a[t].sqrt() * e, "swapped"),
    (lambda a, x0, t, e: a[t].sqrt() * x0, "add the noise term"),
    (lambda a, x0, t, e: a.sqrt()[:, None, None] * x0 + (1 - a).sqrt()[:, None, None] * e, "shape"),
    (lambda a, x0, t, e: 0.9 * x0 + 0.1 * e, "differs from"),
], ids=["abar_not_sqrt", "noise_not_sqrt", "neither_sqrt", "t_plus_1", "t_minus_1", "swapped", "no_noise",
        "whole_schedule", "unrelated"])
def test_q1_mistakes_get_their_hint(wrong, expected):
    assert expected in message(ch1.q1, wrong)


def test_messages_use_the_maths_t_and_name_the_code_index_only_as_code():
    """The maths' t runs 1..T; a message that gives a step number says "step t = k + 1" next to the code index."""
    def unrelated(alphas_cumprod, x0, k, eps):
        return 0.9 * x0 + 0.1 * eps
    text = message(ch1.q1, unrelated)
    assert "for step t = 101 (T = 1000; code index k = 100)" in text and "alphas_cumprod[k]" in text
    text = message(ch1.q4, lambda betas, x0, x_t, k: 0.5 * (x0 + x_t))
    assert "for step t = 334 (T = 1000; code index k = 333)" in text
    every_text = [m.hint for q in (ch1.q1, ch1.q2, ch1.q3, ch1.q4) for m in q.mistakes] + \
        [h for q in (ch1.q1, ch1.q2, ch1.q3, ch1.q4) for h in q.hints]
    assert not any("code step" in text for text in every_text)
    assert not any("β_0" in text and "β_0 = 0" not in text for text in every_text)    # β runs from β_1


# ---- q2: ᾱ from β ---------------------------------------------------------------------------------
def test_q2_other_correct_solutions_pass():
    def loop(betas):
        out, prod = [], 1.0
        for b in betas.tolist():
            prod *= 1 - b
            out.append(prod)
        return out
    assert status(ch1.q2, loop) == CORRECT
    assert status(ch1.q2, lambda b: np.cumprod(1 - b.numpy())) == CORRECT


@pytest.mark.parametrize("wrong, expected", [
    (lambda b: (1 - b) ** torch.arange(1, b.shape[0] + 1, dtype=torch.float64), "0.998¹⁰⁰"),
    (lambda b: torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - b, 0)[:-1]]), "leaves out step t"),
    (lambda b: torch.cumprod(b, 0), "multiplied the β_t"),
    (lambda b: 1 - torch.cumsum(b, 0), "first-order approximation"),
    (lambda b: torch.exp(-torch.cumsum(b, 0)), "log(1 − β) ≈ −β"),
    (lambda b: torch.cumprod((1 - b).sqrt(), 0), "returned √ᾱ_t"),
    (lambda b: 1 - b, "running product"),
    (lambda b: torch.cumprod(1 - b, 0)[:-1], "shape"),
], ids=["constant_beta", "exclusive", "betas", "sum", "exp_sum", "sqrt", "alphas", "too_short"])
def test_q2_mistakes_get_their_hint(wrong, expected):
    assert expected in message(ch1.q2, wrong)


# ---- q3: the number ᾱ_100 ---------------------------------------------------------------------------
def test_abar_100_is_0_904_not_0_819():
    exact = math.prod(Fraction(1) - Fraction(2, 100) * Fraction(s, 1000) for s in range(1, 101))
    assert ch1.ABAR_100 == pytest.approx(float(exact), abs=1e-12)
    assert abs(ch1.ABAR_100 - 0.904) < 5e-4 and abs(ch1.ABAR_100 - 0.819) > 0.08
    # code steps 0..99 of the package's schedule with the same β's give the same number
    sched = dl.NoiseSchedule(0.02 * torch.arange(1, 1001, dtype=torch.float64) / 1000)
    assert float(sched.alphas_cumprod[99]) == pytest.approx(ch1.ABAR_100, abs=1e-12)


@pytest.mark.parametrize("answer, expected", [
    (0.998 ** 100, "EVERY step"),
    (0.819, "EVERY step"),
    (float(np.prod(1 - 0.02 * np.arange(1, 100) / 1000)), "99 factors"),
    (float(np.prod(1 - 0.02 * np.arange(1, 102) / 1000)), "101 factors"),
    (0.998, "one factor"),
    (1 - float((0.02 * np.arange(1, 101) / 1000).sum()), "first-order"),
    (0.5, "not ᾱ_100"),
    ("0.904", "remove the quotes"),
    ([0.9, 0.8], "single number"),
    (True, "bool"),
])
def test_q3_answers(answer, expected):
    assert expected in message(ch1.q3, answer)


def test_q3_right_answers_pass():
    for right in (ch1.ABAR_100, torch.tensor(ch1.ABAR_100), np.float64(0.9039), lambda: ch1.ABAR_100,
                  ch1.ABAR_100 + 0.99 * ch1.ABAR_100_ACCURACY):
        assert status(ch1.q3, right) == CORRECT
    assert status(ch1.q3, ch1.ABAR_100 + 1.01 * ch1.ABAR_100_ACCURACY) == INCORRECT   # just outside the accuracy


# ---- q4: the posterior mean ---------------------------------------------------------------------------
def test_q4_other_correct_solution_passes():
    def via_package(betas, x0, x_t, t):
        return dl.q_posterior(dl.NoiseSchedule(betas), x0, x_t, t)[0]
    assert status(ch1.q4, via_package) == CORRECT


def _coefs(betas, t, prev_at_zero="one", use_abar_t=False, sqrt_alpha=True, sqrt_prev=True, sqrt_abar_t=False,
           denominator=True):
    alphas = 1 - betas
    abar = torch.cumprod(alphas, 0)
    prev = abar[t - 1] if (t > 0 or prev_at_zero == "wrap") else torch.tensor(1.0, dtype=torch.float64)
    if use_abar_t:
        prev = abar[t]
    den = (1 - abar[t]) if denominator else 1.0
    c1 = betas[t] * (prev.sqrt() if sqrt_prev else prev) / den
    a_fac = abar[t].sqrt() if sqrt_abar_t else (alphas[t].sqrt() if sqrt_alpha else alphas[t])
    c2 = (1 - prev) * a_fac / den
    return c1, c2


def _mean(**kw):
    def fn(betas, x0, x_t, t):
        c1, c2 = _coefs(betas, t, **kw)
        return c1 * x0 + c2 * x_t
    return fn


def _swapped(betas, x0, x_t, t):
    c1, c2 = _coefs(betas, t)
    return c2 * x0 + c1 * x_t


@pytest.mark.parametrize("wrong, expected", [
    (_swapped, "swapped"),
    (_mean(prev_at_zero="wrap"), "LAST entry"),
    (_mean(use_abar_t=True), "PREVIOUS step"),
    (_mean(sqrt_alpha=False), "needs √α_t, not α_t"),
    (_mean(sqrt_prev=False), "needs √ᾱ_{t−1}"),
    (_mean(sqrt_abar_t=True), "not √ᾱ_t"),
    (_mean(denominator=False), "divided by 1 − ᾱ_t"),
    (lambda betas, x0, x_t, t: 0.5 * (x0 + x_t), "differs from the posterior mean"),
], ids=["swapped", "wrapped_prev", "abar_t", "alpha_not_sqrt", "prev_not_sqrt", "sqrt_abar_t", "no_den", "unrelated"])
def test_q4_mistakes_get_their_hint(wrong, expected):
    assert expected in message(ch1.q4, wrong)


def test_hints_and_solutions_print(capsys):
    for q in (ch1.q1, ch1.q2, ch1.q3, ch1.q4):
        for level in range(1, len(q.hints) + 1):
            q.hint(level)
        q.solution()
    out = capsys.readouterr().out
    assert "torch.cumprod" in out and "abar_prev" in out and "0.998**100" in out
    assert out.count("Hint 1 of 3") == 4 and out.count("Solution") == 4
