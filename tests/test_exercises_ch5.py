"""Chapter 5 exercises: the references agree with the package's samplers, typical mistakes get the RIGHT hint,
blanks are 'not attempted'."""
from __future__ import annotations

import math

import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.exercises import ch5
from diffusion_lab.exercises.base import CORRECT, INCORRECT, NOT_ATTEMPTED


def status(q, answer):
    res = q.result(answer)
    return res.status, res.message


def blank_function(*args, **kwargs):
    # YOUR CODE HERE
    ...


@pytest.fixture(scope="module")
def sch():
    return dl.make_schedule("linear", 1000)


# ---- references agree with the package ------------------------------------------------------------------
def test_reference_posterior_variance_is_the_schedules(sch):
    torch.testing.assert_close(ch5.reference_posterior_variance(sch.betas), sch.posterior_variance, rtol=1e-12, atol=0)
    # independent value: t = 1 → (1 − ᾱ_0)/(1 − ᾱ_1)·β_1 with ᾱ_0 = 1 − β_0, ᾱ_1 = (1 − β_0)(1 − β_1)
    b0, b1 = float(sch.betas[0]), float(sch.betas[1])
    assert float(ch5.reference_posterior_variance(sch.betas)[1]) == pytest.approx(b0 / (1 - (1 - b0) * (1 - b1)) * b1,
                                                                                 rel=1e-10)


def test_reference_ddpm_step_is_one_step_of_ddpm_steps(sch):
    ring = dl.make_distribution("ring")
    eps_model = ring.eps_model(sch)
    x_t = torch.randn(6, 2, generator=dl.make_generator(0), dtype=torch.float64)
    for t in (999, 37, 0):
        step = next(dl.ddpm_steps(eps_model, sch, x_t.clone(), t_start=t, generator=dl.make_generator(1)))
        z = torch.randn(x_t.shape, generator=dl.make_generator(1), dtype=torch.float64)   # the sampler's first draw
        ours = ch5.reference_ddpm_step(sch, x_t, t, step.eps, z)
        torch.testing.assert_close(ours, step.x_prev, rtol=1e-9, atol=1e-9)


def test_reference_ddpm_step_with_clip_is_the_packages_clipped_step(sch):
    """With clip, x̂0 is clamped and the mean is μ̃_t(x_t, x̂0): the package's clip_x0 step, and different
    from the ε̂-only form wherever the clip binds."""
    x_t = 2 * torch.randn(6, 2, generator=dl.make_generator(0), dtype=torch.float64)
    raw_eps = torch.randn(6, 2, generator=dl.make_generator(2), dtype=torch.float64)
    for t in (999, 500, 0):
        step = next(dl.ddpm_steps(lambda x, k: raw_eps, sch, x_t.clone(), t_start=t, clip_x0=1.0,
                                  generator=dl.make_generator(1)))
        z = torch.randn(x_t.shape, generator=dl.make_generator(1), dtype=torch.float64)
        ours = ch5.reference_ddpm_step(sch, x_t, t, raw_eps, z, clip=1.0)
        torch.testing.assert_close(ours, step.x_prev, rtol=1e-9, atol=1e-9)
        assert not torch.allclose(ours, ch5.reference_ddpm_step(sch, x_t, t, raw_eps, z))


def test_reference_ddim_update_is_one_step_of_ddim_steps(sch):
    ring = dl.make_distribution("ring")
    x_T = torch.randn(6, 2, generator=dl.make_generator(2), dtype=torch.float64)
    steps = list(dl.ddim_steps(ring.eps_model(sch), sch, x_T, num_steps=10, eta=0.0))
    for step in (steps[0], steps[-1]):
        a_t = float(sch.alphas_cumprod[step.t])
        a_s = float(sch.alphas_cumprod[step.t_prev]) if step.t_prev >= 0 else 1.0
        torch.testing.assert_close(ch5.reference_ddim_update(step.x_t, a_t, a_s, step.x0_pred), step.x_prev,
                                   rtol=1e-9, atol=1e-9)


