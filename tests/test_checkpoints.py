"""Checkpoints: round trip, integrity checks before loading, clear errors, and no pickle."""
import json
import pickle
from pathlib import Path

import pytest
import torch

import diffusion_lab.checkpoints as ck
from diffusion_lab.checkpoints import (CheckpointError, ChecksumMismatchError, checkpoint_paths, load_checkpoint,
                                       load_schedule, save_checkpoint)
from diffusion_lab.models import DigitClassifier, TimeMLP, TinyUNet
from diffusion_lab.schedules import make_schedule


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


def _save(tmp_path, model=None, name="m", **kw):
    model = model or TimeMLP(hidden=16, depth=1, time_dim=8, T=50)
    args = dict(schedule_config={"name": "linear", "T": 50, "kwargs": {}}, dataset="ring", split="samples",
                steps=3, command="python -m diffusion_lab.train --model mlp2d --steps 3 --out x", wall_time_s=1.5)
    args.update(kw)
    w, j = save_checkpoint(tmp_path / name, model, **args)
    return model, w, j


@pytest.mark.parametrize("model", [
    TimeMLP(hidden=16, depth=1, time_dim=8, T=50),
    TinyUNet(base=8, channel_mults=(1, 2), groups=4),
    DigitClassifier(width=8, feature_dim=16, image_size=8),
])
def test_round_trip_exact(tmp_path, model):
    torch.manual_seed(0)
    _, w, j = _save(tmp_path, model, extra={"final_loss": 0.5})
    assert w.name == "m.safetensors" and j.name == "m.json"
    loaded, meta = load_checkpoint(tmp_path / "m")
    assert type(loaded) is type(model) and not loaded.training
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)  # bit-identical weights
    for key in ("model_config", "schedule_config", "dataset", "split", "steps", "command", "wall_time_s",
                "torch_version", "weights_sha256"):
        assert key in meta
    assert meta["final_loss"] == 0.5 and meta["steps"] == 3
    assert meta["schedule_config"] == {"name": "linear", "T": 50, "kwargs": {}}
    assert meta["weights_sha256"] == ck.file_sha256(w)


def test_suffixes_and_schedule_object(tmp_path):
    sched = make_schedule("cosine", 40)
    _save(tmp_path, schedule_config=sched)
    for stem in ("m", "m.json", "m.safetensors"):
        _, meta = load_checkpoint(tmp_path / stem)
    rebuilt = load_schedule(meta)
    assert rebuilt.name == "cosine" and rebuilt.T == 40
    torch.testing.assert_close(rebuilt.alphas_cumprod, sched.alphas_cumprod, rtol=0, atol=0)


def test_flipped_byte_in_weights_raises_before_loading(tmp_path, monkeypatch):
    _, w, _ = _save(tmp_path)
    data = bytearray(w.read_bytes())
    data[-5] ^= 0x01  # one bit of one weight
    w.write_bytes(bytes(data))
    called = []
    import safetensors.torch as st
    monkeypatch.setattr(st, "load_file", lambda *a, **k: called.append(1))
    with pytest.raises(ChecksumMismatchError, match="corrupt or modified: re-download/re-train"):
        load_checkpoint(tmp_path / "m")
    assert not called  # the weights were never parsed


