"""Training loop: the loss it computes, t sampling, seeding, EMA, clipping, interrupts, data sources, labels,
resuming, CLI."""
import copy
import json
import math

import pytest
import torch

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
    train_eps_model(model, schedule, data, steps=1, batch_size=16, seed=5, progress=False, device="cpu",
                    callback=lambda step, loss, m: seen.append(loss))
    g = torch.Generator().manual_seed(5)
    x0 = data[torch.randint(0, 64, (16,), generator=g)]
    t = torch.randint(0, T, (16,), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    x_t = (schedule.sqrt_alphas_cumprod[t, None].float() * x0
           + schedule.sqrt_one_minus_alphas_cumprod[t, None].float() * eps)
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

    train_eps_model(Spy(), schedule, data2d(), steps=40, batch_size=100, progress=False, device="cpu")
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
        return train_eps_model(model, schedule, q, steps=steps, batch_size=64, lr=1e-2, seed=seed, progress=False)

    r1, r2, r3 = run(1, 300), run(1, 300), run(2, 3)
    assert r1.loss_history == r2.loss_history  # same seed, same run
    assert r1.loss_history[:3] != r3.loss_history
    assert len(r1.loss_history) == r1.steps_done == 300 and not r1.interrupted and r1.device == "cpu"
    assert not r1.model.training and r1.wall_time_s > 0
    # held-out L_simple (20,000 fresh pairs; sem ≈ 0.005): ε̂ = 0 scores 1, the exact ε* ≈ 0.41.
    # Measured after 300 steps: 0.44–0.46 over seeds 0–3; bound: optimum + 0.1.
    g = torch.Generator().manual_seed(9)
    best = float(loss_by_t(q.eps_model(schedule), schedule, q, num_buckets=1, samples_per_bucket=20000,
                           generator=g).loss)
    g = torch.Generator().manual_seed(9)
    got = float(loss_by_t(r1.model, schedule, q, num_buckets=1, samples_per_bucket=20000, generator=g).loss)
    assert 0.35 < best < 0.47
    assert best - 0.02 < got < best + 0.1, (got, best)
    assert sum(r1.loss_history[:10]) / 10 > best + 0.2  # it did start far from the optimum


def test_keyboard_interrupt_returns_partial_result(schedule):
    def stop_after_3(step, loss, model):
        if step == 3:
            raise KeyboardInterrupt

    res = train_eps_model(tiny_mlp(), schedule, data2d(), steps=50, batch_size=8, ema_decay=0.9,
                          progress=True, callback=stop_after_3)
    assert res.interrupted is True
    assert res.steps_done == 3 and len(res.loss_history) == 3
    assert res.model is not None and res.ema_model is not None and not res.model.training


def test_time_limit_stops_after_the_step_that_crosses_it(schedule):
    res = train_eps_model(tiny_mlp(), schedule, data2d(), steps=50, batch_size=8, max_time_s=0.0, progress=False)
    assert res.steps_done == 1 and not res.interrupted and res.extra["stopped_by"] == "time limit"
    full = train_eps_model(tiny_mlp(), schedule, data2d(), steps=4, batch_size=8, max_time_s=60.0, progress=False)
    assert full.steps_done == 4 and full.extra["stopped_by"] == "steps"


def test_ema_after_one_step_is_the_closed_form(schedule):
    model = tiny_mlp()
    theta0 = [p.detach().clone() for p in model.parameters()]
    res = train_eps_model(model, schedule, data2d(), steps=1, batch_size=8, lr=1e-2, ema_decay=0.9, progress=False)
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

    train_eps_model(tiny_mlp(), schedule, data2d(), steps=5, batch_size=16, grad_clip=1e-3, progress=False,
                    callback=record("clipped"))
    train_eps_model(tiny_mlp(), schedule, data2d(), steps=5, batch_size=16, progress=False,
                    callback=record("raw"))
    assert max(norms["clipped"]) <= 1e-3 * (1 + 1e-5)
    assert min(norms["raw"]) > 1e-2  # so the clip really did something


def test_data_sources_tensor_distribution_dataloader(schedule):
    q = GaussianMixture([1.0], [[0.0, 0.0]], stds=1.0)
    loader = make_dataloader(data2d(40), batch_size=10, generator=torch.Generator().manual_seed(0))
    labelled = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data2d(40), torch.zeros(40)), batch_size=10)
    for source in (data2d(), q, loader, labelled):
        res = train_eps_model(tiny_mlp(), schedule, source, steps=6, batch_size=4, progress=False)
        assert res.steps_done == 6  # 6 steps > 4 batches per epoch: the loader restarts
    with pytest.raises(TypeError, match="data_source must be"):
        train_eps_model(tiny_mlp(), schedule, 3.0, steps=1, progress=False)
    with pytest.raises(ValueError, match=r"\(N, 1\)"):
        train_eps_model(tiny_mlp(data_dim=1), schedule, torch.randn(10), steps=1, progress=False)


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
    res = loss_by_t(q.eps_model(schedule), schedule, q, num_buckets=5, samples_per_bucket=4000, generator=g)
    abar = schedule.alphas_cumprod
    per_t = abar * sigma**2 / (abar * sigma**2 + 1 - abar)
    expected = torch.stack([per_t[int(a):int(b)].mean() for a, b in zip(res.t_edges[:-1], res.t_edges[1:])])
    assert res.loss.shape == res.sem.shape == res.t_mid.shape == (5,)
    assert res.t_edges.tolist() == [0, 20, 40, 60, 80, 100]
    # per-sample loss is σ_b²·χ²₁: agreement within 4 standard errors, plus 0.01 for the spread of
    # the expected value inside each bucket (t drawn from the bucket, not averaged exactly)
    assert torch.all((res.loss - expected).abs() < 4 * res.sem + 0.01), (res.loss, expected)
    zero = loss_by_t(lambda x, t: torch.zeros_like(x), schedule, q, num_buckets=5, samples_per_bucket=4000)
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
    return train_eps_model(tiny_mlp(), make_schedule("linear", T, warn=False), data2d(), steps=steps,
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


# ---- labels: the conditioning path --------------------------------------------------------------

class LabelSpy(torch.nn.Module):
    """A conditioned ε-model (num_classes = K) that records the labels the loop gives it."""

    def __init__(self, num_classes=4):
        super().__init__()
        self.num_classes = num_classes
        self.lin = torch.nn.Linear(2, 2)
        self.seen = []

    @property
    def null_label(self):
        return self.num_classes

    def forward(self, x, t, y=None):
        self.seen.append(None if y is None else y.clone())
        return self.lin(x)


def labelled2d(n=64, K=4, seed=0):
    return data2d(n, seed), torch.arange(n) % K


def test_labels_pass_through_with_p_0(schedule):
    x0, labels = labelled2d()
    spy = LabelSpy()
    train_eps_model(spy, schedule, (x0, labels), steps=3, batch_size=16, seed=7, progress=False, device="cpu")
    # the loop's draws: batch indices, then t, then ε (no dropout draw with p = 0)
    g = torch.Generator().manual_seed(7)
    expected = []
    for _ in range(3):
        expected.append(labels[torch.randint(0, 64, (16,), generator=g)])
        torch.randint(0, T, (16,), generator=g), torch.randn(16, 2, generator=g)
    assert len(spy.seen) == 3 and all(torch.equal(s, e) for s, e in zip(spy.seen, expected))


def test_label_dropout_1_never_shows_a_label(schedule):
    spy = LabelSpy()
    train_eps_model(spy, schedule, labelled2d(), steps=5, batch_size=32, label_dropout=1.0, progress=False)
    assert all(y is not None and torch.all(y == spy.null_label) for y in spy.seen)


def test_label_dropout_fraction_is_p(schedule):
    """Each label becomes ∅ independently with probability p: over n labels the fraction is ≈ p with
    binomial standard error √(p(1−p)/n) = 0.0046 for p = 0.3, n = 10,000; tolerance 5 SE = 0.023."""
    p, spy = 0.3, LabelSpy()
    x0, labels = labelled2d(n=200)
    train_eps_model(spy, schedule, (x0, labels), steps=40, batch_size=250, label_dropout=p, seed=3, progress=False)
    y = torch.cat(spy.seen)
    dropped = (y == spy.null_label)
    n = y.numel()
    assert n == 10_000
    assert abs(float(dropped.float().mean()) - p) < 5 * math.sqrt(p * (1 - p) / n)
    assert torch.all((y[~dropped] >= 0) & (y[~dropped] < 4))  # the rest are real labels


def test_a_real_conditional_model_trains_on_labels(schedule):
    torch.manual_seed(0)
    model = TimeMLP(hidden=16, depth=1, time_dim=8, T=T, num_classes=4)
    res = train_eps_model(model, schedule, labelled2d(), steps=5, batch_size=8, label_dropout=0.5, progress=False)
    assert res.steps_done == 5 and model.label_embed.weight.grad is not None


def test_unconditional_models_ignore_labels(schedule):
    calls = []

    class TwoArgs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, x, t):  # no y: an unconditional model is called as model(x_t, t)
            calls.append(t.shape)
            return self.lin(x)

    labelled = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data2d(40), torch.zeros(40).long()),
                                           batch_size=10)
    for source in (labelled2d(), labelled):
        train_eps_model(TwoArgs(), schedule, source, steps=2, batch_size=4, progress=False)
    assert len(calls) == 4
    # and the same labelled pair gives an unconditional model the same batches as the bare tensor
    a = train_eps_model(tiny_mlp(), schedule, labelled2d(), steps=3, batch_size=8, seed=1, progress=False)
    b = train_eps_model(tiny_mlp(), schedule, labelled2d()[0], steps=3, batch_size=8, seed=1, progress=False)
    assert a.loss_history == b.loss_history