def test_references_pass_and_blanks_are_not_attempted():
    for q in (ch5.q1, ch5.q2, ch5.q3):
        assert status(q, q.reference)[0] == CORRECT, q.name
        assert status(q, None)[0] == NOT_ATTEMPTED
        assert status(q, blank_function)[0] == NOT_ATTEMPTED
        st, msg = status(q, 1.0)
        assert st == INCORRECT and "no brackets" in msg


# ---- q1: β̃ ---------------------------------------------------------------------------------------------------
def test_q1_typical_mistakes():
    def gives_beta(betas):
        return betas.clone()

    def pads_with_abar0(betas):
        abar = torch.cumprod(1 - betas, 0)
        prev = torch.cat([abar[:1], abar[:-1]])
        return (1 - prev) / (1 - abar) * betas

    def no_beta(betas):
        abar = torch.cumprod(1 - betas, 0)
        prev = torch.cat([torch.ones(1, dtype=betas.dtype), abar[:-1]])
        return (1 - prev) / (1 - abar)

    def upside_down(betas):
        abar = torch.cumprod(1 - betas, 0)
        prev = torch.cat([torch.ones(1, dtype=betas.dtype), abar[:-1]])
        return (1 - abar) / (1 - prev) * betas

    def shifted(betas):
        ref = ch5.reference_posterior_variance(betas)
        return torch.cat([torch.zeros(1, dtype=betas.dtype), ref[:-1]])

    def too_short(betas):
        return ch5.reference_posterior_variance(betas)[1:]

    cases = {gives_beta: "β_t back", pads_with_abar0: "except the first entry", no_beta: "factor β_t is missing",
             upside_down: "upside down", shifted: "off by one", too_short: "shape"}
    for fn, expected in cases.items():
        st, msg = status(ch5.q1, fn)
        assert st == INCORRECT and expected in msg, (fn.__name__, msg)


# ---- q2: one DDPM step ----------------------------------------------------------------------------------------
def _parts(s, x_t, t, e):
    b, a, ab = float(s.betas[t]), float(s.alphas[t]), float(s.alphas_cumprod[t])
    return b, a, ab, (x_t - b / math.sqrt(1 - ab) * e) / math.sqrt(a)


def test_q2_typical_mistakes():
    def template(s, x_t, t, e, z):
        ab, abp = float(s.alphas_cumprod[t]), float(s.alphas_cumprod_prev[t])
        x0 = (x_t - math.sqrt(1 - ab) * e) / math.sqrt(ab)
        return math.sqrt(abp) * x0 + math.sqrt(1 - abp) * z

    def sigma_beta(s, x_t, t, e, z):
        b, _, _, mean = _parts(s, x_t, t, e)
        return mean + math.sqrt(b) * z if t > 0 else mean

    def variance_not_std(s, x_t, t, e, z):
        _, _, _, mean = _parts(s, x_t, t, e)
        return mean + float(s.posterior_variance[t]) * z if t > 0 else mean

    def plain_beta_coef(s, x_t, t, e, z):
        b, a, _, _ = _parts(s, x_t, t, e)
        return (x_t - b * e) / math.sqrt(a) + math.sqrt(float(s.posterior_variance[t])) * z

    def no_noise(s, x_t, t, e, z):
        return _parts(s, x_t, t, e)[3]

    def returns_x0(s, x_t, t, e, z):
        ab = float(s.alphas_cumprod[t])
        return (x_t - math.sqrt(1 - ab) * e) / math.sqrt(ab)

    def noise_at_zero(s, x_t, t, e, z):
        # right for t > 0, but adds σ = √β_0 noise in the last step
        b, _, _, mean = _parts(s, x_t, t, e)
        return mean + (math.sqrt(float(s.posterior_variance[t])) if t > 0 else math.sqrt(b)) * z

    def per_step_noise(s, x_t, t, e, z):
        # x_{t−1} = (x_t − √β_t ε̂)/√(1 − β_t): undoes one forward step as if ε̂ were that step's noise
        b = float(s.betas[t])
        return (x_t - math.sqrt(b) * e) / math.sqrt(1 - b)

    def per_step_noise_plus_z(s, x_t, t, e, z):
        return per_step_noise(s, x_t, t, e, z) + (math.sqrt(float(s.posterior_variance[t])) * z if t > 0 else 0)

    cases = {template: "template", sigma_beta: "σ_t² = β_t", variance_not_std: "not by β̃_t",
             plain_beta_coef: "β_t/√(1 − ᾱ_t)", no_noise: "forgot to add the noise", returns_x0: "jump straight",
             noise_at_zero: "at k = 0 (the maths' t = 1", per_step_noise: "TOTAL noise",
             per_step_noise_plus_z: "√β_t·ε̂)/√(1 − β_t)"}
    for fn, expected in cases.items():
        def unclipped(s, x_t, t, e, z, clip=None, fn=fn):
            return fn(s, x_t, t, e, z) if clip is None else ch5.reference_ddpm_step(s, x_t, t, e, z, clip)
        st, msg = status(ch5.q2, unclipped)
        assert st == INCORRECT and expected in msg, (fn.__name__, msg)