def test_truncated_json_raises(tmp_path):
    _, _, j = _save(tmp_path)
    text = j.read_text()
    j.write_text(text[: len(text) // 2])
    with pytest.raises(CheckpointError, match="not readable JSON"):
        load_checkpoint(tmp_path / "m")


def test_json_without_required_keys_raises(tmp_path):
    _, _, j = _save(tmp_path)
    j.write_text(json.dumps({"hello": 1}))
    with pytest.raises(CheckpointError, match="model_config"):
        load_checkpoint(tmp_path / "m")


def test_missing_files_name_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m diffusion_lab.train"):
        load_checkpoint(tmp_path / "nothing")
    _, w, _ = _save(tmp_path)
    w.unlink()
    with pytest.raises(FileNotFoundError, match=r"run `python -m diffusion_lab.train --model mlp2d --steps 3 --out x`"):
        load_checkpoint(tmp_path / "m")


def test_config_model_mismatch_raises(tmp_path):
    _, w, j = _save(tmp_path)
    meta = json.loads(j.read_text())
    meta["model_config"]["hidden"] = 32  # JSON edited: weights no longer fit
    j.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="config/model mismatch"):
        load_checkpoint(tmp_path / "m")


def test_pickle_is_never_executed(tmp_path, monkeypatch):
    """A pickle posing as weights (with a matching hash) must fail to parse, never run."""
    sentinel = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (sentinel.touch, ())

    _, w, j = _save(tmp_path)
    # both the raw pickle format and torch.save's zip-of-pickle format
    for payload in (pickle.dumps(Evil()), None):
        if payload is None:
            torch.save({"x": Evil()}, w)
        else:
            w.write_bytes(payload)
        meta = json.loads(j.read_text())
        meta["weights_sha256"] = ck.file_sha256(w)  # an attacker can fix the hash too
        j.write_text(json.dumps(meta))

        def boom(*a, **k):
            raise AssertionError("pickle/torch.load must never be used")
        monkeypatch.setattr(torch, "load", boom)
        monkeypatch.setattr(pickle, "load", boom)
        monkeypatch.setattr(pickle, "loads", boom)
        with pytest.raises(CheckpointError, match="not a valid safetensors file"):
            load_checkpoint(tmp_path / "m")
        monkeypatch.undo()
        assert not sentinel.exists()


def test_extra_cannot_override_standard_keys(tmp_path):
    with pytest.raises(ValueError, match="overwrite"):
        _save(tmp_path, extra={"steps": 99})


def test_checkpoint_paths():
    w, j = checkpoint_paths("data/unet_digits.json")
    assert (str(w), str(j)) == ("data/unet_digits.safetensors", "data/unet_digits.json")


# ------------------------------------------------------------------ the shipped checkpoints
DATA = Path(__file__).resolve().parent.parent / "data"
SHIPPED = {"mlp2d_ring8": "TimeMLP", "unet_digits": "TinyUNet", "unet_mnist": "TinyUNet",
           "unet_digits_cond": "TinyUNet",
           "classifier_digits": "DigitClassifier", "classifier_mnist": "DigitClassifier"}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_checkpoint_loads_and_is_documented(name):
    if not (DATA / f"{name}.json").exists():
        pytest.skip(f"data/{name} not shipped in this checkout")
    model, meta = load_checkpoint(DATA / name)  # verifies the sha256 first
    assert meta["model_config"]["type"] == SHIPPED[name]
    assert (DATA / f"{name}.safetensors").stat().st_size < 3_000_000
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert meta["weights_sha256"] in readme and meta["command"] in readme
    assert meta["command"].startswith("python -m diffusion_lab.train ") and f"--out data/{name}" in meta["command"]
    assert meta["parameters"] == sum(p.numel() for p in model.parameters())
    if SHIPPED[name] != "DigitClassifier":
        assert meta["schedule_config"] == {"name": "linear", "T": 1000, "kwargs": {}}


def test_shipped_mlp2d_is_close_to_the_exact_eps():
    """The shipped 2D model's L_simple is within 0.01 of the exact ε*'s (0.256, the floor)."""
    if not (DATA / "mlp2d_ring8.json").exists():
        pytest.skip("data/mlp2d_ring8 not shipped in this checkout")
    from diffusion_lab.distributions import make_distribution
    from diffusion_lab.training import loss_by_t

    model, meta = load_checkpoint(DATA / "mlp2d_ring8")
    sched, q = load_schedule(meta), make_distribution("ring")
    # same (x0, t, ε) draws for both; 5000 pairs: the paired difference has sd ≈ 0.002
    exact = loss_by_t(q.eps_model(sched), sched, q, num_buckets=1, samples_per_bucket=5000,
                      generator=torch.Generator().manual_seed(0))
    got = loss_by_t(model, sched, q, num_buckets=1, samples_per_bucket=5000, generator=torch.Generator().manual_seed(0))
    assert float(got.loss) - float(exact.loss) < 0.01, (float(got.loss), float(exact.loss))
    assert float(got.loss) > float(exact.loss) - 0.005  # ε* is optimal: nothing beats it beyond noise


# ------------------------------------------------------------------ conditioning, lookup, one sha256
def test_conditional_model_round_trips_with_its_label_config(tmp_path):
    torch.manual_seed(0)
    model = TinyUNet(base=8, channel_mults=(1, 2), groups=4, num_classes=10)
    _save(tmp_path, model)
    loaded, meta = load_checkpoint(tmp_path / "m")
    assert meta["model_config"]["num_classes"] == 10 and loaded.num_classes == 10 and loaded.null_label == 10
    x, t, y = torch.randn(3, 1, 8, 8), torch.tensor([1, 500, 999]), torch.tensor([0, 7, 10])
    with torch.no_grad():
        assert torch.equal(loaded(x, t, y), model.eval()(x, t, y))


def test_checkpoints_saved_before_labels_load_as_unconditional(tmp_path):
    _, _, j = _save(tmp_path)
    meta = json.loads(j.read_text())
    assert "num_classes" not in meta["model_config"]  # the JSON format of every shipped ε-model
    loaded, _ = load_checkpoint(tmp_path / "m")
    assert loaded.num_classes == 0 and loaded.null_label is None


def test_save_checkpoint_takes_a_state_dict_with_its_config(tmp_path):
    model = TimeMLP(hidden=16, depth=1, time_dim=8, T=50)
    with pytest.raises(ValueError, match="needs config="):
        save_checkpoint(tmp_path / "s", model.state_dict(), dataset="d", split="s", steps=1)
    save_checkpoint(tmp_path / "s", model.state_dict(), config=model.config, dataset="d", split="s", steps=1)
    loaded, _ = load_checkpoint(tmp_path / "s")
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_shipped_lookup_and_one_sha256_helper():
    import diffusion_lab.data as data

    assert ck.DATA_DIR == DATA and ck.shipped("unet_digits") == DATA / "unet_digits"
    assert ck.file_sha256 is data.file_sha256 and not hasattr(ck, "_sha256")


# ------------------------------------------------------------------ training state (resume)
def _state(step=3, ema=True):
    from diffusion_lab.training import TrainingState

    torch.manual_seed(step)
    model = TimeMLP(hidden=8, depth=1, time_dim=4, T=50)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)
    model(torch.randn(4, 2), 3).pow(2).mean().backward()
    opt.step()
    return TrainingState(step=step, model_state=model.state_dict(), ema_state=model.state_dict() if ema else None,
                         optimizer_state=opt.state_dict(), generator_state=torch.Generator().manual_seed(1).get_state(),
                         torch_rng_state=torch.get_rng_state(), loss_history=[1.0 / (i + 1) for i in range(step)],
                         wall_time_s=12.5, settings={"lr": 1e-3, "schedule": {"name": "linear", "T": 50, "kwargs": {}}})


