"""Chapter 7 exercises: the references agree with the package's samplers, every typical mistake gets its own
hint, blanks are 'not attempted', and the checks need nothing but the answer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab import sampling as smp
from diffusion_lab.exercises import ch7
from diffusion_lab.exercises.base import CORRECT, INCORRECT, NOT_ATTEMPTED

pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


def status(q, answer):
    res = q.result(answer)
    return res.status, res.message


def blank_function(*args, **kwargs):
    # YOUR CODE HERE
    ...


ALL = (ch7.q1, ch7.q2, ch7.q3, ch7.q4, ch7.q5, ch7.q6)


@pytest.fixture(scope="module")
def sch():
    return dl.make_schedule("linear", 1000)


# ---- references agree with the package ----------------------------------------------------------------
def test_reference_euler_step_is_one_step_of_the_package_euler_sampler(sch):
    ring = dl.make_distribution("ring")
    x_T = torch.randn(6, 2, generator=dl.make_generator(0), dtype=torch.float64)
    steps = list(smp.euler_steps(ring.eps_model(sch), sch, x_T, timesteps=[999, 400, 0]))
    sig, scale = smp.sigmas_of(sch).tolist(), sch.sqrt_alphas_cumprod.tolist()
    for step in steps:
        sigma_s, scale_s = (sig[step.t_prev], scale[step.t_prev]) if step.t_prev >= 0 else (0.0, 1.0)
        ours = ch7.reference_euler_sigma_step(step.x_t / scale[step.t], sig[step.t], sigma_s, step.eps)
        torch.testing.assert_close(scale_s * ours, step.x_prev, rtol=1e-10, atol=1e-10)


def test_reference_heun_step_is_one_step_of_the_package_heun_sampler(sch):
    """With an eps_fn that is the package model at the schedule's levels, the two agree."""
    ring = dl.make_distribution("ring")
    model = ring.eps_model(sch)
    sig, scale = smp.sigmas_of(sch).tolist(), sch.sqrt_alphas_cumprod.tolist()
    level = {round(s, 12): t for t, s in enumerate(sig)}

    def eps_fn(x_tilde, sigma):
        t = level[round(sigma, 12)]
        return dl.predict_eps(model, scale[t] * x_tilde, t)

    x_T = torch.randn(6, 2, generator=dl.make_generator(1), dtype=torch.float64)
    steps = list(smp.heun_steps(model, sch, x_T, timesteps=[999, 300, 0]))
    for step in steps:
        sigma_s, scale_s = (sig[step.t_prev], scale[step.t_prev]) if step.t_prev >= 0 else (0.0, 1.0)
        ours = ch7.reference_heun_step(eps_fn, step.x_t / scale[step.t], sig[step.t], sigma_s)
        torch.testing.assert_close(scale_s * ours, step.x_prev, rtol=1e-10, atol=1e-10)


def test_reference_order_is_the_package_convergence_order():
    n = [10, 20, 40, 80]
    e = [0.3, 0.16, 0.07, 0.04]
    assert ch7.reference_estimate_order(n, e) == pytest.approx(smp.convergence_order(n, e), rel=1e-12)


def test_mixture_eps_is_minus_sigma_times_the_score():
    """ε*(x̃, σ) = −σ ∇ log q_σ(x̃) for q_σ = Σ_k ⅓ N(μ_k, (0.3² + σ²) I) (autograd on the density)."""
    x = (2 * torch.randn(20, 2, generator=dl.make_generator(2), dtype=torch.float64)).requires_grad_(True)
    for sigma in (0.05, 1.0, 20.0):
        mix = dl.GaussianMixture(torch.ones(3), ch7._MEANS, stds=(0.3 ** 2 + sigma ** 2) ** 0.5)
        grad = torch.autograd.grad(mix.log_prob(x).sum(), x)[0]
        torch.testing.assert_close(ch7.mixture_eps(x.detach(), sigma), -sigma * grad, rtol=1e-9, atol=1e-9)


