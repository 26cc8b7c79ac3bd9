"""Schedules: golden values derived independently (numpy float64 / exact fractions written here),
every derived coefficient against its definition, storage dtype, ``gather`` and construction.

Code time steps run t = 0..T−1 (the papers' 1..T): ``alphas_cumprod[t]`` is the papers' ᾱ_{t+1}.
"""
from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.schedules import (COEFFICIENTS, NoiseSchedule, ScheduleWarning, cosine_betas,
                                     linear_betas, make_schedule, quadratic_betas,
                                     quadratic_ramp_betas, sigmoid_betas)

T = 1000


def np_linear_abar(T=1000, b0=1e-4, b1=0.02):
    """ᾱ from scratch in numpy float64 (independent of the package)."""
    return np.cumprod(1.0 - np.linspace(b0, b1, T))


def cosine_f(tau, T=1000, s=0.008):
    """Nichol & Dhariwal's f(τ) = cos²(((τ/T + s)/(1 + s))·π/2), in plain python math."""
    return math.cos((tau / T + s) / (1 + s) * math.pi / 2) ** 2


# ----------------------------------------------------------------------------------------------
# Golden values
# ----------------------------------------------------------------------------------------------
def test_linear_alphas_cumprod_golden_values():
    sched = make_schedule("linear", T)
    # papers' ᾱ_100, ᾱ_500, ᾱ_1000 = code t 99, 499, 999. Literals computed once with
    # np.cumprod(1 - np.linspace(1e-4, 0.02, 1000)); re-derived below with math.fsum of log1p.
    golden = {99: 8.97018146e-01, 499: 7.85872429e-02, 999: 4.03582977e-05}
    betas = [1e-4 + k * (0.02 - 1e-4) / (T - 1) for k in range(T)]
    for t, value in golden.items():
        exact = math.exp(math.fsum(math.log1p(-b) for b in betas[: t + 1]))
        assert exact == pytest.approx(value, rel=1e-8)                 # literal has 9 significant digits
        assert float(sched.alphas_cumprod[t]) == pytest.approx(exact, rel=1e-12)   # float64 cumprod
    np.testing.assert_allclose(sched.alphas_cumprod.numpy(), np_linear_abar(), rtol=1e-12)
    # the whole linear β is the papers' 1e-4 → 0.02, both ends exact
    assert float(sched.betas[0]) == pytest.approx(1e-4, rel=1e-12)
    assert float(sched.betas[-1]) == pytest.approx(0.02, rel=1e-12)


def test_cosine_betas_at_both_ends():
    sched = make_schedule("cosine", T)
    beta0 = 1 - cosine_f(1) / cosine_f(0)       # β for the papers' t = 1 (code t = 0), s = 0.008
    assert float(sched.betas[0]) == pytest.approx(beta0, rel=1e-10)
    assert beta0 == pytest.approx(4.1e-5, rel=0.05)  # sanity: the well-known tiny first β
    # the formula's last β is 1 − f(T)/f(T−1) = 1 − cos²(π/2)/… ≈ 1: it is clipped to 0.999
    assert 1 - cosine_f(T) / cosine_f(T - 1) > 0.999
    assert float(sched.betas[-1]) == 0.999
    assert float(sched.betas.max()) <= 0.999
    # away from the clip, ᾱ_t telescopes to f(t+1)/f(0)
    for t in (0, 1, 250, 500, 900):
        assert float(sched.alphas_cumprod[t]) == pytest.approx(cosine_f(t + 1) / cosine_f(0), rel=1e-10)