def test_training_state_round_trip(tmp_path):
    state = _state()
    tensors, js = ck.save_training_state(tmp_path / "run.resume", state, extra={"command": "x"})
    assert tensors.name == "run.resume.step3.safetensors" and js.name == "run.resume.json"
    back, meta = ck.load_training_state(tmp_path / "run.resume")
    assert meta["command"] == "x" and meta["kind"] == "training state"
    assert (back.step, back.wall_time_s) == (3, 12.5)
    assert (back.loss_history, back.settings) == (state.loss_history, state.settings)
    for a, b in ((back.model_state, state.model_state), (back.ema_state, state.ema_state)):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(back.generator_state, state.generator_state)
    assert torch.equal(back.torch_rng_state, state.torch_rng_state)
    # Adam's moments and step counts come back bit for bit; its group options (betas a tuple) load into Adam
    assert back.optimizer_state["state"].keys() == state.optimizer_state["state"].keys()
    for i, per in state.optimizer_state["state"].items():
        assert all(torch.equal(per[k], back.optimizer_state["state"][i][k]) for k in per)
    opt = torch.optim.Adam(TimeMLP(hidden=8, depth=1, time_dim=4, T=50).parameters(), lr=1e-3, foreach=True)
    from diffusion_lab.training import _load_optimizer_state

    _load_optimizer_state(opt, back.optimizer_state)
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)
    assert _state(ema=False).ema_state is None
    ck.save_training_state(tmp_path / "plain", _state(ema=False))
    assert ck.load_training_state(tmp_path / "plain")[0].ema_state is None