def test_reference_dpmpp_step_is_the_package_update_and_the_sampler_step(sch):
    """reference_dpmpp_2m_step = sampling.dpmpp_2m_update on tensors, and reproduces every step of the
    package's DPM++(2M) run (first step, later steps, last step to σ = 0)."""
    x_T = torch.randn(6, 2, generator=dl.make_generator(4), dtype=torch.float64)
    ring = dl.make_distribution("ring")
    steps = list(smp.dpmpp_2m_steps(ring.eps_model(sch), sch, x_T, timesteps=[999, 500, 120, 30, 0]))
    sig, scale = smp.sigmas_of(sch).tolist(), sch.sqrt_alphas_cumprod.tolist()
    prev = None
    for step in steps:
        sigma_s, scale_s = (sig[step.t_prev], scale[step.t_prev]) if step.t_prev >= 0 else (0.0, 1.0)
        args = (step.x_t / scale[step.t], sig[step.t], sigma_s, step.x0_pred,
                None if prev is None else sig[prev.t], None if prev is None else prev.x0_pred)
        ours = ch7.reference_dpmpp_2m_step(*args)
        torch.testing.assert_close(scale_s * ours, step.x_prev, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(ours, smp.dpmpp_2m_update(*args), rtol=1e-12, atol=1e-12)
        prev = step


def test_reference_ancestral_sigmas_and_karras_grid_are_the_packages(sch):
    for st, ss, eta in ((10.0, 3.0, 1.0), (1.0, 0.4, 0.5), (0.5, 0.0, 1.0), (5.0, 2.0, 0.0)):
        assert ch7.reference_ancestral_sigmas(st, ss, eta) == pytest.approx(smp.ancestral_sigmas(st, ss, eta),
                                                                            abs=1e-14)
    sig = smp.sigmas_of(sch)
    ours = ch7.reference_karras_grid(float(sig[-1]), float(sig[0]), 20, 7.0)
    np.testing.assert_allclose(ours, smp.karras_sigmas(float(sig[-1]), float(sig[0]), 20), rtol=1e-12)


def test_no_hint_shows_code_and_only_the_solution_does():
    """Hints stop short of code: no line of a reference's body appears in any hint, and no hint holds an
    assignment or a call of numpy/torch."""
    import re
    for q in ALL:
        body = [line.strip() for line in q._solution.splitlines()[2:] if line.strip() and not line.strip()
                .startswith(("#", '"""', "```", "return x0_t", "if ", "else"))]
        for hint in q.hints:
            text = str(hint)
            assert not any(line in text for line in body if len(line) > 12), (q.name, text)
            assert not re.search(r"\b(np|torch|math)\.\w+\(|\breturn\b|^\s*\w+ = ", text), (q.name, text)


def test_references_pass_and_blanks_are_not_attempted():
    for q in ALL:
        assert status(q, q.reference)[0] == CORRECT, q.name
        assert status(q, None)[0] == NOT_ATTEMPTED
        assert status(q, blank_function)[0] == NOT_ATTEMPTED
        st, msg = status(q, 1.0)
        assert st == INCORRECT and "no brackets" in msg
        assert len(q.hints) >= 2


# ---- every typical mistake gets its own hint -------------------------------------------------------------
@pytest.mark.parametrize("q", ALL, ids=["q1", "q2", "q3", "q4", "q5", "q6"])
def test_each_listed_mistake_is_recognised_with_its_hint(q):
    """Each table entry is written as a student would (7.2's through the eps_fn it is given, with the calls a
    student would make): given as an answer, it fails with its own hint."""
    for mistake in q.mistakes:
        st, msg = status(q, mistake.wrong)
        assert st == INCORRECT, mistake.hint
        assert mistake.hint in msg, (mistake.hint, msg)


# ---- an answer may not hand the job to the package ------------------------------------------------------
def _package_answers():
    """(exercise, answer that calls the package's own function, that function's name): as a lambda wrapper,
    the function itself, an import inside the body, an alias held in a closure."""
    from diffusion_lab.sampling import karras_sigmas as imported

    def inside(hi, lo, n, rho):
        from diffusion_lab.sampling import karras_sigmas
        return karras_sigmas(hi, lo, n, rho)

    alias = smp.ancestral_sigmas

    def through_alias(st, ss, eta):
        return alias(st, ss, eta)

    return [(ch7.q3, lambda *a: smp.dpmpp_2m_update(*a), "dpmpp_2m_update"),
            (ch7.q4, lambda st, ss, eta: smp.ancestral_sigmas(st, ss, eta), "ancestral_sigmas"),
            (ch7.q4, through_alias, "ancestral_sigmas"),
            (ch7.q5, lambda n, e: smp.convergence_order(n, e), "convergence_order"),
            (ch7.q6, lambda hi, lo, n, rho: imported(hi, lo, n, rho), "karras_sigmas"),
            (ch7.q6, smp.karras_sigmas, "karras_sigmas"),
            (ch7.q6, inside, "karras_sigmas")]


@pytest.mark.parametrize("case", range(7))
def test_an_answer_that_calls_the_package_function_is_refused(case):
    q, answer, name = _package_answers()[case]
    st, msg = status(q, answer)
    assert st == INCORRECT and f"package's own {name}" in msg, msg


def test_own_functions_with_the_package_names_and_numpy_are_accepted():
    def ancestral_sigmas(sigma_t, sigma_s, eta):              # the template's own name, calling a helper
        return ch7.reference_ancestral_sigmas(sigma_t, sigma_s, eta)

    def karras_grid(sigma_max, sigma_min, n, rho):
        u = np.linspace(sigma_max ** (1 / rho), sigma_min ** (1 / rho), n)
        return u ** rho

    assert status(ch7.q4, ancestral_sigmas)[0] == CORRECT
    assert status(ch7.q6, karras_grid)[0] == CORRECT


def test_q3_names_the_cause_when_the_last_step_to_zero_fails():
    import math

    def skips_zero(x, st, ss, x0, sp, x0p):                   # takes log σ_s at σ_s = 0
        d = x0
        if x0p is not None:
            lam_p, lam_t, lam_s = -math.log(sp), -math.log(st), -math.log(ss)
            d = x0 + (x0 - x0p) / (lam_t - lam_p) * (lam_s - lam_t) / 2
        return ss / st * x + (1 - ss / st) * d

    st, msg = status(ch7.q3, skips_zero)
    assert st == INCORRECT and "λ_s = −log σ_s is infinite" in msg and "lands on x̂0_t" in msg, msg


def test_q1_works_with_floats_or_tensors_and_reports_a_wrong_shape():
    def euler_flat(x_tilde, sigma_t, sigma_s, eps_hat):
        return (x_tilde + (sigma_s - sigma_t) * eps_hat).reshape(-1)

    st, msg = status(ch7.q1, euler_flat)
    assert st == INCORRECT and "shape" in msg

    def euler_other_order(x_tilde, sigma_t, sigma_s, eps_hat):
        x0_hat = x_tilde - sigma_t * eps_hat
        return x0_hat + sigma_s * eps_hat

    assert status(ch7.q1, euler_other_order)[0] == CORRECT


def test_q2_catches_a_call_at_sigma_zero_and_a_wrong_number_of_calls():
    def calls_at_zero(eps_fn, x, st, ss):
        d1 = eps_fn(x, st)
        trial = x + (ss - st) * d1
        d2 = eps_fn(trial, ss)
        return x + (ss - st) * 0.5 * (d1 + d2)

    st, msg = status(ch7.q2, calls_at_zero)
    assert st == INCORRECT and "σ = 0" in msg

    def three_calls(eps_fn, x, st, ss):
        eps_fn(x, st)
        return ch7.reference_heun_step(eps_fn, x, st, ss)

    st, msg = status(ch7.q2, three_calls)
    assert st == INCORRECT and "called eps_fn 3 time(s)" in msg


def test_q3_accepts_other_least_squares_fits_and_estimates_the_course_orders(sch):
    import scipy.stats

    def with_linregress(step_counts, errors):
        return -scipy.stats.linregress(np.log(step_counts), np.log(errors)).slope

    assert status(ch7.q5, with_linregress)[0] == CORRECT
    gauss = dl.make_distribution("gaussian_2d")
    x_T = torch.randn(32, 2, generator=dl.make_generator(3), dtype=torch.float64)
    runs = smp.convergence_errors("euler", gauss, sch, x_T, step_counts=(25, 50, 100))
    assert abs(ch7.reference_estimate_order(list(runs), list(runs.values())) - 1.0) < 0.2


def test_checks_do_not_touch_the_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    for q in ALL:
        q.result(q.reference)
    assert torch.equal(torch.rand(1), before)


def test_q4_names_the_case_a_student_gets_wrong():
    """A step without the first-step case crashes on None, one without σ_s = 0 divides by zero: both are
    reported as hints (not tracebacks); an answer right on later steps but DDIM on none is recognised."""
    def no_first_step(x, st, ss, x0, sp, x0p):
        if ss == 0:
            return x0
        lam = [-np.log(v) for v in (sp, st, ss)]
        d = x0 + (x0 - x0p) / (lam[1] - lam[0]) * (lam[2] - lam[1]) / 2
        return ss / st * x + (1 - ss / st) * d

    st, msg = status(ch7.q3, no_first_step)
    assert st == INCORRECT and "raised TypeError" in msg

    def no_last_step(x, st, ss, x0, sp, x0p):
        if ss == 0:
            raise ZeroDivisionError("float division by zero")
        return ch7.reference_dpmpp_2m_step(x, st, ss, x0, sp, x0p)

    st, msg = status(ch7.q3, no_last_step)
    assert st == INCORRECT and "ZeroDivisionError" in msg


def test_q5_wants_two_numbers_and_q6_n_levels():
    st, msg = status(ch7.q4, lambda st, ss, eta: 1.0)
    assert st == INCORRECT and "(sigma_up, sigma_down)" in msg
    st, msg = status(ch7.q6, lambda hi, lo, n, rho: np.linspace(hi ** (1 / rho), lo ** (1 / rho), n + 1) ** rho)
    assert st == INCORRECT and "Return n levels" in msg
