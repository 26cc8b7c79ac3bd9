"""Chapter 7's views and figures (diffusion_lab/views/fast_samplers.py), headless.

- score_field draws −ε* (= √(1−ᾱ_t) ∇ log q_t) and log q_t of the exact mixture;
- sampler_paths: the paths start at x_T, end at the samples and count the calls the sampler made;
- the two views follow the view contract (state, update of what is given, clear errors, blitting);
- the static figures carry axis labels and legends; the tables and the stored benchmark read correctly.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab import sampling as smp
from diffusion_lab.metrics import Quality
from diffusion_lab.plotting import figure_png
from diffusion_lab.views import View
from diffusion_lab.views import fast_samplers as fs

pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py

SHORT = dl.make_schedule("linear", 60, beta_start=1e-3, beta_end=0.2, warn=False)
RING = dl.make_distribution("ring")


@pytest.fixture(scope="module")
def paths_view():
    x_T = torch.randn((40, 2), generator=dl.make_generator(0))
    return fs.SamplerPathsView(RING.eps_model(SHORT), SHORT, RING, x_T, RING.sample(40, generator=dl.make_generator(1)),
                               ddpm_nll=1.7, n_paths=5, nfe=10)


def test_score_field_is_minus_eps_star_on_log_q_t():
    pts, field, density = fs.score_field(RING, SHORT, 30, lim=3.0, arrows_n=5, image_n=7)
    assert pts.shape == field.shape == (25, 2) and density.shape == (7, 7)
    np.testing.assert_allclose(field, -RING.eps_star(SHORT, torch.as_tensor(pts), 30).numpy(), rtol=1e-10)
    corner = torch.tensor([[-3.0, -3.0], [3.0, -3.0]], dtype=torch.float64)      # first row: y = −lim
    np.testing.assert_allclose(density[0, [0, -1]], RING.log_prob_t(SHORT, corner, 30).detach().numpy(), rtol=1e-10)


def test_score_view_updates_t_and_refuses_out_of_range():
    view = fs.ScoreFieldView(RING, SHORT, arrows_n=5, image_n=10, t=5)
    assert view.state == {"t": 5}
    before = figure_png(view.fig)
    view.update(t=50)
    assert "t = 50" in view.title.get_text() and figure_png(view.fig) != before
    # the maths' t = 50 is drawn from code index 49: σ_50 in the title, the arrows −ε* at index 49
    assert f"σ_t = {float(smp.sigmas_of(SHORT)[49]):.3g}" in view.title.get_text()
    _, field, _ = fs.score_field(RING, SHORT, 49, view.lim, view.arrows_n, view.image_n)
    shown = np.c_[view.arrows.U, view.arrows.V]
    moving = np.linalg.norm(field, axis=1) > 1e-9        # (at the origin the ring's ε* is 0 by symmetry)
    cos = (shown * field).sum(1)[moving] / (np.linalg.norm(shown, axis=1) * np.linalg.norm(field, axis=1))[moving]
    assert cos.min() > 0.999                             # every arrow points along −ε* at step t = 50
    view.update(t=SHORT.T)                              # t = T (x_T) is a valid step, t = 0 (the data) is not
    with pytest.raises(ValueError, match="it runs 1..60"):
        view.update(t=0)
    with pytest.raises(ValueError, match="it runs 1..60"):
        view.update(t=61)
    assert view.state == {"t": SHORT.T}
    with pytest.raises(TypeError, match="2D GaussianMixture"):
        fs.ScoreFieldView(dl.make_distribution("moons"), SHORT)


def test_sampler_paths_start_at_x_T_end_at_the_samples_and_count_calls():
    x_T = torch.randn((30, 2), generator=dl.make_generator(2))
    for name in smp.SIGMA_SAMPLERS:
        run = fs.sampler_paths(name, RING.eps_model(SHORT), SHORT, x_T, nfe=7, n_paths=4, dist=RING,
                               reference=RING.sample(30))
        steps = smp.steps_for_calls(name, 7)
        assert run.paths.shape == (4, steps + 1, 2)
        np.testing.assert_allclose(run.paths[:, 0], x_T[:4].numpy())
        np.testing.assert_allclose(run.paths[:, -1], run.samples[:4])
        assert run.calls == smp.calls_per_run(name, steps) and run.quality.n == 30


def test_paths_view_changes_only_what_it_is_given(paths_view):
    view = paths_view
    assert isinstance(view, View) and view.state == {"sampler": "dpmpp_2m", "nfe": 10, "spacing": "karras"}
    view.update(sampler="heun")
    assert view.state == {"sampler": "heun", "nfe": 10, "spacing": "karras"}
    assert view.title.get_text().startswith("Heun, karras: 5 steps, 9 calls   NLL ")
    assert view.title.get_text().endswith("(1.70)")                   # DDPM-1000's NLL in brackets
    view.update(spacing="uniform", nfe=4)
    assert len(view.paths.get_segments()) == 5 and len(view.paths.get_segments()[0]) == 3   # 2 Heun steps
    with pytest.raises(ValueError, match="Known samplers"):
        view.update(sampler="lms")
    with pytest.raises(ValueError, match="it runs 1..60"):
        view.update(nfe=0)
    with pytest.raises(ValueError, match="Known spacings"):
        view.update(spacing="log")
    assert view.state == {"sampler": "heun", "nfe": 4, "spacing": "uniform"}
    assert set(view.DYNAMIC_PARAMS) == set(view.state) and view.dynamic_artists()


def test_paths_view_caches_each_setting(paths_view):
    paths_view.update(sampler="euler", nfe=6, spacing="karras")
    run = paths_view.run("euler", 6, "karras")
    paths_view.update(nfe=8)
    paths_view.update(nfe=6)
    assert paths_view.run("euler", 6, "karras") is run


def test_demo_view_and_sweeps_run():
    view = fs.demo_view(n=40)
    for params in fs.DEMO_SWEEP + fs.ANIMATION_SWEEP[:3]:
        view.update(**params)
    assert view.render_png()[:4] == b"\x89PNG"
    assert all(set(p) <= set(view.state) for p in fs.DEMO_SWEEP + fs.ANIMATION_SWEEP)


def test_figures_have_labels_and_legends():
    fig = fs.plot_sigma_grids(SHORT, num_steps=5)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    curve, uniform = ax.get_lines()[:2]                 # the maths' t = 1..T on the x axis, σ_t at index t − 1
    assert curve.get_xdata()[0] == 1 and curve.get_xdata()[-1] == SHORT.T
    assert list(uniform.get_xdata()) == [k + 1 for k in smp.sigma_timesteps(SHORT, 5, "uniform")]
    errors = {"euler": {5: 0.3, 10: 0.1, 20: 0.05}, "heun": {5: 0.2, 10: 0.01, 20: 0.0025}}
    fig = fs.plot_convergence(errors, {"euler": 1.0, "heun": 2.0}, fit_from=10)
    ax = fig.axes[0]
    assert "log" in ax.get_xlabel() and ax.get_legend() is not None
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("measured order 2.00" in t for t in texts) and any("not fitted" in t for t in texts)
    fig = fs.plot_point_panels({"a": torch.zeros(5, 2), "b": torch.ones(5, 2)}, data=torch.randn(10, 2))
    assert fig.axes[0].get_legend() is not None and fig.axes[0].get_ylabel()
    fig = fs.plot_image_rows({"row one": torch.zeros(3, 1, 8, 8), "row two": torch.ones(3, 1, 8, 8)}, n_images=3)
    assert [a.get_ylabel() for a in fig.axes] == ["row one", "row two"]


def fake_results():
    row = {"calls": [4, 10, 20], "nll": [[5.0, 1.8, 1.7], [6.0, 1.9, 1.7]], "mmd2": [[1e-2, 3e-3, 2e-3]] * 2,
           "fewest_calls_within_10pct": 10}
    model = {"ddpm1000": {"nll": [1.7, 1.72], "mmd2": [2e-3, 2e-3]}, "data": {"nll": [1.7, 1.7]},
             "samplers": {name: dict(row) for name in smp.SIGMA_SAMPLERS}}
    model["samplers"]["heun"] = {**row, "calls": [3, 9, 19], "nll": [[2e5, 9.0, 1.8]] * 2,
                                 "fewest_calls_within_10pct": 19}
    digits = {"n": 50, "real": 1.0, "ddpm1000": {"fid": 3.0},
              "samplers": {name: {"calls": [4, 10], "fid": [9.0, 3.1], "fewest_calls_within_10pct": 10}
                           for name in smp.SIGMA_SAMPLERS}}
    return {"ring": {"n": 100, "seeds": 2, "models": {"exact": model, "mlp": model}}, "digits": digits}


def test_quality_figure_and_tables_read_the_results(tmp_path):
    path = tmp_path / "nfe.json"
    path.write_text(json.dumps(fake_results()))
    results = fs.load_nfe_results(path)
    fig = fs.plot_quality_vs_nfe(results)
    shown = [ax for ax in fig.axes if ax.axison]
    assert len(shown) == 5 and all(ax.get_xlabel() for ax in shown)          # NLL × 2, Fréchet, MMD² × 2
    assert sum("MMD²" in ax.get_ylabel() for ax in shown) == 2
    top = fig.axes[0].get_ylim()[1]
    assert top < 10                                       # Heun's 2e5 is drawn at the top edge, not scaled to
    table = fs.fewest_calls_table(results)
    assert "Heun" in table and "19" in table and "digits" in table
    heun_row = next(line for line in table.splitlines() if line.startswith("Heun"))
    assert heun_row.split()[1:4] == ["19", "1.00×", "19"]        # NLL from 19 calls, MMD² there = its own at 19
    assert fs.fewest_calls(results)["exact"]["euler"] == {"nll": 10, "mmd2_there": 1.5, "mmd2": 20}
    euler_a_row = next(line for line in table.splitlines() if line.startswith("Euler a"))
    assert euler_a_row.split()[2:5] == ["10", "—", "—"]          # not paired: no MMD² count
    assert sum(bool(ax.get_legend()) for ax in shown) == 4
    q = {"dpmpp_2m": {10: Quality(nll=1.75, mmd2=2e-3, n=100), 4: Quality(nll=4.0, mmd2=9e-2, n=100)}}
    text = fs.quality_table(q, Quality(nll=1.7, mmd2=1e-3, n=100))
    lines = text.splitlines()
    assert lines[1].split()[2] == "4" and not lines[1].endswith("*") and lines[2].endswith("*")


def test_missing_or_wrong_results_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="benchmarks/samplers_vs_nfe.py"):
        fs.load_nfe_results(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="run it again"):
        fs.load_nfe_results(bad)


def test_the_stored_benchmark_meets_the_issue_targets():
    """benchmarks/results/samplers_vs_nfe.json (what the chapter plots): DPM++ 2M within 10 % of DDPM-1000's NLL
    by 20 calls with the exact ε*, every sampler's calls as its cost rule says."""
    results = fs.load_nfe_results()
    exact = results["ring"]["models"]["exact"]["samplers"]
    fewest = exact["dpmpp_2m"]["fewest_calls_within_10pct"]
    assert fewest is not None and fewest <= 20
    assert all(k % 2 == 1 for k in exact["heun"]["calls"])          # 2N − 1