def test_label_errors_name_the_fix(schedule):
    cond = TimeMLP(hidden=8, depth=1, time_dim=4, T=T, num_classes=4)
    with pytest.raises(ValueError, match=r"needs labels: pass data_source=\(x0, labels\)"):
        train_eps_model(cond, schedule, data2d(), steps=1, progress=False)
    with pytest.raises(ValueError, match="sample_labelled"):
        train_eps_model(cond, schedule, GaussianMixture([1.0], [[0.0, 0.0]], stds=1.0), steps=1, progress=False)
    with pytest.raises(TypeError, match="integer labels, one per row"):
        train_eps_model(cond, schedule, (data2d(8), torch.zeros(8)), steps=1, progress=False)
    with pytest.raises(ValueError, match=r"labels must be class indices 0\.\.3"):
        train_eps_model(cond, schedule, (data2d(8), torch.arange(8)), steps=1, progress=False)
    with pytest.raises(ValueError, match="needs a label-conditioned model"):
        train_eps_model(tiny_mlp(), schedule, data2d(), steps=1, label_dropout=0.1, progress=False)
    with pytest.raises(ValueError, match=r"probability in \[0, 1\]"):
        train_eps_model(cond, schedule, labelled2d(), steps=1, label_dropout=1.5, progress=False)
    unlabelled_loader = make_dataloader(data2d(40), batch_size=10)
    with pytest.raises(ValueError, match="batches have none"):
        train_eps_model(cond, schedule, unlabelled_loader, steps=1, progress=False)


