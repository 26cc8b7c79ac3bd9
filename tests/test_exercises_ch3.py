"""Chapter 3 exercises: the references pass, typical mistakes get the RIGHT hint, blanks are 'not attempted'."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.exercises import ch3
from diffusion_lab.exercises.base import CORRECT, INCORRECT, NOT_ATTEMPTED


def status(q, answer):
    res = q.result(answer)
    return res.status, res.message


# ---- the numbers the exercises rest on, computed independently ---------------------------------
def test_log_snr_half_reference_matches_the_package_schedule():
    """The derived closed form equals the package's cosine schedule at t = T/2 (code index T/2 − 1)."""
    for s in ch3.LOG_SNR_OFFSETS:
        sched = dl.make_schedule("cosine", 1000, s=s)
        assert ch3.reference_cosine_log_snr_half(s) == pytest.approx(float(sched.log_snr[500 - 1]), abs=1e-9)
    assert ch3.reference_cosine_log_snr_half(0.0) == pytest.approx(0.0, abs=1e-12)   # cos²(π/4) = 1/2
    assert ch3.reference_cosine_log_snr_half(0.008) == pytest.approx(-0.02463, abs=1e-5)


def test_t150_value_independently():
    assert ch3.T150_SCALE_LEFT == pytest.approx(math.sqrt(np.prod(1 - np.linspace(1e-4, 0.02, 150))), rel=1e-12)
    assert ch3.T150_SCALE_LEFT == pytest.approx(0.4682, abs=1e-4)
    # not a number chapter 03 prints (section 5 prints T = 50, 200, 300, 1000)
    for T in (50, 200, 300, 1000):
        assert abs(ch3.T150_SCALE_LEFT - math.sqrt(np.prod(1 - np.linspace(1e-4, 0.02, T)))) > 0.1