def test_q2_clipping_mistakes_get_their_hint():
    def eps_form_ignores_clip(s, x_t, t, e, z, clip=None):
        return ch5.reference_ddpm_step(s, x_t, t, e, z)      # the printed ε̂-only form, clip unused

    def clips_the_output(s, x_t, t, e, z, clip=None):
        out = ch5.reference_ddpm_step(s, x_t, t, e, z)
        return out if clip is None else out.clamp(-clip, clip)

    def eps_recomputed_from_clipped_x0(s, x_t, t, e, z, clip=None):
        # a right route too: clip x̂0, recompute ε̂ from it, then the ε̂-only form
        ab, b, a = float(s.alphas_cumprod[t]), float(s.betas[t]), float(s.alphas[t])
        x0 = (x_t - math.sqrt(1 - ab) * e) / math.sqrt(ab)
        if clip is not None:
            x0 = x0.clamp(-clip, clip)
        e = (x_t - math.sqrt(ab) * x0) / math.sqrt(1 - ab)
        mean = (x_t - b / math.sqrt(1 - ab) * e) / math.sqrt(a)
        return mean + math.sqrt(float(s.posterior_variance[t])) * z if t > 0 else mean

    assert status(ch5.q2, eps_recomputed_from_clipped_x0)[0] == CORRECT
    for fn, expected in ((eps_form_ignores_clip, "UNCLIPPED"), (clips_the_output, "you clipped the result")):
        st, msg = status(ch5.q2, fn)
        assert st == INCORRECT and expected in msg, (fn.__name__, msg)


def test_q2_the_template_is_named_a_valid_ddim_sampler_not_wrong():
    """σ² = 1 − ᾱ_{t−1} is the far end of the DDIM family: the diagnosis says what it is, and that it is
    not DDPM, without calling it wrong."""
    template = ch5.DDPM_STEP_MISTAKES[1].wrong
    st, msg = status(ch5.q2, template)
    assert st == INCORRECT
    assert "valid sampler" in msg and "DDIM" in msg and "σ² = 1 − ᾱ_{t−1}" in msg and "largest σ" in msg
    assert "not the DDPM step" in msg
    assert "wrong" not in msg
    # and it is that DDIM step: η-free form x_s = √ᾱ_s x̂0 + √(1 − ᾱ_s − σ²) ε̂ + σ z with σ² = 1 − ᾱ_s
    sch = dl.make_schedule("linear", 1000)
    x_t, e, z = (torch.randn(4, 2, generator=dl.make_generator(k), dtype=torch.float64) for k in (1, 2, 3))
    t = 400
    a_s = float(sch.alphas_cumprod[t - 1])
    x0_hat = (x_t - math.sqrt(1 - float(sch.alphas_cumprod[t])) * e) / math.sqrt(float(sch.alphas_cumprod[t]))
    sigma2 = 1 - a_s
    ddim = math.sqrt(a_s) * x0_hat + math.sqrt(1 - a_s - sigma2) * e + math.sqrt(sigma2) * z
    torch.testing.assert_close(template(sch, x_t, t, e, z), ddim, rtol=1e-12, atol=1e-12)