def test_labelled_distributions_and_dataloaders(schedule):
    class Labelled:
        def sample(self, n, generator=None):
            return torch.randn(n, 2, generator=generator)

        def sample_labelled(self, n, generator=None):
            return torch.randn(n, 2, generator=generator), torch.randint(0, 4, (n,), generator=generator)

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data2d(40), torch.arange(40) % 4),
                                         batch_size=10)
    dict_loader = [{"x0": data2d(10), "y": torch.arange(10) % 4}]
    for source in (Labelled(), loader, dict_loader):
        spy = LabelSpy()
        train_eps_model(spy, schedule, source, steps=2, batch_size=10, progress=False)
        assert all(y.shape == (10,) and int(y.max()) < 4 for y in spy.seen)


def test_loss_by_t_uses_the_labels_of_a_conditioned_model(schedule):
    spy = LabelSpy()
    loss_by_t(spy, schedule, labelled2d(), num_buckets=2, samples_per_bucket=8)
    assert len(spy.seen) == 2 and all(y is not None and y.shape == (8,) for y in spy.seen)
    spy.seen.clear()
    loss_by_t(spy, schedule, data2d(), num_buckets=2, samples_per_bucket=8)  # no labels: ε(x_t, t, ∅)
    loss_by_t(spy, schedule, make_dataloader(data2d(40), batch_size=8), num_buckets=2, samples_per_bucket=8)
    assert spy.seen == [None] * 4


