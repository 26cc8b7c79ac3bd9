"""Classifier-free guidance: the combination, guided ε-models from networks and exact fields, and what
samplers driven by the exact guided field produce.

Tolerances: float32 network outputs agree to 1e-6 (round-off); float64 exact fields to 1e-10;
statistical checks allow Z_SAMPLING = 4 standard errors (diffusion_lab.claims), plus, for samplers, a
stated allowance for their discretisation."""

import math

import pytest
import torch

import diffusion_lab as dl
from diffusion_lab import guidance as G
from diffusion_lab.claims import Z_SAMPLING
from diffusion_lab.distributions import GaussianMixture, labelled_ring
from diffusion_lab.models import TimeMLP, TinyUNet
from diffusion_lab.sampling import ddim_sample, final, langevin_steps
from diffusion_lab.schedules import make_schedule

SCHEDULE = make_schedule("linear", 1000)


@pytest.fixture(scope="module")
def ring4():
    return labelled_ring()


@pytest.fixture(scope="module")
def cond_mlp():
    torch.manual_seed(0)
    return TimeMLP(hidden=32, depth=2, time_dim=16, num_classes=3).eval()


# ------------------------------------------------------------------ the combination
def test_guidance_combination_formula_and_endpoints():
    g = torch.Generator().manual_seed(0)
    e0, e1 = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    torch.testing.assert_close(G.guidance_combination(e0, e1, 0.0), e0)
    torch.testing.assert_close(G.guidance_combination(e0, e1, 1.0), e1)
    torch.testing.assert_close(G.guidance_combination(e0, e1, 7.5), e0 + 7.5 * (e1 - e0))
    w = torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0])
    torch.testing.assert_close(G.guidance_combination(e0, e1, w), e0 + w[:, None] * (e1 - e0))
    with pytest.raises(ValueError, match="same shape"):
        G.guidance_combination(e0, e1[:3], 2.0)
    with pytest.raises(ValueError, match="finite"):
        G.guidance_combination(e0, e1, float("nan"))
    with pytest.raises(TypeError, match="guidance scale w must be a number"):
        G.guidance_combination(e0, e1, "3")