# ---- q3: one DDIM step from a network that predicts x̂0 ------------------------------------------------------
def test_q3_typical_mistakes():
    def x0_used_as_eps(x_t, a_t, a_s, x0):             # section 4's formula with the output in ε̂'s place
        return math.sqrt(a_s) * (x_t - math.sqrt(1 - a_t) * x0) / math.sqrt(a_t) + math.sqrt(1 - a_s) * x0

    def no_direction(x_t, a_t, a_s, x0):
        return math.sqrt(a_s) * x0

    def returns_x0(x_t, a_t, a_s, x0):
        return x0.clone()

    def swapped(x_t, a_t, a_s, x0):
        return ch5.reference_ddim_update(x_t, a_s, a_t, x0)

    def no_sqrt(x_t, a_t, a_s, x0):
        return a_s * x0 + (1 - a_s) * (x_t - a_t * x0) / (1 - a_t)

    def eps_at_s(x_t, a_t, a_s, x0):
        return math.sqrt(a_s) * x0 + math.sqrt(1 - a_s) * (x_t - math.sqrt(a_s) * x0) / math.sqrt(1 - a_s)

    def old_argument_order(x_t, x0, a_t, a_s):         # (x_t, x0_hat, abar_t, abar_s): x̂0 now comes last
        return ch5.reference_ddim_update(x_t, a_t, a_s, x0)

    cases = {x0_used_as_eps: "network's output as ε̂", no_direction: "direction term", returns_x0: "jump to the end",
             swapped: "swapped", no_sqrt: "square roots", eps_at_s: "CURRENT step", old_argument_order: "raised"}
    for fn, expected in cases.items():
        st, msg = status(ch5.q3, fn)
        assert st == INCORRECT and expected in msg, (fn.__name__, msg)


def test_q3_an_answer_wrong_only_at_s_0_is_not_called_swapped():
    """At s = 0 (ᾱ_s = 1) the 'swapped' mistake divides by √(1 − 1): its inf must not match any answer."""
    def wrong_at_the_end(x_t, a_t, a_s, x0):
        out = ch5.reference_ddim_update(x_t, a_t, a_s, x0)
        return out + 0.3 if a_s == 1.0 else out
    st, msg = status(ch5.q3, wrong_at_the_end)
    assert st == INCORRECT and "swapped" not in msg and "to s = 0 " in msg, msg


def test_q3_names_the_maths_steps_not_the_code_indices():
    """Code indices (40, 0) are the maths' t = 41 and s = 1 (s = 0 is x_0, ᾱ_0 = 1): an unknown error says so."""
    def off_near_the_end(x_t, a_t, a_s, x0):
        out = ch5.reference_ddim_update(x_t, a_t, a_s, x0)
        return out + 0.3 if a_s > 0.999 else out
    st, msg = status(ch5.q3, off_near_the_end)
    assert st == INCORRECT and "from t = 41 to s = 1 " in msg, msg


def test_q3_accepts_tensor_and_float32_arithmetic():
    def with_tensors(x_t, a_t, a_s, x0):
        a_t, a_s = torch.tensor(a_t, dtype=x_t.dtype), torch.tensor(a_s, dtype=x_t.dtype)
        e = (x_t - a_t.sqrt() * x0) / (1 - a_t).sqrt()
        return a_s.sqrt() * x0 + (1 - a_s).sqrt() * e
    assert status(ch5.q3, with_tensors)[0] == CORRECT