def test_old_argument_order_is_refused_with_the_fix(schedule):
    with pytest.raises(TypeError, match="swap the 2nd and 3rd arguments"):
        train_eps_model(tiny_mlp(), data2d(), schedule, steps=1, progress=False)
    with pytest.raises(TypeError, match="swap the 2nd and 3rd arguments"):
        loss_by_t(tiny_mlp(), data2d(), schedule)


# ---- resuming: the state of a run, saved and restored -------------------------------------------

def _resumable_run(steps, tmp_path=None, resume=None, cond=True, **kw):
    """A conditioned MLP with EMA, clipping, a warm-up longer than the first session and label dropout."""
    torch.manual_seed(0)
    model = TimeMLP(hidden=16, depth=1, time_dim=8, T=T, num_classes=4 if cond else None)
    states = []
    res = train_eps_model(model, schedule_T(), labelled2d() if cond else data2d(), steps=steps, batch_size=16,
                          lr=1e-2, ema_decay=0.9, grad_clip=0.5, warmup_steps=15, seed=4, progress=False,
                          label_dropout=0.3 if cond else 0.0, resume=resume, on_state=states.append, **kw)
    return res, states


def schedule_T():
    return make_schedule("linear", T, warn=False)


def test_resumed_run_gives_the_losses_of_an_uninterrupted_one(tmp_path):
    """2k steps in one go vs k steps, saved to disk (safetensors + JSON), loaded, and k more."""
    from diffusion_lab.checkpoints import load_training_state, save_training_state

    k = 10
    whole, _ = _resumable_run(2 * k)
    first, states = _resumable_run(k)
    assert [s.step for s in states] == [k]  # on_state once, when the loop ended
    save_training_state(tmp_path / "run", states[-1])
    torch.manual_seed(123)  # the global RNG is part of the state: disturbing it here must not matter
    state, _ = load_training_state(tmp_path / "run")
    second, _ = _resumable_run(2 * k, resume=state)
    assert second.steps_done == 2 * k and second.extra["resumed_from_step"] == k
    # equal to float tolerance (the same operations in the same order: in practice bit for bit)
    torch.testing.assert_close(torch.tensor(second.loss_history), torch.tensor(whole.loss_history), rtol=1e-6, atol=0)
    for a, b in ((second.model, whole.model), (second.ema_model, whole.ema_model)):
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, rtol=1e-6, atol=1e-7)
    assert second.wall_time_s >= states[-1].wall_time_s


def test_a_model_with_dropout_resumes_exactly(tmp_path):
    """TinyUNet with dropout draws from torch's global RNG: the state restores it."""
    from diffusion_lab.models import TinyUNet

    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def run(steps, resume=None):
        torch.manual_seed(0)
        model = TinyUNet(base=4, channel_mults=(1, 2), groups=2, attention=False, dropout=0.3)
        states = []
        res = train_eps_model(model, schedule_T(), images, steps=steps, batch_size=4, progress=False, resume=resume,
                              on_state=states.append)
        return res, states

    whole, _ = run(6)
    _, states = run(3)
    torch.manual_seed(99)
    resumed, _ = run(6, resume=states[-1])
    torch.testing.assert_close(torch.tensor(resumed.loss_history), torch.tensor(whole.loss_history), rtol=1e-6, atol=0)