# ------------------------------------------------------------------ guided ε-models
def test_guided_network_matches_separate_calls(cond_mlp):
    x, t = torch.randn(6, 2), torch.tensor([0, 5, 50, 500, 900, 999])
    eps_y, eps_null = cond_mlp(x, t, 1), cond_mlp(x, t)
    for w in (0.0, 1.0, 2.0, 7.0):
        guided = G.guided_eps_model(cond_mlp, 1, w)
        torch.testing.assert_close(guided(x, t), eps_null + w * (eps_y - eps_null), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(G.guided_eps_model(cond_mlp, 1, 1.0)(x, t), eps_y)
    torch.testing.assert_close(G.guided_eps_model(cond_mlp, 1, 0.0)(x, t), eps_null)
    # a negative prompt replaces ∅
    eps_neg = cond_mlp(x, t, 2)
    torch.testing.assert_close(G.guided_eps_model(cond_mlp, 1, 3.0, negative=2)(x, t),
                               eps_neg + 3.0 * (eps_y - eps_neg), atol=1e-6, rtol=1e-6)
    # one label and one scale per sample
    y, w = torch.tensor([0, 1, 2, 3, 0, 1]), torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    per = G.guided_eps_model(cond_mlp, y, w)(x, t)
    torch.testing.assert_close(per, eps_null + w[:, None] * (cond_mlp(x, t, y) - eps_null), atol=1e-6, rtol=1e-6)


def test_guided_network_calls_the_model_once_per_step(cond_mlp):
    guided = G.guided_eps_model(cond_mlp, 0, 3.0)
    ddim_sample(guided, SCHEDULE, (8, 2), num_steps=5, generator=torch.Generator().manual_seed(0))
    assert guided.calls == 5


def test_guidance_needs_a_conditional_model():
    with pytest.raises(ValueError, match="label-conditioned model"):
        G.guided_eps_model(TimeMLP(hidden=8, depth=1, time_dim=8), 0, 2.0)
    with pytest.raises(ValueError, match="classes 0..2 or 3"):
        torch.manual_seed(0)
        G.guided_eps_model(TimeMLP(hidden=8, depth=1, time_dim=8, num_classes=3), 7, 2.0)(torch.zeros(2, 2), 0)


def test_exact_guided_model_equals_the_mixtures_guided_field(ring4):
    field = ring4.conditional_eps_model(SCHEDULE)
    assert field.num_classes == 4 and field.null_label == 4
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2
    t = torch.full((50,), 300)
    for w, neg in ((0.0, None), (1.0, None), (4.0, None), (3.0, 2)):
        got = G.guided_eps_model(field, 1, w, negative=neg)(x, t)
        torch.testing.assert_close(got, ring4.eps_star_guided(SCHEDULE, x, 300, 1, w, negative=neg),
                                   atol=1e-10, rtol=1e-10)


# ------------------------------------------------------------------ samplers with the exact guided field
def test_ddim_with_the_exact_guided_field_samples_the_tilted_gaussian():
    """A case where the tilted density is computable and the guided sampler must reproduce it exactly:
    p(x) = N(0, s²I), p(x | y) = N(μ, s²I) (a log-linear p(y | x)). Then p(x)^{1−w} p(x | y)^w = N(wμ, s²I)
    at t = 0 and, with the same variance at every t, the guided field is exactly the score of the
    noised tilted density, so a sampler with it samples N(wμ, s²I): here DDIM (η = 0, 100 steps).
    Tolerance: 4 standard errors (s/√n for a mean; s/√(2(n−1)) for a std) plus 0.01·s for the
    sampler's discretisation (measured: below 0.003·s for Gaussian data at 100 steps)."""
    s, mu = 0.5, torch.tensor([0.6, -0.3])
    uncond = GaussianMixture([1.0], [[0.0, 0.0]], stds=s)
    cond = GaussianMixture([1.0], [mu.tolist()], stds=s)
    n = 2000
    for w in (0.0, 1.0, 3.0):
        guided = G.guided_eps_from_fields(uncond.eps_model(SCHEDULE), cond.eps_model(SCHEDULE), w)
        x_T = torch.randn(n, 2, generator=torch.Generator().manual_seed(int(w)), dtype=torch.float64)
        x = ddim_sample(guided, SCHEDULE, x_T, num_steps=100)
        allowance = 0.01 * s
        assert bool(((x.mean(0) - w * mu).abs() <= Z_SAMPLING * s / math.sqrt(n) + allowance).all()), (w, x.mean(0))
        assert bool(((x.std(0) - s).abs() <= Z_SAMPLING * s / math.sqrt(2 * (n - 1)) + allowance).all()), (w, x.std(0))


def test_langevin_with_the_exact_guided_field_samples_the_tilted_density(ring4):
    """At a fixed noise level t the guided field is the score of p_t(x) p_t(y | x)^w, so Langevin dynamics
    with it samples that density (computed on a grid). t = 250 (ᾱ ≈ 0.5): the classes overlap and
    the chains mix. Tolerance: 4 standard errors of each coordinate's mean and std, plus 0.03 for the
    Langevin step δ = 0.03 (its bias on the variance is O(δ))."""
    t, w, n = 250, 3.0, 2000
    field = G.guided_eps_model(ring4.conditional_eps_model(SCHEDULE), 0, w)
    start = torch.randn(n, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x = final(langevin_steps(field, SCHEDULE, start, t, num_steps=300, step_size=0.03,
                             generator=torch.Generator().manual_seed(3)))
    xs, ys, dens, cell = ring4.tilted_grid(SCHEDULE, t, 0, w, lim=5.0, grid_n=201)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    p = dens * cell
    mean = torch.stack([(p * gx).sum(), (p * gy).sum()])
    std = (torch.stack([(p * gx ** 2).sum(), (p * gy ** 2).sum()]) - mean ** 2).sqrt()
    assert bool(((x.mean(0) - mean).abs() <= Z_SAMPLING * std / math.sqrt(n) + 0.03).all()), (x.mean(0), mean)
    assert bool(((x.std(0) - std).abs() <= Z_SAMPLING * std / math.sqrt(2 * (n - 1)) + 0.03).all()), (x.std(0), std)


def test_conditional_sampling_follows_p_x_given_y_and_guidance_does_not(ring4):
    """w = 1: DDIM with the exact conditional field gives p(x0 | y): its Bayes precision matches exact
    samples of p(x0 | y) (4 binomial standard errors + 0.02 for 100 DDIM steps). w = 4: every sample
    lands in class y, and the samples sit further out than the data (mean radius, measured)."""
    field = ring4.conditional_eps_model(SCHEDULE)
    n = 1500
    exact = ring4.conditional(0).sample(20000, generator=torch.Generator().manual_seed(4))
    exact_precision = float((ring4.log_prob_y_given_x_t(None, exact, None).argmax(1) == 0).double().mean())
    x1 = G.sample_guided(field, SCHEDULE, 0, 1.0, (n, 2), num_steps=100, generator=torch.Generator().manual_seed(5))
    r1 = G.class_precision_spread(x1, ring4, 0)
    se = math.sqrt(exact_precision * (1 - exact_precision) / n)
    assert abs(r1["precision"] - exact_precision) <= Z_SAMPLING * se + 0.02, (r1, exact_precision)
    assert abs(r1["spread"] - 1.0) < 0.1
    x4 = G.sample_guided(field, SCHEDULE, 0, 4.0, (n, 2), num_steps=100, generator=torch.Generator().manual_seed(5))
    r4 = G.class_precision_spread(x4, ring4, 0)
    assert r4["precision"] > exact_precision and r4["precision"] > 0.99
    data_radius = float(exact.norm(dim=1).mean())
    assert r4["mean_radius"] > data_radius + 0.1, (r4, data_radius)


def test_negative_prompt_moves_mass_away_from_a_class(ring4):
    field = ring4.conditional_eps_model(SCHEDULE)
    gen = torch.Generator().manual_seed(6)
    plain = G.sample_guided(field, SCHEDULE, None, 0.0, (1000, 2), num_steps=50, generator=gen)
    away = G.sample_guided(field, SCHEDULE, None, 3.0, (1000, 2), negative=1, num_steps=50, generator=gen)
    frac_plain = G.class_precision_spread(plain, ring4, 1)["precision"]
    frac_away = G.class_precision_spread(away, ring4, 1)["precision"]
    assert abs(frac_plain - 0.25) < Z_SAMPLING * math.sqrt(0.25 * 0.75 / 1000) + 0.02
    assert frac_away < 0.02, frac_away


# ------------------------------------------------------------------ measuring
def test_class_precision_spread_on_exact_samples(ring4):
    x = ring4.conditional(2).sample(4000, generator=torch.Generator().manual_seed(7))
    r = G.class_precision_spread(x, ring4, 2)
    assert 0.9 < r["precision"] < 1.0
    assert abs(r["spread"] - 1.0) < 0.05 and r["coverage"] > 0.99
    assert abs(r["mean_radius"] - 2.0) < 0.1


def test_intended_class_metrics_on_real_digits():
    from diffusion_lab.checkpoints import load_checkpoint, shipped
    from diffusion_lab.data import load_digits_8x8

    clf, _ = load_checkpoint(shipped("classifier_digits"))
    x, y = load_digits_8x8("test")
    m = G.intended_class_metrics(x, y, clf, reference=x)
    assert m["n"] == len(y) and m["accuracy"] > 0.9 and 0.8 < m["confidence"] <= 1.0
    # the Fréchet distance of a set to itself is 0 up to the round-off of the matrix square root (~1e-4)
    assert abs(m["diversity"] - 1.0) < 1e-9 and abs(m["fid"]) < 1e-3
    wrong = G.intended_class_metrics(x, (y + 1) % 10, clf)
    assert wrong["accuracy"] < 0.1


def test_guidance_grid_shapes_and_w0_ignores_the_class():
    torch.manual_seed(0)
    model = TinyUNet(base=8, channel_mults=(1, 2), groups=4, num_classes=10, conditioning="cross_attention").eval()
    grid = G.guidance_grid(model, SCHEDULE, ws=[0.0, 2.0], classes=[0, 3, 7], seeds=[1, 2], image_shape=(1, 8, 8),
                           num_steps=3)
    assert grid.shape == (2, 3, 2, 1, 8, 8)
    # w = 0: the unconditional model and the same noise, so the rows agree up to float32 round-off that depends
    # on an image's place in the batch (measured ≤ 1e-4 over 3 DDIM steps)
    torch.testing.assert_close(grid[0, 0], grid[0, 2], atol=1e-3, rtol=0)
    assert not torch.allclose(grid[1, 0], grid[1, 2])            # w = 2: the class matters
    assert not torch.allclose(grid[0, 0, 0], grid[0, 0, 1])      # different seeds, different samples


def test_shipped_conditional_digits_unet_follows_its_label_under_guidance():
    """The shipped class-conditional U-Net: at w = 3 the shipped classifier recognises the intended digit in
    most of 50 samples (5 per class, 10 DDIM steps), at w = 0 (label ignored) about chance."""
    from diffusion_lab.checkpoints import DATA_DIR, load_checkpoint, load_schedule, shipped

    if not (DATA_DIR / "unet_digits_cond.json").exists():
        pytest.skip("data/unet_digits_cond not shipped in this checkout")
    torch.set_num_threads(1)
    unet, meta = load_checkpoint(shipped("unet_digits_cond"))
    clf, _ = load_checkpoint(shipped("classifier_digits"))
    assert unet.num_classes == 10 and unet.config["conditioning"] == "cross_attention"
    y = torch.arange(50) % 10
    x_T = torch.randn((50, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    acc = {}
    for w in (0.0, 3.0):
        x = G.sample_guided(unet, load_schedule(meta), y, w, x_T, num_steps=10, clip_x0=1.0)
        acc[w] = G.intended_class_metrics(x, y, clf)["accuracy"]
    assert acc[3.0] >= 0.8 and acc[0.0] <= 0.4, acc


# ---- what guided sampling follows, level by level ------------------------------------------------------------
def _two_classes_1d():
    from diffusion_lab.distributions import LabelledMixture
    return LabelledMixture([0.5, 0.5], [[1.0], [-1.0]], [0, 1], stds=[0.7, 0.7], name="two classes")


@pytest.mark.parametrize("w", [0.0, 1.0])
def test_tilted_densities_1d_agree_with_the_closed_form_at_w_0_and_1(w):
    """At w = 0 both densities are p_t(x), at w = 1 both are p_t(x | y): closed-form mixtures (grid error ≪ 1e-6)."""
    mix, sched = _two_classes_1d(), dl.make_schedule("linear", 1000)
    d = G.tilted_densities_1d(mix, sched, 299, 0, w, torch.linspace(-6, 6, 1201))
    target = (mix if w == 0.0 else mix.conditional(0)).marginal(sched, 299)
    exact = target.log_prob(d["xs"][:, None]).exp()
    for key in ("guided_at_t", "noised_tilted"):
        torch.testing.assert_close(d[key], exact, rtol=0, atol=1e-6)
        assert abs(float(d[key].sum()) * d["dx"] - 1) < 1e-9
    torch.testing.assert_close(d["conditional_at_t"], mix.conditional(0).marginal(sched, 299).log_prob(
        d["xs"][:, None]).exp(), rtol=0, atol=1e-6)
    assert d["tv"] < 1e-6


def test_tilted_densities_1d_differ_in_between_and_agree_at_the_data():
    """For w = 4 the two are one density at t = 1 (nothing noised yet) and far apart at t = 300."""
    mix, sched = _two_classes_1d(), dl.make_schedule("linear", 1000)
    xs = torch.linspace(-6, 6, 1201)
    assert G.tilted_densities_1d(mix, sched, 0, 0, 4.0, xs)["tv"] < 1e-3
    far = G.tilted_densities_1d(mix, sched, 299, 0, 4.0, xs)
    assert far["tv"] > 0.2
    mean = {k: float((far[k] * far["xs"]).sum()) * far["dx"] for k in ("guided_at_t", "noised_tilted")}
    assert mean["guided_at_t"] > mean["noised_tilted"] + 0.3        # the guided target sits further out


def test_tilted_densities_1d_bad_input():
    mix, sched = _two_classes_1d(), dl.make_schedule("linear", 1000)
    with pytest.raises(ValueError, match="evenly spaced"):
        G.tilted_densities_1d(mix, sched, 10, 0, 2.0, torch.tensor([0.0, 1.0, 3.0]))
    with pytest.raises(ValueError, match="1D LabelledMixture"):
        G.tilted_densities_1d(labelled_ring(), sched, 10, 0, 2.0, torch.linspace(-3, 3, 11))
    with pytest.raises(ValueError, match="code step"):
        G.tilted_densities_1d(mix, sched, 1000, 0, 2.0, torch.linspace(-3, 3, 11))


def test_tilted_mean_2d_at_w_1_is_the_conditional_marginals_mean():
    ring, sched = labelled_ring(), dl.make_schedule("linear", 1000)
    marg = ring.conditional(0).marginal(sched, 249)
    want = (marg.weights[:, None] * marg.means).sum(0)
    # 1e-5: the grid's quadrature error (201² points over [−5, 5]², measured 2e-6)
    torch.testing.assert_close(G.tilted_mean_2d(ring, sched, 249, 0, 1.0), want.double(), rtol=0, atol=1e-5)


def test_tilted_moments_2d_at_w_1_are_the_conditional_marginals_mean_and_variances():
    ring, sched = labelled_ring(), dl.make_schedule("linear", 1000)
    marg = ring.conditional(0).marginal(sched, 249)
    got = G.tilted_moments_2d(ring, sched, 249, 0, 1.0)
    # 1e-5: the grid's quadrature error (201² points over [−5, 5]², measured 2e-6 on the mean)
    torch.testing.assert_close(got["mean"], marg.mean().double(), rtol=0, atol=1e-5)
    torch.testing.assert_close(got["var"], marg.covariance().diagonal().double(), rtol=0, atol=1e-5)
    # a different w gives different moments (the check in chapter 06 tells w = 3 from w = 2 and 4 by them)
    w4 = G.tilted_moments_2d(ring, sched, 249, 0, 4.0)
    assert float((w4["mean"] - got["mean"]).abs().max()) > 0.1


# --- stored Fréchet distances: only from results that record their evaluation protocol (chapter 06) -------------
def test_recorded_frechet_refuses_a_result_without_its_protocol():
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    bare = {"w": [0.0, 1.0], "fid": [19.8, 6.2], "fid_real": 2.9, "command": "python benchmarks/guidance_curves.py"}
    with pytest.raises(ValueError, match="records no evaluation protocol.*heldout_eval"):
        G.recorded_frechet(bare)
    curve = {**bare, "protocol": {"name": "digits8x8"}, "fid_sd": [3.0, 1.0], "fid_real_sd": 0.5}
    assert G.recorded_frechet(curve) == {"real": (2.9, 0.5), "samples": [(19.8, 3.0), (6.2, 1.0)]}
    assert G.mean_sd_text((34.11995, 11.8198)) == "34.1 ± 11.8" and G.mean_sd_text((6.21, None)) == "6.2"
    held = json.loads((root / "benchmarks" / "results" / "heldout_digits8x8.json").read_text(encoding="utf-8"))
    read = G.recorded_frechet(held)
    assert read["real"] == (held["real"]["fid_real_mean"], held["real"]["fid_real_sd"])
    assert [m for m, _ in read["samples"]] == [g["fid_mean"] for g in held["generators"]]


@pytest.mark.parametrize("edition", ["notebooks", "notebooks/zh"])
def test_chapter_06_reads_every_frechet_number_through_recorded_frechet(edition):
    """Every Fréchet distance chapter 06 prints from a stored result comes through G.recorded_frechet (which refuses
    a result without its protocol): no code cell reads a stored 'fid…' entry itself."""
    import json
    import re
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[1] / edition / "06_conditioning_and_guidance.ipynb")
                    .read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "G.recorded_frechet(" in code
    assert not re.findall(r"""\[\s*["']fid|\.get\(\s*["']fid|["']fid\w*["']\s+in\b""", code)