# ---- 5.4 the whole sampling loop ---------------------------------------------------------------------------
def test_reference_sampling_loop_is_the_packages_ddpm_state_by_state():
    sch = ch5._LOOP_SCHEDULE
    model = ch5._loop_model()
    x_T = torch.randn(16, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    mine = ch5.reference_sampling_loop(model, sch, x_T.clone(), torch.Generator().manual_seed(4))
    steps = list(dl.ddpm_steps(model, sch, x_T.clone(), variance="beta_tilde",
                               generator=torch.Generator().manual_seed(4)))
    assert len(mine) == sch.T + 1 == len(steps) + 1
    torch.testing.assert_close(mine[0], steps[0].x_t)
    for state, step in zip(mine[1:], steps):
        torch.testing.assert_close(state, step.x_prev, rtol=1e-10, atol=1e-10)


def test_q4_passes_reference_and_blank_is_not_attempted():
    assert status(ch5.q4, ch5.reference_sampling_loop)[0] == CORRECT
    assert status(ch5.q4, blank_function)[0] == NOT_ATTEMPTED


@pytest.mark.parametrize("mistake", ch5.SAMPLING_LOOP_MISTAKES, ids=lambda m: m.hint[:30])
def test_q4_typical_mistakes_get_their_hint(mistake):
    got, message = status(ch5.q4, mistake.wrong)
    assert got == INCORRECT and mistake.hint in message


def test_q4_catches_the_papers_t_passed_to_the_network_and_a_loop_that_skips_the_last_step():
    papers_t = ch5._loop_with(lambda s, x, k, e, z: ch5.reference_ddpm_step(s, x, k, e, z), papers_t=True)
    got, message = status(ch5.q4, papers_t)
    assert got == INCORRECT and "index k = t − 1" in message

    def skips_last(eps_model, schedule, x_T, generator):
        return ch5.reference_sampling_loop(eps_model, schedule, x_T, generator)[:-1]
    got, message = status(ch5.q4, skips_last)
    assert got == INCORRECT and "range(schedule.T - 1, -1, -1)" in message


def test_q4_unknown_error_names_the_first_step_that_differs():
    def late_bug(eps_model, schedule, x_T, generator):
        xs = ch5.reference_sampling_loop(eps_model, schedule, x_T, generator)
        return xs[:-1] + [xs[-1] + 0.5]
    got, message = status(ch5.q4, late_bug)
    assert got == INCORRECT and "after step k = 0" in message


# ---- 5.5 the η of a step variance, and s = t − 1, σ² = β̃_t gives η = 1 --------------------------------------
def test_reference_ddim_eta_inverts_the_ddim_sigma_and_is_one_for_ddpm(sch):
    abar, prev = sch.alphas_cumprod.tolist(), sch.alphas_cumprod_prev.tolist()
    post, betas = sch.posterior_variance.tolist(), sch.betas.tolist()
    for k in (1, 10, 500, 999):
        assert ch5.reference_ddim_eta(abar[k], prev[k], post[k]) == pytest.approx(1.0, rel=1e-10)
        # DDPM's other variance, σ² = β_t, is DDIM with η = √(β_t/β̃_t) > 1
        assert ch5.reference_ddim_eta(abar[k], prev[k], betas[k]) == pytest.approx(math.sqrt(betas[k] / post[k]),
                                                                                  rel=1e-10)
    # σ from section 4's formula with η = 0.4 gives back 0.4
    a_t, a_s = abar[500], abar[300]
    sigma = 0.4 * math.sqrt((1 - a_s) / (1 - a_t)) * math.sqrt(1 - a_t / a_s)
    assert ch5.reference_ddim_eta(a_t, a_s, sigma ** 2) == pytest.approx(0.4, rel=1e-12)


def test_q5_passes_reference_and_blank_is_not_attempted():
    assert status(ch5.q5, ch5.reference_ddim_eta)[0] == CORRECT
    assert status(ch5.q5, blank_function)[0] == NOT_ATTEMPTED


@pytest.mark.parametrize("mistake", ch5.DDIM_ETA_MISTAKES, ids=lambda m: m.hint[:30])
def test_q5_typical_mistakes_get_their_hint(mistake):
    got, message = status(ch5.q5, mistake.wrong)
    assert got == INCORRECT and mistake.hint in message


def test_q5_a_negative_square_root_gets_its_reason():
    def last_factor_upside_down(a_t, a_s, s2):
        return math.sqrt(s2 / ((1 - a_s) / (1 - a_t) * (1 - a_s / a_t)))
    got, message = status(ch5.q5, last_factor_upside_down)
    assert got == INCORRECT and "1 − ᾱ_t/ᾱ_s" in message
