"""Training loop: the loss it computes, t sampling, seeding, EMA, clipping, interrupts, data sources, CLI."""
import copy
import json

import pytest
import torch
import torch.nn.functional as F

from diffusion_lab import training
from diffusion_lab.checkpoints import load_checkpoint
from diffusion_lab.data import make_dataloader
from diffusion_lab.distributions import GaussianMixture
from diffusion_lab.forward import q_sample
from diffusion_lab.models import TimeMLP
from diffusion_lab.schedules import make_schedule
from diffusion_lab.training import loss_by_t, resolve_device, train_eps_model

T = 100


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


@pytest.fixture
def schedule():
    return make_schedule("linear", T, warn=False)


def tiny_mlp(seed=0, data_dim=2):
    torch.manual_seed(seed)
    return TimeMLP(data_dim=data_dim, hidden=16, depth=1, time_dim=8, T=T)


def data2d(n=64, seed=0):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) + torch.tensor([2.0, -1.0])


def test_first_step_loss_is_l_simple_with_the_loops_draws(schedule):
    """Recompute step 1 by hand: same generator order (batch indices, t, ε), closed-form x_t, mean squared error."""
    data = data2d()
    model = tiny_mlp()
    before = copy.deepcopy(model)
    seen = []
    train_eps_model(model, data, schedule, steps=1, batch_size=16, seed=5, progress=False, device="cpu",
                    callback=lambda step, loss, m: seen.append(loss))
    g = torch.Generator().manual_seed(5)
    x0 = data[torch.randint(0, 64, (16,), generator=g)]
    t = torch.randint(0, T, (16,), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    x_t = schedule.sqrt_alphas_cumprod[t, None].float() * x0 + schedule.sqrt_one_minus_alphas_cumprod[t, None].float() * eps
    torch.testing.assert_close(x_t, q_sample(schedule, x0, t, noise=eps))  # √ᾱ_t, not ᾱ_t
    with torch.no_grad():
        expected = float(((eps - before(x_t, t)) ** 2).mean())
    assert seen[0] == pytest.approx(expected, rel=1e-6)


def test_t_is_uniform_over_0_to_T_minus_1(schedule):
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, x, t):
            seen.append(t.clone())
            return self.lin(x)

    train_eps_model(Spy(), data2d(), schedule, steps=40, batch_size=100, progress=False, device="cpu")
    t = torch.cat(seen)
    assert t.dtype == torch.long and int(t.min()) == 0 and int(t.max()) == T - 1
    counts = torch.bincount(t, minlength=T).double()
    # 4000 draws over 100 values: expected 40 each; Pearson χ² with 99 dof has mean 99, sd 14;
    # 99 + 5·14 = 169 is a bound a uniform sampler fails with probability < 1e-5
    chi2 = float(((counts - 40) ** 2 / 40).sum())
    assert chi2 < 169


def test_training_approaches_the_exact_optimum_and_is_seeded(schedule):
    """300 steps on a two-mode mixture bring L_simple close to the loss of the exact ε*."""
    q = GaussianMixture([1.0, 1.0], [[-2.0, 0.0], [2.0, 0.0]], stds=0.3)

    def run(seed, steps):
        torch.manual_seed(0)
        model = TimeMLP(data_dim=2, hidden=32, depth=1, time_dim=8, T=T)
        return train_eps_model(model, q, schedule, steps=steps, batch_size=64, lr=1e-2, seed=seed, progress=False)

    r1, r2, r3 = run(1, 300), run(1, 300), run(2, 3)
    assert r1.loss_history == r2.loss_history  # same seed, same run
    assert r1.loss_history[:3] != r3.loss_history
    assert len(r1.loss_history) == r1.steps_done == 300 and not r1.interrupted and r1.device == "cpu"
    assert not r1.model.training and r1.wall_time_s > 0
    # held-out L_simple (20,000 fresh pairs; sem ≈ 0.005): ε̂ = 0 scores 1, the exact ε* ≈ 0.41.
    # Measured after 300 steps: 0.44–0.46 over seeds 0–3; bound: optimum + 0.1.
    g = torch.Generator().manual_seed(9)
    best = float(loss_by_t(q.eps_model(schedule), q, schedule, num_buckets=1, samples_per_bucket=20000, generator=g).loss)
    g = torch.Generator().manual_seed(9)
    got = float(loss_by_t(r1.model, q, schedule, num_buckets=1, samples_per_bucket=20000, generator=g).loss)
    assert 0.35 < best < 0.47
    assert best - 0.02 < got < best + 0.1, (got, best)
    assert sum(r1.loss_history[:10]) / 10 > best + 0.2  # it did start far from the optimum