def test_a_new_training_state_replaces_the_old_only_once_complete(tmp_path):
    ck.save_training_state(tmp_path / "r", _state(step=3))
    # a save interrupted after the tensors were written but before the JSON: the old state still loads
    orphan = tmp_path / "r.step5.safetensors"
    orphan.write_bytes(b"partial")
    assert ck.load_training_state(tmp_path / "r")[0].step == 3
    ck.save_training_state(tmp_path / "r", _state(step=4))
    assert ck.load_training_state(tmp_path / "r")[0].step == 4
    assert sorted(p.name for p in tmp_path.glob("r.step*.safetensors")) == ["r.step4.safetensors"]


def test_damaged_training_state_is_refused(tmp_path):
    tensors, js = ck.save_training_state(tmp_path / "r", _state())
    data = bytearray(tensors.read_bytes())
    data[-3] ^= 0x01
    tensors.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError):
        ck.load_training_state(tmp_path / "r")
    _save(tmp_path, name="model")
    with pytest.raises(CheckpointError, match="lacks"):
        ck.load_training_state(tmp_path / "model")  # a model checkpoint is not a training state
    with pytest.raises(FileNotFoundError, match="start the run again without resuming"):
        ck.load_training_state(tmp_path / "nothing")


@pytest.mark.parametrize("curves_name, model_name", [("guidance_curves_digits", "unet_digits_cond"),
                                                     ("guidance_curves_mnist", "unet_mnist")])
def test_saved_guidance_curves_belong_to_the_shipped_checkpoint(curves_name, model_name):
    """Chapter 06 plots data/guidance_curves_*.json: they must have been measured on the checkpoint shipped
    next to them (re-run benchmarks/guidance_curves.py after retraining)."""
    if not (DATA / f"{model_name}.json").exists():
        pytest.skip(f"data/{model_name} not shipped in this checkout")
    curves = json.loads((DATA / f"{curves_name}.json").read_text(encoding="utf-8"))
    meta = json.loads((DATA / f"{model_name}.json").read_text(encoding="utf-8"))
    assert curves["model_sha256"] == meta["weights_sha256"], f"re-measure data/{curves_name}.json"
    assert curves["model_steps"] == meta["steps"]
    assert curves["model"] == f"data/{model_name}" and f"--model data/{model_name}" in curves["command"]
    assert "--mnist-root" not in curves["command"]                       # no path of one machine
    for key in ("accuracy", "confidence", "diversity", "fid", "sample_s"):
        assert len(curves[key]) == len(curves["w"]), key
    if curves_name == "guidance_curves_digits":       # measured by the evaluation protocol, on held-out references
        from diffusion_lab.metrics import PROTOCOLS, references_held_out

        protocol = PROTOCOLS["digits8x8"]
        assert curves["protocol"] == protocol.to_dict() and not curves["protocol_changed"]
        judge = json.loads((DATA / f"{protocol.judge}.json").read_text(encoding="utf-8"))
        assert curves["classifier_sha256"] == judge["weights_sha256"]
        assert curves["n"] == protocol.n * len(protocol.seeds) and curves["n_per_draw"] == protocol.n
        assert references_held_out(meta) and curves["references_in_training_set"] is False


def test_shipped_mnist_model_meets_its_accuracy_target():
    """Issue 11's target for the MNIST U-Net: the shipped classifier recognises the intended class in ≥ 95 % of the
    samples at the best w (n ≥ 1000 per w, data/guidance_curves_mnist.json)."""
    curves = json.loads((DATA / "guidance_curves_mnist.json").read_text(encoding="utf-8"))
    assert curves["n"] >= 1000
    assert max(curves["accuracy"]) >= 0.95