def test_dpmpp_line_figure_shows_the_step_it_takes():
    """x̂0(λ) = λ over λ_prev = −1, λ_t = 0, λ_s = 1: D is the line at the middle (0.5); the exact step averages
    x̂0 with weights e^(λ−λ_s): (2/e − e⁻¹)/(1 − e⁻¹) = 1/(e − 1) ≈ 0.582."""
    fig = fs.plot_dpmpp_line(-1.0, 0.0, 1.0, lambda lam: lam)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("= 0.500" in t for t in texts) and any(f"= {1 / (np.e - 1):.3f}" in t for t in texts)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_the_stored_benchmark_reports_mmd_beside_nll():
    """The numbers chapter 07 prints beside "fewest calls", paired (each run against the same sampler at its most
    calls, same x_T and references): DPM++ 2M's MMD² is 2.7–3.5× its converged value at 15 calls, 1.34–1.43× at
    20, 1.04–1.05× at 30, so paired MMD² agrees from 30 calls; fresh data's own MMD² moves ±35 % over the runs and
    the converged ODE samplers read 1.13–1.53× it. The NLL counts agree with the ones the benchmark stored."""
    results = fs.load_nfe_results()
    paired = fs.paired_mmd_ratios(results)["dpmpp_2m"]
    assert 2.7 <= paired[15].min() and paired[15].max() <= 3.6
    assert 1.3 <= paired[20].min() and paired[20].max() <= 1.45
    assert 1.0 <= paired[30].min() and paired[30].max() <= 1.06
    assert "euler_ancestral" not in fs.paired_mmd_ratios(results)
    floor = fs.mmd2_floor(results)
    assert floor["runs"] == 3 and 0.25 <= floor["sd"] / floor["mean"] <= 0.45
    assert 1.1 <= floor["converged_low"] and floor["converged_high"] <= 1.6
    table = fs.fewest_calls(results)
    for model in ("exact", "mlp"):
        stored = results["ring"]["models"][model]["samplers"]
        assert {k: v["nll"] for k, v in table[model].items()} == {k: v["fewest_calls_within_10pct"]
                                                                   for k, v in stored.items()}
    assert table["exact"]["dpmpp_2m"]["mmd2"] == 30 and table["exact"]["euler_ancestral"]["mmd2"] is None


