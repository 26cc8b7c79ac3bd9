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
    assert meta["weights_sha256"] == ck._sha256(w)


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
        meta["weights_sha256"] = ck._sha256(w)  # an attacker can fix the hash too
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
    exact = loss_by_t(q.eps_model(sched), q, sched, num_buckets=1, samples_per_bucket=5000,
                      generator=torch.Generator().manual_seed(0))
    got = loss_by_t(model, q, sched, num_buckets=1, samples_per_bucket=5000, generator=torch.Generator().manual_seed(0))
    assert float(got.loss) - float(exact.loss) < 0.01, (float(got.loss), float(exact.loss))
    assert float(got.loss) > float(exact.loss) - 0.005  # ε* is optimal: nothing beats it beyond noise