def test_state_cadence_and_interrupt_between_steps(tmp_path):
    res, states = _resumable_run(10, state_every_steps=3)
    assert [s.step for s in states] == [3, 6, 9, 10]
    assert all(len(s.loss_history) == s.step for s in states)
    assert states[0].loss_history == res.loss_history[:3]   # copies, not the live list

    def stop_at_4(step, loss, model):
        if step == 4:
            raise KeyboardInterrupt

    interrupted, states = _resumable_run(10, callback=stop_at_4)
    assert interrupted.interrupted and [s.step for s in states] == [4]
    resumed, _ = _resumable_run(10, resume=states[-1])
    assert resumed.loss_history == _resumable_run(10)[0].loss_history
    # a time-based cadence: every step takes longer than 0 s, so every step saves
    _, states = _resumable_run(3, state_every_s=1e-9)
    assert [s.step for s in states] == [1, 2, 3]


def test_resume_refuses_other_settings(tmp_path):
    _, states = _resumable_run(3)
    torch.manual_seed(0)
    model = TimeMLP(hidden=16, depth=1, time_dim=8, T=T, num_classes=4)
    with pytest.raises(ValueError, match=r"cannot resume.*lr: saved 0\.01, now 0\.02"):
        train_eps_model(model, schedule_T(), labelled2d(), steps=6, batch_size=16, lr=2e-2, ema_decay=0.9,
                        grad_clip=0.5, warmup_steps=15, label_dropout=0.3, resume=states[-1], progress=False)
    with pytest.raises(ValueError, match="model_config"):
        train_eps_model(TimeMLP(hidden=8, depth=1, time_dim=8, T=T, num_classes=4), schedule_T(), labelled2d(),
                        steps=6, batch_size=16, lr=1e-2, ema_decay=0.9, grad_clip=0.5, warmup_steps=15,
                        label_dropout=0.3, resume=states[-1], progress=False)


def test_resume_may_change_label_dropout():
    """p_uncond is a curriculum choice (RESUME_MAY_CHANGE): a resumed run may raise it, and the state it
    saves records the new p."""
    _, states = _resumable_run(3)
    torch.manual_seed(0)
    model = TimeMLP(hidden=16, depth=1, time_dim=8, T=T, num_classes=4)
    later = []
    train_eps_model(model, schedule_T(), labelled2d(), steps=5, batch_size=16, lr=1e-2, ema_decay=0.9,
                    grad_clip=0.5, warmup_steps=15, label_dropout=0.6, resume=states[-1], on_state=later.append,
                    progress=False)
    assert states[-1].settings["label_dropout"] == 0.3
    assert later[-1].step == 5 and later[-1].settings["label_dropout"] == 0.6


# ---- the CLI: labels and --resume -----------------------------------------------------------------

def _cli(tmp_path, *extra, steps=6):
    from diffusion_lab.train import main

    return main(["--model", "mlp2d", "--steps", str(steps), "--hidden", "16", "--depth", "1", "--out",
                 str(tmp_path / "mlp"), "--no-progress", "--threads", str(torch.get_num_threads()),
                 "--warmup", "8", *extra])


def test_cli_resume_continues_where_it_stopped(tmp_path):
    k = 5
    whole = _cli(tmp_path / "a", steps=2 * k)
    first = _cli(tmp_path / "b", "--save-every", "2", steps=k)
    assert first["steps_done"] == k and (tmp_path / "b" / "mlp.resume.json").is_file()
    second = _cli(tmp_path / "b", "--save-every", "2", "--resume", steps=2 * k)
    torch.testing.assert_close(torch.tensor(second["loss_history"]), torch.tensor(whole["loss_history"]),
                               rtol=1e-6, atol=0)
    model, meta = load_checkpoint(tmp_path / "b" / "mlp")
    assert meta["steps"] == 2 * k and meta["command"].endswith("--save-every 2")  # the command that started it
    assert [(s["from_step"], s["to_step"]) for s in meta["sessions"]] == [(0, k), (k, 2 * k)]
    assert meta["sessions"][1]["command"].endswith("--resume")
    assert meta["wall_time_s"] == pytest.approx(sum(s["wall_time_s"] for s in meta["sessions"]), abs=0.15)
    a, _ = load_checkpoint(tmp_path / "a" / "mlp")
    for pa, pb in zip(a.parameters(), model.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-6, atol=1e-7)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "mlp.json", "mlp.resume.json", f"mlp.resume.step{2 * k}.safetensors", "mlp.safetensors"]