def test_keyboard_interrupt_returns_partial_result(schedule):
    def stop_after_3(step, loss, model):
        if step == 3:
            raise KeyboardInterrupt

    res = train_eps_model(tiny_mlp(), data2d(), schedule, steps=50, batch_size=8, ema_decay=0.9,
                          progress=True, callback=stop_after_3)
    assert res.interrupted is True
    assert res.steps_done == 3 and len(res.loss_history) == 3
    assert res.model is not None and res.ema_model is not None and not res.model.training


def test_time_limit_stops_after_the_step_that_crosses_it(schedule):
    res = train_eps_model(tiny_mlp(), data2d(), schedule, steps=50, batch_size=8, max_time_s=0.0, progress=False)
    assert res.steps_done == 1 and not res.interrupted and res.extra["stopped_by"] == "time limit"
    full = train_eps_model(tiny_mlp(), data2d(), schedule, steps=4, batch_size=8, max_time_s=60.0, progress=False)
    assert full.steps_done == 4 and full.extra["stopped_by"] == "steps"


def test_ema_after_one_step_is_the_closed_form(schedule):
    model = tiny_mlp()
    theta0 = [p.detach().clone() for p in model.parameters()]
    res = train_eps_model(model, data2d(), schedule, steps=1, batch_size=8, lr=1e-2, ema_decay=0.9, progress=False)
    for p0, p1, pe in zip(theta0, res.model.parameters(), res.ema_model.parameters()):
        torch.testing.assert_close(pe, 0.9 * p0 + 0.1 * p1.detach(), atol=1e-7, rtol=1e-6)
    assert not any(p.requires_grad for p in res.ema_model.parameters())
    assert res.best_model is res.ema_model


def test_grad_clip_bounds_the_gradient_norm(schedule):
    norms = {}

    def record(key):
        def cb(step, loss, model):
            g = torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters() if p.grad is not None))
            norms.setdefault(key, []).append(float(g))
        return cb

    train_eps_model(tiny_mlp(), data2d(), schedule, steps=5, batch_size=16, grad_clip=1e-3, progress=False,
                    callback=record("clipped"))
    train_eps_model(tiny_mlp(), data2d(), schedule, steps=5, batch_size=16, progress=False,
                    callback=record("raw"))
    assert max(norms["clipped"]) <= 1e-3 * (1 + 1e-5)
    assert min(norms["raw"]) > 1e-2  # so the clip really did something


def test_data_sources_tensor_distribution_dataloader(schedule):
    q = GaussianMixture([1.0], [[0.0, 0.0]], stds=1.0)
    loader = make_dataloader(data2d(40), batch_size=10, generator=torch.Generator().manual_seed(0))
    labelled = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data2d(40), torch.zeros(40)), batch_size=10)
    for source in (data2d(), q, loader, labelled):
        res = train_eps_model(tiny_mlp(), source, schedule, steps=6, batch_size=4, progress=False)
        assert res.steps_done == 6  # 6 steps > 4 batches per epoch: the loader restarts
    with pytest.raises(TypeError, match="data_source must be"):
        train_eps_model(tiny_mlp(), 3.0, schedule, steps=1, progress=False)
    with pytest.raises(ValueError, match=r"\(N, 1\)"):
        train_eps_model(tiny_mlp(data_dim=1), torch.randn(10), schedule, steps=1, progress=False)


