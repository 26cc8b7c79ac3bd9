"""Every documented bad input raises ValueError/TypeError whose message says what was given and how
to fix it. Each test checks the message content, not just the exception type.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab import validation as V

T = 1000


@pytest.fixture(scope="module")
def sched():
    return dl.make_schedule("linear", T)


def zero_eps(x, t):
    return torch.zeros_like(x)


# ----------------------------------------------------------------------------------------------
# time steps
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [1000, -1, 5000])
def test_int_t_out_of_range(sched, bad):
    with pytest.raises(ValueError) as err:
        dl.q_sample(sched, torch.zeros(2, 1), bad)
    msg = str(err.value)
    assert f"t = {bad} is outside [0, 1000)" in msg and "t is a code index" in msg
    assert "code indices run 0..999 (the maths' t = 1..1000)" in msg      # explains the convention
    assert "for the maths' t pass t − 1" in msg and "t = 1000, is code index 999" in msg   # names the fix


def test_t_out_of_range_names_the_argument_and_speaks_chinese(sched):
    with pytest.raises(ValueError, match=r"t_start = 1000 is outside \[0, 1000\): t_start is a code index"):
        dl.sampling.ddpm_steps(lambda x, t: torch.zeros_like(x), sched, torch.zeros(2, 1), t_start=1000)
    dl.set_language("zh", font=None)
    try:
        with pytest.raises(ValueError) as err:
            dl.q_sample(sched, torch.zeros(2, 1), 1000)
    finally:
        dl.set_language("en", font=None)
    assert "t = 1000 超出了 [0, 1000)" in str(err.value) and "代码索引" in str(err.value)


def test_tensor_t_out_of_range(sched):
    with pytest.raises(ValueError) as err:
        dl.q_sample(sched, torch.zeros(3, 1), torch.tensor([0, 500, 1000]))
    msg = str(err.value)
    assert "[0, 1000]" in msg and "outside [0, 1000)" in msg and "code indices, which run 0..999" in msg
    assert "for the maths' t pass t − 1" in msg
    with pytest.raises(ValueError, match=r"\[-2, 3\]"):
        dl.q_posterior(sched, torch.zeros(2, 1), torch.zeros(2, 1), torch.tensor([-2, 3]))


def test_float_t_tensor(sched):
    with pytest.raises(TypeError) as err:
        dl.q_sample(sched, torch.zeros(2, 1), torch.tensor([1.0, 2.0]))
    msg = str(err.value)
    assert "integer time steps" in msg and "torch.float32" in msg and ".long()" in msg
    with pytest.raises(TypeError, match="bool"):
        dl.q_sample(sched, torch.zeros(2, 1), True)
    with pytest.raises(TypeError, match="LongTensor"):
        dl.q_sample(sched, torch.zeros(2, 1), 3.0)
    with pytest.raises(ValueError, match=r"shape \(batch,\)"):
        dl.q_sample(sched, torch.zeros(2, 1), torch.zeros(2, 1, dtype=torch.long))


def test_numpy_int_t_is_accepted(sched):
    a = dl.q_sample(sched, torch.ones(2, 1), np.int64(10), noise=torch.zeros(2, 1))
    b = dl.q_sample(sched, torch.ones(2, 1), 10, noise=torch.zeros(2, 1))
    assert torch.equal(a, b)


def test_t_batch_size_mismatch(sched):
    with pytest.raises(ValueError) as err:
        dl.q_sample(sched, torch.zeros(4, 2), torch.tensor([1, 2, 3]))
    msg = str(err.value)
    assert "3 time steps" in msg and "batch size 4" in msg
    assert "one t per sample" in msg and "(4,)" in msg and "single int" in msg
    with pytest.raises(ValueError, match="one t per sample"):
        dl.predict_start_from_noise(sched, torch.zeros(4, 2), torch.tensor([1, 2]), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="one t per point"):
        dl.make_distribution("ring").eps_star(sched, torch.zeros(4, 2), torch.tensor([1, 2]))


def test_timestep_checks_in_other_entry_points(sched):
    with pytest.raises(ValueError, match="t_start"):
        dl.ddpm_steps(zero_eps, sched, (2, 1), t_start=1000)
    with pytest.raises(ValueError, match="timesteps"):
        dl.ddim_steps(zero_eps, sched, (2, 1), timesteps=[1000, 500, 0])
    with pytest.raises(ValueError, match="0..999"):
        sched.gather("betas", 1000, torch.zeros(1))
    with pytest.raises(ValueError, match="0..999"):
        dl.make_distribution("ring").marginal(sched, 1000)
    with pytest.raises(TypeError, match="one int t"):
        dl.make_distribution("ring").marginal(sched, torch.tensor([1, 2]))


# ----------------------------------------------------------------------------------------------
# schedules
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0, -5])
def test_T_below_one(bad):
    with pytest.raises(ValueError) as err:
        dl.make_schedule("linear", bad)
    assert "at least 1" in str(err.value) and f"T = {bad}" in str(err.value)


@pytest.mark.parametrize("bad", [10.0, "1000", True])
def test_T_not_an_int(bad):
    with pytest.raises(TypeError, match="integer number of steps"):
        dl.make_schedule("linear", bad)


@pytest.mark.parametrize("betas", [[0.1, 1.0], [0.0, 0.2], [0.1, -0.01], [0.5, 1.5]])
def test_betas_outside_open_unit_interval(betas):
    with pytest.raises(ValueError) as err:
        dl.NoiseSchedule(betas)
    msg = str(err.value)
    assert "(0, 1)" in msg and "got values in" in msg
    assert "1e-4..0.02" in msg                                 # what a sensible β looks like


def test_betas_outside_range_through_make_schedule():
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        dl.make_schedule("linear", 100, beta_end=1.2)
    with pytest.raises(ValueError, match="non-finite"):
        dl.NoiseSchedule([0.1, float("nan")])
    with pytest.raises(ValueError, match="1D tensor"):
        dl.NoiseSchedule([[0.1, 0.2]])


def test_unknown_schedule_name_lists_known_names():
    with pytest.raises(ValueError) as err:
        dl.make_schedule("cosin")
    msg = str(err.value)
    assert "'cosin'" in msg
    for name in dl.SCHEDULE_NAMES:
        assert repr(name) in msg
    assert "Did you mean 'cosine'" in msg
    with pytest.raises(ValueError, match="'linear'"):
        dl.make_schedule(None)


def test_schedule_bad_kwarg():
    with pytest.raises(TypeError) as err:
        dl.make_schedule("cosine", 100, beta_end=0.02)
    assert "'cosine'" in str(err.value) and "beta_end" in str(err.value)


# ----------------------------------------------------------------------------------------------
# tensors: NaN, shapes, types
# ----------------------------------------------------------------------------------------------
def test_nan_input(sched):
    x0 = torch.tensor([[0.0], [float("nan")], [float("inf")]])
    with pytest.raises(ValueError) as err:
        dl.q_sample(sched, x0, 3)
    msg = str(err.value)
    assert msg.startswith("x0 contains 2 non-finite value(s)") and "NaN or inf" in msg
    with pytest.raises(ValueError, match="x_t contains 1 non-finite"):
        dl.q_posterior(sched, torch.zeros(1, 1), torch.tensor([[float("nan")]]), 3)
    with pytest.raises(ValueError, match="x0 contains 1 non-finite"):
        dl.q_posterior(sched, torch.tensor([[float("nan")]]), torch.zeros(1, 1), 3)
    with pytest.raises(ValueError, match="x_T contains"):
        dl.ddpm_steps(zero_eps, sched, torch.full((2, 1), float("nan")))
    with pytest.raises(ValueError, match="non-finite"):
        dl.make_distribution("ring").log_prob_t(sched, torch.tensor([[0.0, float("nan")]]), 0)


def test_mismatched_noise_shape(sched):
    with pytest.raises(ValueError) as err:
        dl.q_sample(sched, torch.zeros(4, 2), 5, noise=torch.zeros(4, 3))
    msg = str(err.value)
    assert "(4, 2)" in msg and "(4, 3)" in msg and "must match" in msg and "noise" in msg
    with pytest.raises(ValueError, match="must match"):
        dl.q_step(sched, torch.zeros(4, 2), 5, noise=torch.zeros(2, 4))
    with pytest.raises(ValueError, match="x0 has shape"):
        dl.q_posterior(sched, torch.zeros(3, 2), torch.zeros(4, 2), 5)
    with pytest.raises(ValueError, match="eps has shape"):
        dl.predict_start_from_noise(sched, torch.zeros(4, 2), 5, torch.zeros(4, 1))


def test_wrong_types(sched):
    with pytest.raises(TypeError, match=r"torch.as_tensor\(x0\)"):
        dl.q_sample(sched, "not a tensor", 3)
    with pytest.raises(TypeError, match=r"make_schedule\('linear', T\)"):
        dl.q_sample("linear", torch.zeros(2, 1), 3)
    with pytest.raises(TypeError, match=r"make_schedule\('linear', T\)"):
        dl.ddpm_steps(zero_eps, "linear", (2, 1))
    with pytest.raises(TypeError, match=r"shape tuple like \(1000, 2\)"):
        dl.ddim_steps(zero_eps, sched, "noise")
    with pytest.raises(TypeError, match="callable"):
        dl.ddim_steps(None, sched, (2, 1))
    # numpy input is accepted and converted
    out = dl.q_sample(sched, np.zeros((2, 1)), 3, noise=np.ones((2, 1)))
    assert isinstance(out, torch.Tensor)
    assert float(out[0, 0]) == pytest.approx(math.sqrt(1 - float(sched.alphas_cumprod[3])), rel=1e-12)


# ----------------------------------------------------------------------------------------------
# samplers
# ----------------------------------------------------------------------------------------------
def test_unknown_variance_raises_on_call(sched):
    with pytest.raises(ValueError) as err:
        dl.ddpm_steps(zero_eps, sched, (2, 1), variance="sigma")   # raised at the call, not at next()
    msg = str(err.value)
    assert "'sigma'" in msg and "'beta_tilde'" in msg and "'beta'" in msg


@pytest.mark.parametrize("eta", [-0.1, 1.5, float("nan")])
def test_eta_outside_unit_interval(sched, eta):
    with pytest.raises(ValueError) as err:
        dl.ddim_steps(zero_eps, sched, (2, 1), eta=eta)
    assert "eta must lie in [0, 1]" in str(err.value) and "0: deterministic" in str(err.value)


def test_num_steps_above_T(sched):
    with pytest.raises(ValueError) as err:
        dl.ddim_steps(zero_eps, sched, (2, 1), num_steps=1001)
    msg = str(err.value)
    assert "num_steps = 1001" in msg and "T = 1000" in msg and "num_steps ≤ 1000" in msg
    with pytest.raises(ValueError, match="at least 1"):
        dl.ddim_timesteps(1000, 0)


@pytest.mark.parametrize("taus", [[0, 500, 999], [999, 500, 500, 0], [999, 10, 20]])
def test_non_decreasing_timesteps(sched, taus):
    with pytest.raises(ValueError) as err:
        dl.ddim_steps(zero_eps, sched, (2, 1), timesteps=taus)
    msg = str(err.value)
    assert "strictly decreasing" in msg and str(taus) in msg and "ddim_timesteps(T, num_steps)" in msg


def test_empty_timesteps(sched):
    with pytest.raises(ValueError, match="timesteps is empty"):
        dl.ddim_steps(zero_eps, sched, (2, 1), timesteps=[])


# ----------------------------------------------------------------------------------------------
# distributions
# ----------------------------------------------------------------------------------------------
def test_unknown_distribution_name_lists_names():
    with pytest.raises(ValueError) as err:
        dl.make_distribution("gaussian")
    msg = str(err.value)
    assert all(repr(n) in msg for n in dl.DISTRIBUTION_NAMES) and "Did you mean 'gaussian_2d'" in msg


def test_gaussian_mixture_constructor_errors():
    with pytest.raises(ValueError, match="one weight per component"):
        dl.GaussianMixture([0.5, 0.5], [[0.0], [1.0], [2.0]], stds=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        dl.GaussianMixture([-1.0, 2.0], [[0.0], [1.0]], stds=1.0)
    with pytest.raises(ValueError, match="exactly one of covs"):
        dl.GaussianMixture([1.0], [[0.0]])
    with pytest.raises(ValueError, match=r"\(K, d, d\) = \(1, 2, 2\)"):
        dl.GaussianMixture([1.0], [[0.0, 0.0]], covs=[[1.0, 0.0]])
    with pytest.raises(ValueError, match="positive semi-definite"):
        dl.GaussianMixture([1.0], [[0.0, 0.0]], covs=[[[1.0, 2.0], [2.0, 1.0]]])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        dl.make_distribution("ring").log_prob_t(dl.make_schedule(), torch.zeros(3, 3), 0)
    with pytest.raises(ValueError, match="positive int"):
        dl.make_distribution("ring").sample(0)
    with pytest.raises(ValueError, match="positive int"):
        dl.make_distribution("moons").sample(2.5)


# ----------------------------------------------------------------------------------------------
# validation helpers directly
# ----------------------------------------------------------------------------------------------
def test_validation_helpers():
    assert V.check_timestep(5, 10) == 5 and isinstance(V.check_timestep(np.int32(5), 10), int)
    t = torch.tensor([0, 9])
    assert V.check_timestep(t, 10) is t
    assert V.check_num_steps(np.int64(7)) == 7
    assert V.as_tensor([1, 2]).dtype == torch.float64
    assert V.as_tensor(np.float32(1.0)).dtype == torch.float32
    x = torch.zeros(2)
    assert V.check_finite(x) is x
    V.check_finite(torch.tensor([1, 2]))                           # integer tensors are always finite
    with pytest.raises(ValueError, match="uninitialised"):
        V.check_finite(torch.tensor([float("nan")]), "thing")
    err = V.unknown_name("colour", "blu", ["red", "blue"])
    assert isinstance(err, ValueError) and "'red', 'blue'" in str(err) and "Did you mean 'blue'" in str(err)
    with pytest.raises(TypeError, match="seed must be an int"):
        dl.seed_everything(1.5)
