"""benchmarks/guidance_curves.py (it writes the curves chapter 06 plots), run small on the shipped 8×8 digit models."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("guidance_curves", ROOT / "benchmarks" / "guidance_curves.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(tmp_path, *extra):
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "curves.json"
    _script().main(["--model", str(ROOT / "data/unet_digits_cond"),
                    "--classifier", str(ROOT / "data/classifier_digits"),
                    "--ws", "0,2", "--n", "40", "--seeds", "2", "--steps", "4", "--out", str(out), *extra])
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def deterministic(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("eta0"), "--mnist-root", "/where/one/machine/keeps/mnist")


def test_record_names_its_sampler_and_holds_one_value_per_w(deterministic):
    assert deterministic["sampler"] == "DDIM eta=0, 4 steps, clip_x0=1"
    assert deterministic["w"] == [0.0, 2.0] and deterministic["n"] == 80 and deterministic["n_per_draw"] == 40
    assert deterministic["protocol_changed"] and deterministic["protocol"]["name"] == "digits8x8"
    assert deterministic["seeds"] == [0, 1] and deterministic["protocol"]["seeds"] == [0, 1]
    assert "--mnist-root" not in deterministic["command"] and "--steps 4" in deterministic["command"]
    for key in ("accuracy", "confidence", "diversity", "fid", "fid_sd", "sample_s"):
        assert len(deterministic[key]) == 2, key
    assert all(0.0 <= a <= 1.0 for a in deterministic["accuracy"])
    # guidance towards the intended class must raise the share the classifier recognises (w = 0 is chance-level)
    assert deterministic["accuracy"][1] > deterministic["accuracy"][0]


def test_eta_one_adds_fresh_noise_reproducibly(tmp_path, deterministic):
    first = _run(tmp_path / "a", "--eta", "1")
    second = _run(tmp_path / "b", "--eta", "1")
    assert first["sampler"] == "DDIM eta=1, 4 steps, clip_x0=1"
    assert first["fid"] == second["fid"]                       # the fresh noise is seeded
    assert first["fid"] != deterministic["fid"]                 # ... and it is there


def test_references_are_the_held_out_digits(deterministic):
    """The Fréchet references are halves of the 359 held-out test digits (metrics.PROTOCOLS["digits8x8"]), the same
    draws as benchmarks/heldout_eval.py: its real-against-real figure for the same n and seeds is identical."""
    spec = importlib.util.spec_from_file_location("heldout_eval", ROOT / "benchmarks" / "heldout_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    record = module.main(["--protocol", "digits8x8", "--model", str(ROOT / "data/unet_digits"), "--n", "40",
                          "--seeds", "2", "--steps", "2"])
    assert record["real"]["fid_real_mean"] == pytest.approx(deterministic["fid_real"], rel=1e-12)
    assert deterministic["classifier_sha256"] == record["judge"]["sha256"]