def test_resolve_device(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device() == torch.device("cpu")


def test_loss_by_t_matches_closed_form_for_a_gaussian(schedule):
    """For q = N(0, σ²) the exact ε* has loss ᾱσ²/(ᾱσ² + 1 − ᾱ) at step t; ε̂ = 0 has loss 1."""
    sigma = 0.5
    q = GaussianMixture([1.0], [[0.0]], stds=sigma)
    g = torch.Generator().manual_seed(0)
    res = loss_by_t(q.eps_model(schedule), q, schedule, num_buckets=5, samples_per_bucket=4000, generator=g)
    abar = schedule.alphas_cumprod
    per_t = abar * sigma**2 / (abar * sigma**2 + 1 - abar)
    expected = torch.stack([per_t[int(a):int(b)].mean() for a, b in zip(res.t_edges[:-1], res.t_edges[1:])])
    assert res.loss.shape == res.sem.shape == res.t_mid.shape == (5,)
    assert res.t_edges.tolist() == [0, 20, 40, 60, 80, 100]
    # per-sample loss is σ_b²·χ²₁: agreement within 4 standard errors, plus 0.01 for the spread of
    # the expected value inside each bucket (t drawn from the bucket, not averaged exactly)
    assert torch.all((res.loss - expected).abs() < 4 * res.sem + 0.01), (res.loss, expected)
    zero = loss_by_t(lambda x, t: torch.zeros_like(x), q, schedule, num_buckets=5, samples_per_bucket=4000)
    assert torch.all((zero.loss - 1).abs() < 4 * zero.sem)  # E ε² = 1


def test_cli_mlp2d_writes_a_loadable_checkpoint(tmp_path):
    from diffusion_lab.train import main

    out = tmp_path / "mlp"
    threads = torch.get_num_threads()
    info = main(["--model", "mlp2d", "--steps", "3", "--hidden", "16", "--depth", "1",
                 "--out", str(out), "--no-progress", "--threads", str(threads)])
    model, meta = load_checkpoint(out)
    assert meta["steps"] == 3 and meta["schedule_config"] == {"name": "linear", "T": 1000, "kwargs": {}}
    assert meta["command"].startswith("python -m diffusion_lab.train --model mlp2d --steps 3")
    assert meta["model_config"]["hidden"] == 16 and meta["wall_time_s"] >= 0
    # the saved (EMA, frozen) model's size: counted with frozen parameters included
    assert meta["parameters"] == sum(p.numel() for p in model.parameters()) > 0
    assert info["final_loss"] == pytest.approx(meta["final_loss"], abs=1e-6)
    assert json.loads((tmp_path / "mlp.json").read_text())["weights"].startswith("EMA")


def test_cli_classifier_digits(tmp_path):
    from diffusion_lab.train import main

    main(["--model", "classifier-digits", "--steps", "2", "--base", "4", "--out", str(tmp_path / "c"),
          "--no-progress", "--threads", str(torch.get_num_threads())])
    model, meta = load_checkpoint(tmp_path / "c")
    assert meta["schedule_config"] is None and 0.0 <= meta["test_accuracy"] <= 1.0
    assert model(torch.zeros(1, 1, 8, 8)).shape == (1, 10)


# ---- the loop scaffold both trainers share (training._run_steps) -------------------------------

def _train_classifier(steps, **kw):
    from diffusion_lab.models import DigitClassifier

    torch.manual_seed(0)
    images = torch.randn(32, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(32) % 10
    return training.train_classifier(DigitClassifier(width=4, feature_dim=8), images, labels, steps=steps,
                                     batch_size=8, device="cpu", **kw)


def _train_eps(steps, **kw):
    return train_eps_model(tiny_mlp(), data2d(), make_schedule("linear", T, warn=False), steps=steps,
                           batch_size=8, device="cpu", **kw)


@pytest.mark.parametrize("trainer", [_train_eps, _train_classifier], ids=["eps", "classifier"])
def test_both_trainers_share_interrupt_time_limit_and_callback(trainer):
    seen = []

    def record_then_stop(step, loss, model):
        seen.append((step, loss))
        if step == 3:
            raise KeyboardInterrupt

    res = trainer(20, progress=True, callback=record_then_stop)
    assert res.interrupted and res.extra["stopped_by"] == "KeyboardInterrupt"
    assert [s for s, _ in seen] == [1, 2, 3] and [v for _, v in seen] == res.loss_history
    assert not res.model.training
    timed = trainer(20, progress=False, max_time_s=0.0)
    assert timed.steps_done == 1 and not timed.interrupted and timed.extra["stopped_by"] == "time limit"
    full = trainer(3, progress=False)
    assert full.steps_done == 3 and full.extra["stopped_by"] == "steps" and full.wall_time_s > 0


def test_a_non_finite_loss_stops_training_with_the_fix_named():
    calls = []

    def nan_on_step_2(step):
        calls.append(step)
        return torch.tensor(float("nan") if step == 2 else 1.0)

    with pytest.raises(FloatingPointError, match="at step 2; lower lr or set grad_clip"):
        training._run_steps(nan_on_step_2, 5, torch.nn.Linear(1, 1), "x", progress=True, log_every=1,
                            callback=None, max_time_s=None)
    assert calls == [1, 2]
    with pytest.raises(FloatingPointError, match=r"loss became (inf|nan) at step"):
        _train_eps(5, progress=False, lr=1e30)