def test_cli_guards_an_unfinished_run_and_its_settings(tmp_path, capsys):
    _cli(tmp_path, "--max-minutes", "0", steps=50)  # stops after its first step: an unfinished run
    meta = json.loads((tmp_path / "mlp.json").read_text())
    assert meta["steps"] == 1 and meta["stopped_by"] == "time limit"
    with pytest.raises(SystemExit):
        _cli(tmp_path, steps=50)  # forgot --resume
    assert "add --resume to continue it" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _cli(tmp_path, "--resume", "--lr", "0.5", steps=50)
    assert "lr: saved 0.001, now 0.5" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _cli(tmp_path / "elsewhere", "--resume")
    assert "no saved training state" in capsys.readouterr().err


def test_cli_stop_request_finishes_the_step():
    import os
    import signal

    from diffusion_lab.train import _StopRequests

    before = signal.getsignal(signal.SIGINT)   # the default handler, or SIG_IGN in a background job
    with _StopRequests() as stop:
        stop.check(1, 0.0, None)  # nothing requested: carries on
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: only a request …
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            stop.check(2, 0.0, None)  # … acted on between two steps
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C stops at once
    assert signal.getsignal(signal.SIGINT) is before     # the handler it found is back


def test_cli_conditional_unet_digits(tmp_path):
    from diffusion_lab.train import main

    main(["--model", "unet-digits", "--steps", "2", "--base", "4", "--channel-mults", "1,2", "--num-classes", "10",
          "--label-dropout", "0.1", "--out", str(tmp_path / "c"), "--no-progress", "--threads", "1"])
    model, meta = load_checkpoint(tmp_path / "c")
    assert meta["model_config"]["num_classes"] == 10 and meta["null_label"] == 10 and meta["label_dropout"] == 0.1
    assert "digit labels" in meta["dataset"]
    assert model(torch.zeros(2, 1, 8, 8), 5, torch.tensor([3, 10])).shape == (2, 1, 8, 8)
    with pytest.raises(SystemExit):
        main(["--model", "mlp2d", "--num-classes", "4", "--out", str(tmp_path / "m")])  # the ring has no labels
    with pytest.raises(SystemExit):
        main(["--model", "unet-digits", "--label-dropout", "0.1", "--out", str(tmp_path / "m")])  # no --num-classes


def test_cli_split_train_holds_out_the_evaluation_images(tmp_path, monkeypatch):
    """--split train: the ε-model learns from the 1438 training digits only, so the 359 test digits stay unseen
    references for metrics.PROTOCOLS["digits8x8"] (its JSON says so, and metrics.references_held_out reads it)."""
    import diffusion_lab.data as data_mod
    from diffusion_lab.metrics import references_held_out
    from diffusion_lab.train import main

    asked, real_loader = [], data_mod.load_digits_8x8

    def recording(split="all"):
        asked.append(split)
        return real_loader(split)

    monkeypatch.setattr(data_mod, "load_digits_8x8", recording)
    main(["--model", "unet-digits", "--split", "train", "--steps", "2", "--base", "4", "--channel-mults", "1,2",
          "--out", str(tmp_path / "u"), "--no-progress", "--threads", "1"])
    _, meta = load_checkpoint(tmp_path / "u")
    assert asked == ["train"]
    assert meta["split"] == "train (1438 images; the 359 test images held out)" and references_held_out(meta)
    assert "--split train" in meta["command"]
    with pytest.raises(SystemExit):
        main(["--model", "mlp2d", "--split", "train", "--out", str(tmp_path / "m")])   # fresh samples: no split
