"""training.loss_against_floor: the floor of L_simple (the exact ε*'s loss, t uniform) and a model's loss
on the same fresh triples, checked against the closed form of a single Gaussian."""
from __future__ import annotations

import math

import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.distributions import GaussianMixture
from diffusion_lab.training import loss_against_floor


def _gaussian(s=0.5):
    return GaussianMixture([1.0], [[1.0, -2.0]], stds=s)


def test_the_floor_of_one_gaussian_is_its_closed_form():
    """x0 ~ N(m, s²I): ε* = √(1−ᾱ)(x_t − √ᾱ m)/(ᾱs² + 1 − ᾱ), so the loss of ε* at t is
    ᾱs²/(ᾱs² + 1 − ᾱ) per coordinate; the floor is its mean over the T steps. Within 4 standard errors."""
    sch, s = dl.make_schedule("linear", 1000), 0.5
    abar = sch.alphas_cumprod
    floor = float((abar * s ** 2 / (abar * s ** 2 + 1 - abar)).mean())
    dist = _gaussian(s)
    res = loss_against_floor(dist.eps_model(sch), sch, dist, n=40_000, generator=dl.make_generator(0))
    assert abs(res.loss_exact - floor) < 4 * res.se_exact, (res.loss_exact, floor, res.se_exact)
    assert res.loss_model == pytest.approx(res.loss_exact, abs=1e-6)          # the exact model is the floor
    assert res.mse_to_exact < 1e-10 and res.n == 40_000


def test_a_worse_model_scores_the_floor_plus_its_distance():
    sch = dl.make_schedule("linear", 1000)
    dist = _gaussian()
    exact = dist.eps_model(sch)
    res = loss_against_floor(lambda x, t: exact(x, t) + 0.3, sch, dist, n=20_000, generator=dl.make_generator(1))
    assert res.mse_to_exact == pytest.approx(0.09, rel=1e-4)                  # (ε̂ − ε*)² = 0.3² everywhere
    cross = 4 * math.sqrt(res.loss_exact * res.mse_to_exact * 4 / res.n)      # 4 s.e. of 2·mean((ε*−ε)·0.3)
    assert abs(res.loss_model - (res.loss_exact + res.mse_to_exact)) < cross


def test_bad_input_says_what_to_pass():
    sch = dl.make_schedule("linear", 1000)
    with pytest.raises(TypeError, match="exact eps_star"):
        loss_against_floor(lambda x, t: x, sch, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="at least 2"):
        loss_against_floor(lambda x, t: x, sch, _gaussian(), n=1)


def test_the_paired_standard_error_is_the_cross_terms_scale():
    """se_difference is the standard error of loss_model − loss_exact over the same triples: for ε̂ = ε* + c
    the difference per triple is c² − 2c·mean(ε − ε*), whose sd is 2|c|·sd(mean(ε − ε*)); the difference
    lands within 4 of them of mse_to_exact, and moving ε̂ by 5× the distance would not."""
    sch = dl.make_schedule("linear", 1000)
    dist = _gaussian()
    exact = dist.eps_model(sch)
    res = loss_against_floor(lambda x, t: exact(x, t) + 0.1, sch, dist, n=20_000, generator=dl.make_generator(2))
    expected = 2 * 0.1 * math.sqrt(res.loss_exact / 2 / res.n)               # 2 coordinates: var(mean) = floor/2
    assert res.se_difference == pytest.approx(expected, rel=0.1)
    assert abs((res.loss_model - res.loss_exact) - res.mse_to_exact) < 4 * res.se_difference
    assert 4 * res.se_difference < 4 * res.mse_to_exact                      # "floor + 5 × distance" fails