def test_the_stored_digit_numbers_belong_to_the_shipped_checkpoints():
    """The digits part of the stored benchmark records the sha256 of the U-Net and the judge it measured and the
    protocol's held-out references: a retrained checkpoint without a re-run of the benchmark fails here."""
    from diffusion_lab.checkpoints import shipped
    from diffusion_lab.metrics import references_held_out

    digits = fs.load_nfe_results()["digits"]
    unet = json.loads(Path(str(shipped("unet_digits")) + ".json").read_text(encoding="utf-8"))
    judge = json.loads(Path(str(shipped("classifier_digits")) + ".json").read_text(encoding="utf-8"))
    assert digits["unet_sha256"] == unet["weights_sha256"], "re-run benchmarks/samplers_vs_nfe.py --digits-only"
    assert digits["classifier_sha256"] == judge["weights_sha256"]
    assert digits["protocol"] == "digits8x8" and digits["references_held_out"] is references_held_out(unet)
    assert digits["unet_split"] == unet["split"]


def test_heldout_digits_spread_reads_the_protocol_result(tmp_path):
    """The digits U-Net over the protocol's draws (what chapter 07 quotes to say how noisy one draw is): the same
    checkpoint as the stored sampler benchmark; None where the file is missing."""
    spread = fs.heldout_digits_spread()
    assert spread is not None and spread["draws"] == 10 and 40 < spread["fid_mean"] < 55 and 5 < spread["fid_sd"] < 15
    assert spread["model_sha256"] == fs.load_nfe_results()["digits"]["unet_sha256"]
    assert fs.heldout_digits_spread(tmp_path / "none.json") is None