@pytest.mark.xfail(strict=True, reason="not met: by the held-out evaluation protocol the unconditional (w = 0) MNIST "
                   "samples score well above 20 (benchmarks/results/heldout_mnist.json); the 19.8 in "
                   "guidance_curves_mnist.json was one draw against references from the U-Net's own training set. "
                   "The MNIST retrain (a later issue) owns this target; when it passes, update the READMEs.")
def test_shipped_mnist_model_meets_its_unconditional_frechet_target():
    """Issue 11's other target, by the protocol: digit Fréchet distance ≤ 20 at w = 0 (mean over the draws)."""
    record = json.loads((RESULTS / "heldout_mnist.json").read_text(encoding="utf-8"))
    w0 = next(g for g in record["generators"] if g["w"] == 0.0)
    assert w0["fid_mean"] <= 20.0


RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


@pytest.mark.parametrize("protocol_name", ["digits8x8", "mnist"])
def test_stored_protocol_results_belong_to_the_shipped_checkpoints(protocol_name):
    """benchmarks/results/heldout_*.json (benchmarks/heldout_eval.py; the READMEs and data/README.md quote them):
    measured by the protocol as the package defines it today, with the shipped judge, on the shipped checkpoints
    (re-run the script after retraining either)."""
    from diffusion_lab.metrics import PROTOCOLS, references_held_out

    protocol = PROTOCOLS[protocol_name]
    record = json.loads((RESULTS / f"heldout_{protocol_name}.json").read_text(encoding="utf-8"))
    assert record["protocol"] == protocol.to_dict() and record["protocol_changed"] is False
    judge = json.loads((DATA / f"{protocol.judge}.json").read_text(encoding="utf-8"))
    assert record["judge"]["sha256"] == judge["weights_sha256"] and record["judge"]["name"] == protocol.judge
    # metrics.frechet_distance_from_stats's docstring quotes these counts of features that vary on the held-out digits
    assert record["judge"]["features_used"] == {"digits8x8": 26, "mnist": 29}[protocol_name]
    seeds = len(protocol.seeds)
    real = record["real"]
    assert len(real["fid_real"]) == seeds and real["fid_real_mean"] == pytest.approx(sum(real["fid_real"]) / seeds)
    assert record["generators"] and "--mnist-root" not in record["command"]
    for g in record["generators"]:
        meta = json.loads((DATA / f"{Path(g['model']).name}.json").read_text(encoding="utf-8"))
        assert g["model_sha256"] == meta["weights_sha256"], f"re-run benchmarks/heldout_eval.py for {g['model']}"
        assert g["model_steps"] == meta["steps"] and g["model_split"] == meta["split"]
        assert g["references_in_training_set"] is (not references_held_out(meta))
        assert len(g["fid"]) == seeds and g["fid_mean"] == pytest.approx(sum(g["fid"]) / seeds)
        assert f"--model {g['model']}" in record["command"]
        if protocol_name == "digits8x8":               # the 8×8 models were retrained without the held-out digits
            assert g["references_in_training_set"] is False


def test_data_readme_quotes_the_stored_protocol_results():
    """data/README.md's protocol tables hold the numbers of benchmarks/results/heldout_*.json and of
    data/guidance_curves_digits.json as stored (mean ± sd between draws, one decimal)."""
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for name in ("digits8x8", "mnist"):
        record = json.loads((RESULTS / f"heldout_{name}.json").read_text(encoding="utf-8"))
        real = record["real"]
        assert f"{real['fid_real_mean']:.1f} ± {real['fid_real_sd']:.1f}" in readme, name
        for g in record["generators"]:
            assert f"{g['fid_mean']:.1f} ± {g['fid_sd']:.1f}" in readme, (name, g["model"], g["w"])
            if "accuracy_mean" in g:
                assert f"{100 * g['accuracy_mean']:.1f} %" in readme, (name, g["model"], g["w"])
        assert record["command"] in readme, name
    curves = json.loads((DATA / "guidance_curves_digits.json").read_text(encoding="utf-8"))
    for mean, sd in zip(curves["fid"], curves["fid_sd"]):
        assert f"{mean:.1f} ± {sd:.1f}" in readme
    assert curves["command"] in readme