def test_cosine_reference_matches_the_package_and_the_formula():
    ref = ch3.reference_cosine_alphas_cumprod(1000)
    torch.testing.assert_close(ref, dl.make_schedule("cosine", 1000).alphas_cumprod, rtol=1e-12, atol=0)
    s = 0.008
    f = lambda tau: math.cos((tau + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 10, 499, 998):   # unclipped part: ᾱ_t = f((t+1)/T)/f(0)
        assert float(ref[t]) == pytest.approx(f((t + 1) / 1000) / f(0), rel=1e-10)
    # the last β is clipped at 0.999, so ᾱ_(T−1) = 0.001·ᾱ_(T−2)
    assert float(ref[-1]) == pytest.approx(0.001 * float(ref[-2]), rel=1e-9)


# ---- q1 -------------------------------------------------------------------------------------------
def _cos_f(T, s):
    tau = torch.arange(T + 1, dtype=torch.float64) / T
    return torch.cos((tau + s) / (1 + s) * math.pi / 2) ** 2


def test_q1_reference_and_numpy_version_pass():
    assert status(ch3.q1, ch3.q1.reference)[0] == CORRECT

    def numpy_version(T, s=0.008, max_beta=0.999):
        tau = np.arange(T + 1) / T
        f = np.cos((tau + s) / (1 + s) * np.pi / 2) ** 2
        betas = np.minimum(1 - f[1:] / f[:-1], max_beta)
        return np.cumprod(1 - betas)
    assert status(ch3.q1, numpy_version)[0] == CORRECT


def test_q1_blank_is_not_attempted():
    def blank(T, s=0.008, max_beta=0.999):
        ...  # YOUR CODE HERE
    assert status(ch3.q1, blank)[0] == NOT_ATTEMPTED
    assert status(ch3.q1, None)[0] == NOT_ATTEMPTED

    def raises(T, s=0.008, max_beta=0.999):
        raise NotImplementedError
    assert status(ch3.q1, raises)[0] == NOT_ATTEMPTED


@pytest.mark.parametrize("wrong, expected_words", [
    # forgot the offset s
    (lambda T, s=0.008, max_beta=0.999: ch3.reference_cosine_alphas_cumprod(T, 0.0, max_beta), "offset s"),
    # forgot to divide by f(0) (and forgot the clip too: the first fix to make is the normalisation)
    (lambda T, s=0.008, max_beta=0.999: _cos_f(T, s)[1:], "divide by f(0)"),
    # normalised but never clipped β
    (lambda T, s=0.008, max_beta=0.999: _cos_f(T, s)[1:] / _cos_f(T, s)[0], "Clip every β"),
    # off by one: started at τ = 0
    (lambda T, s=0.008, max_beta=0.999: _cos_f(T, s)[:-1] / _cos_f(T, s)[0], "exactly 1"),
    # returned T + 1 values
    (lambda T, s=0.008, max_beta=0.999: _cos_f(T, s) / _cos_f(T, s)[0], "T + 1"),
    # hard-coded s
    (lambda T, s=0.008, max_beta=0.999: ch3.reference_cosine_alphas_cumprod(T, 0.008, max_beta), "hard-coded"),
    # float32 arithmetic: a scaled float64 answer, and the recipe computed in float32 end to end
    (lambda T, s=0.008, max_beta=0.999: ch3.reference_cosine_alphas_cumprod(T, s, max_beta).float() * (1 + 2e-5),
     "float64"),
    (lambda T, s=0.008, max_beta=0.999: torch.cumprod(1 - (1 - (lambda f: f[1:] / f[:-1])(torch.cos(
        (torch.arange(T + 1) / T + s) / (1 + s) * math.pi / 2) ** 2)).clamp(max=max_beta), 0), "float64"),
    # something else entirely: the linear schedule
    (lambda T, s=0.008, max_beta=0.999: dl.make_schedule("linear", T, warn=False).alphas_cumprod, "first wrong value"),
    # wrong shape
    (lambda T, s=0.008, max_beta=0.999: torch.ones(T, 1), "shape"),
    # a crash inside the student's code is reported, not raised
    (lambda T, s=0.008, max_beta=0.999: torch.cos(undefined_name), "NameError"),  # noqa: F821
    # returning a string
    (lambda T, s=0.008, max_beta=0.999: "0.5", "tensor"),
])
def test_q1_typical_mistakes_get_the_specific_hint(wrong, expected_words):
    st, msg = status(ch3.q1, wrong)
    assert st == INCORRECT
    assert expected_words in msg, msg


def test_q1_passing_a_call_instead_of_the_function():
    st, msg = status(ch3.q1, ch3.reference_cosine_alphas_cumprod(1000))
    assert st == INCORRECT and "no brackets" in msg


# ---- q2 -------------------------------------------------------------------------------------------
def test_q2_right_answers_pass():
    assert status(ch3.q2, ch3.q2.reference)[0] == CORRECT

    def from_the_package(s):                              # reading the schedule is a right answer too
        return float(dl.make_schedule("cosine", 1000, s=s).log_snr[499])
    assert status(ch3.q2, from_the_package)[0] == CORRECT

    def in_torch_float32(s):
        tau = torch.tensor([0.0, 0.5])
        f = torch.cos((tau + s) / (1 + s) * math.pi / 2) ** 2
        abar = f[1] / f[0]
        return torch.log(abar / (1 - abar))
    assert status(ch3.q2, in_torch_float32)[0] == CORRECT


def test_q2_blank_is_not_attempted():
    assert status(ch3.q2, ...)[0] == NOT_ATTEMPTED
    assert status(ch3.q2, None)[0] == NOT_ATTEMPTED

    def blank(s):
        ...
    assert status(ch3.q2, blank)[0] == NOT_ATTEMPTED


def _abar(s, tau=0.5, divide=True):
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    return f(tau) / f(0) if divide else f(tau)


@pytest.mark.parametrize("wrong, expected_words", [
    (lambda s: 0.0, "right only for s = 0"),
    (lambda s: math.log(_abar(s, divide=False) / (1 - _abar(s, divide=False))), "division by f(0)"),
    (lambda s: float(dl.make_schedule("cosine", 1000, s=s).log_snr[500]), "one step late"),
    (lambda s: math.log(_abar(s)), "log ᾱ, the signal"),
    (lambda s: _abar(s) / (1 - _abar(s)), "natural logarithm"),
    (lambda s: math.log10(_abar(s) / (1 - _abar(s))), "base 10"),
    (lambda s: math.log(math.sqrt(_abar(s)) / math.sqrt(1 - _abar(s))), "ratio of the variances"),
    (lambda s: math.log((1 - _abar(s)) / _abar(s)), "expected"),          # upside down: the general message
    (lambda s: "−0.025", "single number"),
    (-0.0246, "pass your function itself"),
])
def test_q2_typical_mistakes_get_the_specific_hint(wrong, expected_words):
    st, msg = status(ch3.q2, wrong)
    assert st == INCORRECT
    assert expected_words in msg, msg


# ---- q3 -------------------------------------------------------------------------------------------
def _abar_numpy(t, T, beta_start, beta_end):
    return float(np.prod(1 - np.linspace(beta_start, beta_end, T)[:t]))


def test_q3_reference_puts_abar_half_at_t_independently():
    """The reference's β_end, plugged into numpy's linear schedule and into the package's, gives ᾱ_t = 0.5."""
    for t, T, beta_start in ch3.BISECTION_CASES:
        b = ch3.reference_beta_end_for_half(t, T, beta_start)
        assert _abar_numpy(t, T, beta_start, b) == pytest.approx(0.5, abs=1e-12)
        s = dl.make_schedule("linear", T, beta_start=beta_start, beta_end=b, warn=False)
        assert float(s.alphas_cumprod[t - 1]) == pytest.approx(0.5, abs=1e-12)
        assert float(s.alphas_cumprod[t - 2]) > 0.5          # so the first t with ᾱ_t < 0.5 is t + 1
    # near the small-β estimate Σβ_s = ln 2 (within 0.1 %), and below the default 0.02: t = 500 > 260
    b = ch3.reference_beta_end_for_half(500)
    assert b == pytest.approx(1e-4 + (math.log(2) - 500 * 1e-4) * 2 * 999 / (500 * 499), rel=1e-3)
    assert b < 0.02


def test_q3_reference_and_variants_pass():
    assert status(ch3.q3, ch3.q3.reference)[0] == CORRECT

    def scipy_version(t, T=1000, beta_start=1e-4):
        from scipy.optimize import brentq
        return brentq(lambda b: _abar_numpy(t, T, beta_start, b) - 0.5, beta_start, 1.0, xtol=1e-15)
    assert status(ch3.q3, scipy_version)[0] == CORRECT

    def while_version(t, T=1000, beta_start=1e-4):     # stops on a tolerance, returns a tensor
        lo, hi = torch.tensor(beta_start, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
        while hi - lo > 1e-10:
            mid = (lo + hi) / 2
            abar = torch.prod(1 - torch.linspace(beta_start, float(mid), T, dtype=torch.float64)[:t])
            lo, hi = (mid, hi) if abar > 0.5 else (lo, mid)
        return (lo + hi) / 2
    assert status(ch3.q3, while_version)[0] == CORRECT


def test_q3_hints_start_from_an_interval_the_student_can_build():
    """Hint 1's ends bracket 0.5 when the β's are built with torch.linspace (make_schedule refuses β_end = 1, as
    the hint says), for every case the checker tries."""
    assert "refuses β_end = 1" in ch3.q3.hints[0]
    with pytest.raises(ValueError, match=r"every β_t must lie in \(0, 1\)"):
        dl.make_schedule("linear", 1000, beta_start=1e-4, beta_end=1.0, warn=False)
    for t, T, beta_start in ch3.BISECTION_CASES:
        assert _abar_numpy(t, T, beta_start, beta_start) > 0.5 > _abar_numpy(t, T, beta_start, 1.0)
        assert _abar_numpy(t, T, beta_start, 0.999) < 0.5


def test_q3_feedback_and_hints_leave_the_code_to_the_solution():
    """Neither the mistakes' messages nor the hints give the reference's slice or its loop recipe."""
    texts = list(ch3.q3.hints) + [str(m.hint) for m in ch3.BISECTION_MISTAKES]
    for text in texts:
        assert "betas[:t]" not in text and "(beta_start, 1)" not in text and "midpoint as a float" not in text
    assert "ᾱ_t > 0.5 at lo and ᾱ_t < 0.5 at hi" in ch3.q3.hints[2]


def test_q3_blank_is_not_attempted():
    def blank(t, T=1000, beta_start=1e-4):
        ...  # YOUR CODE HERE
    assert status(ch3.q3, blank)[0] == NOT_ATTEMPTED


def _bisect(f, lo=0.0, hi=1.0):
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    return (lo + hi) / 2


@pytest.mark.parametrize("wrong, expected_words", [
    (lambda t, T=1000, beta_start=1e-4: beta_start + (math.log(2) - t * beta_start) * 2 * (T - 1) / (t * (t - 1)),
     "small-β approximation"),
    (lambda t, T=1000, beta_start=1e-4: _bisect(lambda b: _abar_numpy(t + 1, T, beta_start, b) - 0.5),
     "one step late"),
    (lambda t, T=1000, beta_start=1e-4: _bisect(lambda b: _abar_numpy(t - 1, T, beta_start, b) - 0.5),
     "one step early"),
    (lambda t, T=1000, beta_start=1e-4: _bisect(lambda b: _abar_numpy(t, T, beta_start, b) ** 0.5 - 0.5),
     "√ᾱ_t = 0.5"),
    (lambda t, T=1000, beta_start=1e-4: ch3.reference_beta_end_for_half(500, T, beta_start), "does not change with t"),
    (lambda t, T=1000, beta_start=1e-4: ch3.reference_beta_end_for_half(t, T), "ignores beta_start"),
    (lambda t, T=1000, beta_start=1e-4: 0.02, "ᾱ_t = "),
    (lambda t, T=1000, beta_start=1e-4: "0.005", "remove the quotes"),
])
def test_q3_typical_mistakes_get_the_specific_hint(wrong, expected_words):
    st, msg = status(ch3.q3, wrong)
    assert st == INCORRECT
    assert expected_words in msg, msg


# ---- q4 -------------------------------------------------------------------------------------------
def test_q4_right_answers_pass():
    assert status(ch3.q4, ch3.q4.reference)[0] == CORRECT
    with pytest.warns(dl.ScheduleWarning):
        short = dl.make_schedule("linear", T=150)
    assert status(ch3.q4, short.sqrt_alphas_cumprod[-1])[0] == CORRECT
    assert status(ch3.q4, ...)[0] == NOT_ATTEMPTED


@pytest.mark.parametrize("wrong, expected_words", [
    (ch3.T150_SCALE_LEFT ** 2, "VARIANCE"),
    (math.sqrt(1 - ch3.T150_SCALE_LEFT ** 2), "noise part"),
    (1 - ch3.T150_SCALE_LEFT ** 2, "noise part"),
    (math.sqrt(float(dl.make_schedule("linear", 150, warn=False).alphas_cumprod[-2])), "one step before the end"),
    (0.364, "T = 200 value"),                              # the number section 5 prints, copied
    (0.776, "T = 50 value"),
    (0.219, "ᾱ_T for T = 150"),                            # T = 300's printed √ᾱ_T equals T = 150's ᾱ_T:
    (0.219, "√ᾱ_T for T = 300"),                           # the message names both causes
    (math.sqrt(dl.make_schedule("linear", 1000).signal_left()), "T = 1000 value"),
    (0.5, "expected √ᾱ"),
])
def test_q4_typical_mistakes_get_the_specific_hint(wrong, expected_words):
    st, msg = status(ch3.q4, wrong)
    assert st == INCORRECT
    assert expected_words in msg, msg


def test_hints_and_solutions_print(capsys):
    for q in (ch3.q1, ch3.q2, ch3.q3, ch3.q4):
        q.hint()
        q.solution()
    out = capsys.readouterr().out
    assert out.count("Hint") == 4 and out.count("Solution") == 4
    assert "def reference_cosine_alphas_cumprod" in out and "def reference_cosine_log_snr_half" in out
    assert "def reference_beta_end_for_half" in out


def test_chapter_3_calls_the_code_index_k_never_code_t():
    """Issue 19: the course's name for the code index is k (= t − 1); 'code t' / 'code step t' mixed the two."""
    from diffusion_lab.exercises import ch3

    every_text = [ch3.__doc__]
    for q in (ch3.q1, ch3.q2, ch3.q3, ch3.q4):
        every_text += [q.name, *q.hints, *(m.hint for m in q.mistakes)]
    source = open(ch3.__file__, encoding="utf-8").read()
    for text in every_text + [source]:
        assert "code t " not in text and "code step t" not in text and "code steps" not in text, text[:80]