def test_quadratic_is_squared_linspace_of_sqrt_beta():
    expected = np.linspace(math.sqrt(1e-4), math.sqrt(0.02), T) ** 2
    np.testing.assert_allclose(quadratic_betas(T).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(make_schedule("quadratic", T).betas.numpy(), expected, rtol=1e-12)


def test_quadratic_ramp_matches_course_texts_formula():
    b0, b1 = 1e-4, 0.02
    papers_t = np.arange(1, T + 1)                        # the texts index t = 1..T
    expected = b0 + (papers_t / T) ** 2 * (b1 - b0)
    np.testing.assert_allclose(quadratic_ramp_betas(T).numpy(), expected, rtol=1e-12)
    betas = make_schedule("quadratic_ramp", T).betas
    assert float(betas[0]) == pytest.approx(b0 + (1 / T) ** 2 * (b1 - b0), rel=1e-12)
    assert float(betas[-1]) == pytest.approx(b1, rel=1e-12)


def test_sigmoid_endpoints():
    b0, b1 = 1e-4, 0.02
    betas = sigmoid_betas(T, b0, b1)
    sig = lambda u: 1 / (1 + math.exp(-u))  # noqa: E731
    assert float(betas[0]) == pytest.approx(b0 + sig(-6) * (b1 - b0), rel=1e-12)
    assert float(betas[-1]) == pytest.approx(b0 + sig(6) * (b1 - b0), rel=1e-12)
    assert bool((betas[1:] > betas[:-1]).all())           # increasing
    # midpoint (u = 0 falls between the two middle steps for even T): symmetric around (b0+b1)/2
    assert float(betas[T // 2 - 1] + betas[T // 2]) / 2 == pytest.approx((b0 + b1) / 2, rel=1e-6)


def test_course_exercise_linear_0p02_t_over_T():
    """The texts' exercise: β_t = 0.02·t/T (papers' t = 1..T, T = 1000). ᾱ_100 ≈ 0.904, NOT 0.998¹⁰⁰."""
    exact = math.prod(1 - Fraction(2, 100) * Fraction(t, 1000) for t in range(1, 101))
    exact = float(exact)                                   # exact rational arithmetic, then rounded
    assert exact == pytest.approx(0.9038718042636, rel=1e-12)
    wrong = 0.998 ** 100                                   # treats β as the constant β_100
    assert wrong == pytest.approx(0.8186, abs=1e-4)
    # β_t = 0.02 t/T is linear from 0.02/T (t = 1) to 0.02 (t = T)
    sched = make_schedule("linear", T, beta_start=0.02 / T, beta_end=0.02)
    np.testing.assert_allclose(sched.betas.numpy(), 0.02 * np.arange(1, T + 1) / T, rtol=1e-12)
    abar_100 = float(sched.alphas_cumprod[99])            # papers' ᾱ_100 = code t = 99
    assert abar_100 == pytest.approx(exact, rel=1e-12)
    assert abs(abar_100 - wrong) > 0.08                    # the book's answer is far off


def test_short_linear_schedule_warns_and_default_does_not():
    with pytest.warns(ScheduleWarning, match="T = 50"):
        short = make_schedule("linear", 50)
    expected = float(np.prod(1 - np.linspace(1e-4, 0.02, 50)))
    assert expected == pytest.approx(0.603, abs=1e-3)
    assert short.signal_left() == pytest.approx(expected, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                     # any warning fails the test
        for name in ("linear", "cosine", "quadratic", "quadratic_ramp", "sigmoid"):
            make_schedule(name, 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_schedule("linear", 50, warn=False)            # opting out is silent


# ----------------------------------------------------------------------------------------------
# Derived coefficients against their definitions (numpy float64, from the betas)
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["linear", "cosine", "quadratic", "quadratic_ramp", "sigmoid"])
def test_derived_coefficients_match_definitions(name):
    sched = make_schedule(name, 200, warn=False)
    b = sched.betas.numpy().copy()
    a = 1 - b
    abar = np.cumprod(a)
    abar_prev = np.concatenate([[1.0], abar[:-1]])
    pv = b * (1 - abar_prev) / (1 - abar)
    expected = {
        "alphas": a, "alphas_cumprod": abar, "alphas_cumprod_prev": abar_prev, "sqrt_alphas": np.sqrt(a),
        "sqrt_alphas_cumprod": np.sqrt(abar), "sqrt_one_minus_alphas_cumprod": np.sqrt(1 - abar),
        "sqrt_recip_alphas_cumprod": 1 / np.sqrt(abar), "sqrt_recipm1_alphas_cumprod": np.sqrt(1 / abar - 1),
        "posterior_variance": pv,
        "posterior_log_variance_clipped": np.log(np.concatenate([[pv[1]], pv[1:]])),
        "posterior_mean_coef1": b * np.sqrt(abar_prev) / (1 - abar),
        "posterior_mean_coef2": (1 - abar_prev) * np.sqrt(a) / (1 - abar),
        "snr": abar / (1 - abar), "log_snr": np.log(abar) - np.log(1 - abar),
    }
    for key, value in expected.items():
        # rtol 1e-9: float64 with different operation order; cosine's clipped end has ᾱ ~ 1e-9,
        # where 1 − ᾱ and log ᾱ are still well conditioned
        np.testing.assert_allclose(getattr(sched, key).numpy(), value, rtol=1e-9, atol=0, err_msg=key)
    assert float(sched.alphas_cumprod_prev[0]) == 1.0
    assert float(sched.posterior_variance[0]) == 0.0      # β̃_0 = 0: the first step back is exact
    assert float(sched.posterior_mean_coef1[0]) == pytest.approx(1.0, rel=1e-9)   # x0 exactly
    assert float(sched.posterior_mean_coef2[0]) == 0.0
    # the posterior mean coefficients reproduce x0 when x_t is noise-free (√ᾱ_t x0): c1 + c2 √ᾱ_t = √ᾱ_{t−1}
    np.testing.assert_allclose(expected["posterior_mean_coef1"] + expected["posterior_mean_coef2"] * np.sqrt(abar),
                               np.sqrt(abar_prev), rtol=1e-9)
    np.testing.assert_allclose(sched.posterior_mean_coef1.numpy() + sched.posterior_mean_coef2.numpy()
                               * np.sqrt(abar), np.sqrt(abar_prev), rtol=1e-9)


def test_every_coefficient_is_float64_shape_T():
    sched = make_schedule("linear", 300, warn=False)
    for key in COEFFICIENTS:
        value = getattr(sched, key)
        assert value.dtype == torch.float64, key
        assert tuple(value.shape) == (300,), key
    assert sched.T == len(sched) == 300


def test_signal_left_and_t_half():
    sched = make_schedule("linear", T)
    abar = np_linear_abar()
    assert sched.signal_left() == pytest.approx(abar[-1], rel=1e-12)
    t_half = int(np.argmax(abar < 0.5))
    assert abar[t_half] < 0.5 <= abar[t_half - 1]
    assert sched.t_half() == t_half
    # describe() speaks the maths' t = 1..T: the step t = code index + 1, and ᾱ_T (not ᾱ_(T−1))
    assert f"t = {t_half + 1} (code index {t_half})" in sched.describe()
    assert f"ᾱ_T = {abar[-1]:.3g}" in sched.describe() and "T−1" not in sched.describe() + repr(sched)


# ----------------------------------------------------------------------------------------------
# gather
# ----------------------------------------------------------------------------------------------
def test_gather_images_shape_dtype_device():
    sched = make_schedule("linear", T)
    t = torch.tensor([0, 10, 999, 500])
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        like = torch.zeros(4, 3, 8, 8, dtype=dtype)
        out = sched.gather("sqrt_alphas_cumprod", t, like)
        assert out.shape == (4, 1, 1, 1) and out.dtype == dtype
        expected = np.sqrt(np_linear_abar())[[0, 10, 999, 500]]
        rtol = {torch.float32: 1e-6, torch.float64: 1e-12, torch.float16: 1e-3, torch.bfloat16: 8e-3}[dtype]
        np.testing.assert_allclose(out.double().reshape(-1).numpy(), expected, rtol=rtol)
        assert (like * out).shape == like.shape
    # device follows `like` (the meta device stands in for a GPU: no data, but device and dtype are real)
    meta = torch.empty(4, 1, 8, 8, device="meta")
    out = sched.gather("betas", t, meta)
    assert out.device.type == "meta" and out.shape == (4, 1, 1, 1) and out.dtype == torch.float32


def test_gather_int_t_and_other_ranks():
    sched = make_schedule("linear", T)
    x2 = torch.zeros(5, 2)
    out = sched.gather("betas", 7, x2)
    assert out.dim() == 0 and float(out) == pytest.approx(float(np.linspace(1e-4, 0.02, T)[7]), rel=1e-6)
    out = sched.gather("betas", torch.arange(5), x2)
    assert out.shape == (5, 1)
    out = sched.gather("alphas", torch.tensor(3), x2)        # 0-dim tensor t: one value for the batch
    assert out.dim() == 0
    # integer `like` gets float32 (coefficients are never integers)
    assert sched.gather("betas", 1, torch.zeros(2, 1, dtype=torch.long)).dtype == torch.float32
    with pytest.raises(ValueError, match="posterior_variance"):
        sched.gather("posterior_varience", 1, x2)              # typo: error lists the known names


# ----------------------------------------------------------------------------------------------
# construction
# ----------------------------------------------------------------------------------------------
def test_aliases():
    for alias, name in (("scaled_linear", "quadratic"), ("squaredcos_cap_v2", "cosine")):
        np.testing.assert_array_equal(make_schedule(alias, T).betas.numpy(), make_schedule(name, T).betas.numpy())
    assert "scaled_linear" in dl.SCHEDULE_NAMES and "squaredcos_cap_v2" in dl.SCHEDULE_NAMES


@pytest.mark.parametrize("name,kw", [("linear", {}), ("cosine", {"s": 0.01}), ("quadratic", {"beta_end": 0.012}),
                                     ("sigmoid", {"start": -3.0, "end": 3.0})])
def test_from_config_round_trip(name, kw):
    sched = make_schedule(name, 250, warn=False, **kw)
    config = json.loads(json.dumps(sched.config))          # checkpoints store it as JSON
    back = NoiseSchedule.from_config(config)
    assert back.name == sched.name and back.T == sched.T
    np.testing.assert_array_equal(back.betas.numpy(), sched.betas.numpy())
    np.testing.assert_array_equal(back.alphas_cumprod.numpy(), sched.alphas_cumprod.numpy())


def test_custom_betas_round_trip():
    betas = np.linspace(0.001, 0.3, 40)
    sched = NoiseSchedule(betas, name="mine")
    back = NoiseSchedule.from_config(json.loads(json.dumps(sched.config)))
    np.testing.assert_array_equal(back.betas.numpy(), betas)
    assert back.name == "mine"
    np.testing.assert_allclose(sched.alphas_cumprod.numpy(), np.cumprod(1 - betas), rtol=1e-12)


def test_recipes_return_float64_length_T():
    for fn in (linear_betas, cosine_betas, quadratic_betas, quadratic_ramp_betas, sigmoid_betas):
        b = fn(17)
        assert b.dtype == torch.float64 and b.shape == (17,), fn.__name__
        assert bool((b > 0).all() and (b < 1).all()), fn.__name__


# ----------------------------------------------------------------------------------------------
# several schedules side by side (chapter 3): make_schedules, DIFFUSERS_NAMES, schedule_table
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def five():
    return dl.schedules.make_schedules(T=1000)


def test_make_schedules_gives_the_five_recipes_in_order(five):
    assert tuple(five) == dl.schedules.RECIPE_NAMES == ("linear", "cosine", "quadratic", "quadratic_ramp", "sigmoid")
    assert all(s.T == 1000 and s.name == name for name, s in five.items())


@pytest.mark.parametrize("ours, diffusers", [("linear", "linear"), ("cosine", "squaredcos_cap_v2"),
                                             ("quadratic", "scaled_linear")])
def test_diffusers_names_give_the_same_betas(five, ours, diffusers):
    assert dl.schedules.DIFFUSERS_NAMES[ours] == diffusers
    assert torch.equal(dl.make_schedule(diffusers, 1000).betas, five[ours].betas)


def test_sigmoid_matches_diffusers_formula(five):
    # diffusers' DDPMScheduler "sigmoid": sigmoid(linspace(-6, 6, T)) * (β_end − β_start) + β_start
    u = np.linspace(-6, 6, 1000)
    np.testing.assert_allclose(five["sigmoid"].betas.numpy(), 1e-4 + (0.02 - 1e-4) / (1 + np.exp(-u)), rtol=1e-12)


def test_cosine_crosses_half_where_the_closed_form_says(five):
    # ᾱ(τ) = f(τ)/f(0) = 0.5  ⇔  τ* = (1+s)·(2/π)·arccos(√(0.5 f(0))) − s; code t = papers' t − 1
    s = 0.008
    f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2
    tau_star = (1 + s) * 2 / math.pi * math.acos(math.sqrt(0.5 * f0)) - s
    assert 0.49 < tau_star < 0.50
    assert five["cosine"].t_half() == math.floor(tau_star * 1000) == 496


def test_schedule_table_rows(five):
    rows = {r["name"]: r for r in dl.schedules.schedule_table(five)}
    assert {n: r["t_half"] for n, r in rows.items()} == {"linear": 259, "cosine": 496, "quadratic": 418,
                                                          "quadratic_ramp": 459, "sigmoid": 439}
    # ᾱ_(T−1) by hand (numpy products of the β's)
    assert rows["linear"]["abar_last"] == pytest.approx(np.prod(1 - np.linspace(1e-4, 0.02, 1000)), rel=1e-12)
    ramp = 1e-4 + (np.arange(1, 1001) / 1000) ** 2 * (0.02 - 1e-4)
    assert rows["quadratic_ramp"]["abar_last"] == pytest.approx(np.prod(1 - ramp), rel=1e-12)
    assert rows["quadratic"]["abar_last"] == pytest.approx(
        np.prod(1 - np.linspace(1e-2, math.sqrt(0.02), 1000) ** 2), rel=1e-12)
    for r in rows.values():
        assert r["scale_last"] == pytest.approx(math.sqrt(r["abar_last"]), rel=1e-12)
        assert r["t_half_frac"] == (r["t_half"] + 1) / 1000          # the maths' t (code index + 1), over T
        assert r["beta_first"] == float(five[r["name"]].betas[0]) and r["T"] == 1000
    assert rows["quadratic_ramp"]["diffusers"] is None and rows["cosine"]["diffusers"] == "squaredcos_cap_v2"


def test_make_schedules_keeps_short_schedules_quiet():
    with pytest.warns(ScheduleWarning, match="T = 50"):
        dl.make_schedule("linear", 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        short = dl.schedules.make_schedules(["linear"], T=50)
    for T, scale in ((50, 0.7765), (200, 0.3636), (300, 0.2192)):
        abar = np.prod(1 - np.linspace(1e-4, 0.02, T))
        assert math.sqrt(abar) == pytest.approx(scale, abs=1e-4)
        assert dl.schedules.make_schedules(["linear"], T)["linear"].signal_left() == pytest.approx(abar, rel=1e-12)
    assert short["linear"].T == 50
