"""The named checks chapters use for their claims: right claims pass with one readable sentence, wrong
ones raise with the same sentence, and the statistical tolerances have the false-alarm rate and power
their documentation states."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from diffusion_lab import claims
from diffusion_lab.claims import ClaimFailed


def test_claim_close_prints_one_sentence_and_fails_with_it(capsys):
    c = claims.claim_close("ᾱ_100 of the texts' schedule", np.float64(0.90438), 0.904, atol=5e-4,
                           why="rounded to 3 decimals")
    out = capsys.readouterr().out
    assert out == "✓ ᾱ_100 of the texts' schedule: 0.9044, as expected 0.904 (± 0.0005: rounded to 3 decimals)\n"
    assert c and "np.float64" not in out
    with pytest.raises(ClaimFailed, match=r"^✗ ᾱ_100 .*0\.8187, as expected 0\.904"):
        claims.claim_close("ᾱ_100 of the texts' schedule", 0.8187, 0.904, atol=5e-4, why="rounded")
    with pytest.raises(ValueError, match="positive atol or rtol"):
        claims.claim_close("x", 1.0, 1.0, why="")
    with pytest.raises(TypeError, match="one number"):
        claims.claim_close("x", torch.zeros(3), 0.0, atol=1, why="")


def test_claim_close_rtol_is_relative_to_the_expected_value():
    claims.claim_close("big", 1000.9, 1000.0, rtol=1e-3, why="", quiet=True)
    with pytest.raises(ClaimFailed):
        claims.claim_close("big", 1001.1, 1000.0, rtol=1e-3, why="", quiet=True)


def test_statistical_claims_false_alarm_rate_and_power():
    # Under a right formula, Z_SAMPLING = 4 standard errors fail with probability ≈ 6e-5: in 400 honest
    # checks each of mean and std, expect none (allow 1). A mean off by 6 standard errors fails
    # almost always (P(|N(6,1)| < 4) ≈ 0.023): require ≥ 90 % of 100.
    rng = np.random.default_rng(0)
    n = 500
    fails = 0
    for _ in range(400):
        x = rng.normal(2.0, 0.5, n)
        for check, expected in ((claims.claim_mean, 2.0), (claims.claim_std, 0.5)):
            try:
                check("honest", x, expected, quiet=True)
            except ClaimFailed:
                fails += 1
    assert fails <= 1
    se = 0.5 / math.sqrt(n)
    caught = 0
    for _ in range(100):
        try:
            claims.claim_mean("m", rng.normal(2.0 + 6 * se, 0.5, n), 2.0, spread=0.5, quiet=True)
        except ClaimFailed:
            caught += 1
    assert caught >= 90


def test_claim_std_catches_a_wrong_spread_formula(capsys):
    # √(1−ᾱ) against the wrong (1−ᾱ): at ᾱ = 0.9 the spreads are 0.316 and 0.1
    x = torch.randn(2000, generator=torch.Generator().manual_seed(1)) * math.sqrt(0.1)
    claims.claim_std("the spread of x_t matches √(1−ᾱ_t)", x, math.sqrt(0.1))
    assert "within sampling error (n = 2000)" in capsys.readouterr().out
    with pytest.raises(ClaimFailed, match="0.1 within sampling error"):
        claims.claim_std("the spread of x_t matches √(1−ᾱ_t)", x, 0.1)


def test_claim_distribution_uses_the_ks_test():
    x = torch.randn(3000, generator=torch.Generator().manual_seed(2)) * 2 + 1
    from scipy import stats
    claims.claim_distribution("x ~ N(1, 2²)", x, stats.norm(1, 2).cdf, quiet=True)
    with pytest.raises(ClaimFailed, match="Kolmogorov–Smirnov"):
        claims.claim_distribution("x ~ N(1, 1)", x, stats.norm(1, 1).cdf, quiet=True)
    with pytest.raises(ValueError, match="NaN"):
        claims.claim_distribution("x", [1.0, float("nan")], stats.norm().cdf)


def test_order_and_yes_no_claims():
    assert claims.claim_below("error", 0.01, 0.02, why="float32", quiet=True)
    assert claims.claim_above("gain", 3, 2, quiet=True)
    assert claims.claim_true("the output depends on t", True, detail="max change 0.3", quiet=True)
    with pytest.raises(ClaimFailed, match=r"error: 0\.03 < 0\.02"):
        claims.claim_below("error", 0.03, 0.02)
    with pytest.raises(ClaimFailed, match="depends on t"):
        claims.claim_true("the output depends on t", False)


def test_fmt_is_plain():
    assert claims.fmt(np.float64(-0.0115)) == "-0.0115"
    assert claims.fmt(4.0358e-05) == "4.036e-05"
    assert claims.fmt(0) == "0"


def test_python_floats_are_compared_in_float64():
    # torch.as_tensor(0.3475) would be float32 (0.34749999642…) and miss a 1e-12 tolerance
    claims.claim_close("ᾱ_100", 0.3475, np.float64(0.3475), atol=1e-12, why="the same float64 number", quiet=True)
    claims.claim_mean("values", [0.1, 0.1 + 1e-17], 0.1, spread=1e-12, quiet=True)
