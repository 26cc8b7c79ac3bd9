"""Checkpoints as ``NAME.safetensors`` (weights) + ``NAME.json`` (everything needed to rebuild).

No pickle anywhere: weights are read with ``safetensors`` (a flat tensor format that cannot run
code), and only after the file's sha256 matches the one recorded in the JSON. The JSON holds:

``format`` (this module's version), ``model_config`` (for ``models.build_model``; a
label-conditioned model has ``num_classes``), ``schedule_config`` ``{name, T, kwargs}`` (for
``NoiseSchedule.from_config``; null for classifiers), ``dataset``, ``split``, ``steps``,
``command`` (how it was trained), ``wall_time_s``, ``torch_version``, ``created``,
``weights_file``, ``weights_sha256``, ``weights_bytes`` and any ``extra`` keys (final loss,
accuracy, ...).

Training state (to resume a run exactly, see ``training.TrainingState``): ``NAME.json`` +
``NAME.stepS.safetensors`` written by :func:`save_training_state`. The tensors (model, EMA, Adam
moments, RNG states, loss history) go to safetensors under the prefixes ``model/``, ``ema/``,
``optimizer/<param index>/``, ``rng/`` and ``loss_history``; everything else (step, wall time,
settings, Adam's group options) to the JSON, with the tensors file's sha256. The tensors file is
named after its step and the JSON replaced last, so an interruption while saving leaves the
previous state intact.

Shipped checkpoints live in :data:`DATA_DIR`; ``shipped("unet_digits")`` is the path stem of one.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from .data import file_sha256
from .models import build_model

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "load_schedule",
    "checkpoint_paths",
    "save_training_state",
    "load_training_state",
    "training_state_paths",
    "shipped",
    "DATA_DIR",
    "CheckpointError",
    "ChecksumMismatchError",
    "FORMAT_VERSION",
    "TRAINING_STATE_FORMAT",
]

FORMAT_VERSION = 1
TRAINING_STATE_FORMAT = 1

#: Where the shipped checkpoints live: <repository>/data.
DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def shipped(name: str) -> Path:
    """Path stem of a shipped checkpoint, e.g. ``shipped("unet_digits")`` → <repo>/data/unet_digits
    (works from any working directory: notebooks run in notebooks/, scripts in the repository root)."""
    return DATA_DIR / name


class CheckpointError(ValueError):
    """A checkpoint exists but cannot be used (bad JSON, bad weights, wrong architecture)."""


class ChecksumMismatchError(CheckpointError):
    """The weights file's sha256 differs from the one recorded when it was saved."""


def checkpoint_paths(path_stem) -> tuple[Path, Path]:
    """``(NAME.safetensors, NAME.json)`` for ``path_stem`` (a trailing ``.json``/``.safetensors`` is dropped)."""
    p = Path(path_stem)
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def _schedule_config(schedule_config):
    if schedule_config is None:
        return None
    if hasattr(schedule_config, "config"):  # a NoiseSchedule
        schedule_config = schedule_config.config
    cfg = dict(schedule_config)
    if "name" not in cfg or "T" not in cfg:
        raise ValueError(f"schedule_config needs 'name' and 'T' (and optional 'kwargs'), got {cfg!r}")
    cfg.setdefault("kwargs", {})
    return cfg


def save_checkpoint(path_stem, model: nn.Module | dict[str, Tensor], *, config: dict | None = None,
                    schedule_config=None, dataset: str, split: str, steps: int, command: str | None = None,
                    wall_time_s: float | None = None, extra: dict | None = None) -> tuple[Path, Path]:
    """Write ``NAME.safetensors`` and ``NAME.json``; return both paths.

    Args:
        path_stem: ``data/NAME`` (folders are created).
        model: the network, whose ``state_dict`` is saved (moved to CPU, made contiguous), or a
            ``state_dict`` itself (then ``config`` is required).
        config: the model config for ``build_model`` (default ``model.config``).
        schedule_config: ``{name, T, kwargs}`` or a ``NoiseSchedule`` (its ``.config``); None for
            models without a schedule (classifiers).
        dataset, split, steps: what it was trained on and for how long.
        command: the command that produced it (recorded so it can be recreated).
        wall_time_s: training wall time.
        extra: more JSON-serialisable metadata (merged in; may not override the keys above).
    """
    weights_path, json_path = checkpoint_paths(path_stem)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(model, dict):
        if config is None:
            raise ValueError("saving a state_dict needs config= (the model config for build_model), e.g. model.config")
        state_dict = model
    else:
        state_dict = model.state_dict()
        if config is None:
            config = model.config
    config = json.loads(json.dumps(config))  # must be JSON-serialisable; also a deep copy
    _write_tensors(weights_path, state_dict)

    meta = {
        "format": FORMAT_VERSION,
        "model_config": config,
        "schedule_config": _schedule_config(schedule_config),
        "dataset": dataset,
        "split": split,
        "steps": int(steps),
        "command": command,
        "wall_time_s": None if wall_time_s is None else float(wall_time_s),
        "torch_version": torch.__version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "weights_file": weights_path.name,
        "weights_sha256": file_sha256(weights_path),
        "weights_bytes": weights_path.stat().st_size,
    }
    for k, v in (extra or {}).items():
        if k in meta:
            raise ValueError(f"extra key {k!r} would overwrite a standard checkpoint field; rename it")
        meta[k] = v
    _write_json(json_path, meta)
    return weights_path, json_path


def _write_tensors(path: Path, tensors: dict[str, Tensor]) -> None:
    """Write a safetensors file atomically (a temporary file, then a rename), readable like the JSON."""
    from safetensors.torch import save_file

    state, storages = {}, set()
    for k, v in tensors.items():
        v = v.detach().to("cpu").contiguous()
        storage = v.untyped_storage().data_ptr()
        if storage in storages and v.numel():
            v = v.clone()  # safetensors refuses tensors that share memory (e.g. a model and its copy's views)
        storages.add(storage)
        state[k] = v
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata={"format": "pt"})
    os.replace(tmp, path)
    _umask = os.umask(0)
    os.umask(_umask)
    os.chmod(path, 0o666 & ~_umask)  # safetensors writes 0600; make it readable like the JSON


def _write_json(path: Path, meta: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _recreate_hint(meta: dict | None, stem: Path) -> str:
    cmd = (meta or {}).get("command")
    if cmd:
        return f"run `{cmd}` to recreate it"
    return (f"run python -m diffusion_lab.train --model MODEL --steps N --out {stem} to recreate it "
            f"(see data/README.md for the exact command of each shipped checkpoint)")


def _read_json(json_path: Path, required: set[str], what: str, hint: Callable[[dict | None], str]) -> dict:
    """Parse a checkpoint's JSON and check it has the ``required`` keys (clear errors otherwise)."""
    if not json_path.is_file():
        raise FileNotFoundError(f"{what} {json_path} not found; {hint(None)}")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(
            f"{json_path} is not readable JSON ({e}); the file is truncated or corrupt: re-download it or {hint(None)}"
        ) from e
    if not isinstance(meta, dict) or not required <= meta.keys():
        keys = "/".join(f"'{k}'" for k in sorted(required))
        raise CheckpointError(f"{json_path} lacks {keys}; it is not a diffusion_lab {what} "
                              f"(or was damaged): {hint(meta if isinstance(meta, dict) else None)}")
    return meta


def _read_tensors(path: Path, sha256: str, json_path: Path, hint: str, map_location="cpu") -> dict[str, Tensor]:
    """Check a safetensors file's sha256 against the JSON's, then parse it (never unpickles anything)."""
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint weights {path} not found; {hint}")
    digest = file_sha256(path)
    if digest != sha256:
        raise ChecksumMismatchError(
            f"{path}: sha256 {digest} does not match {sha256} recorded in {json_path.name}; "
            f"file corrupt or modified: re-download/re-train ({hint})"
        )
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=str(map_location))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a valid safetensors file ({e}); {hint}") from e


def load_checkpoint(path_stem, map_location="cpu") -> tuple[nn.Module, dict]:
    """Load ``NAME.safetensors`` + ``NAME.json`` → ``(model, metadata)``; the model is in eval mode.

    Order of checks: both files exist → the JSON parses and has the needed keys → the weights file's
    sha256 equals ``metadata["weights_sha256"]`` → the weights parse as safetensors → the model
    rebuilt from ``model_config`` accepts them with ``strict=True``.

    Raises:
        FileNotFoundError: a file is missing (the message says how to recreate it).
        ChecksumMismatchError: the weights were modified or corrupted.
        CheckpointError: unreadable JSON/weights, or weights that do not fit the configured model.
    """
    weights_path, json_path = checkpoint_paths(path_stem)
    stem = weights_path.with_suffix("")
    meta = _read_json(json_path, {"model_config", "weights_sha256"}, "checkpoint",
                      lambda m: _recreate_hint(m, stem))
    state = _read_tensors(weights_path, meta["weights_sha256"], json_path, _recreate_hint(meta, stem), map_location)
    try:
        model = build_model(meta["model_config"])
    except ValueError as e:
        raise CheckpointError(f"{json_path}: cannot build the model from its model_config: {e}") from e
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(
            f"weights in {weights_path.name} do not fit the model described by model_config in {json_path.name} "
            f"(config/model mismatch: was the JSON edited or paired with other weights?): {e}"
        ) from e
    model.to(map_location).eval()
    return model, meta


# ---------------------------------------------------------------------------------------------
# training state (resume a run exactly)
# ---------------------------------------------------------------------------------------------
def training_state_paths(path_stem, step: int) -> tuple[Path, Path]:
    """``(NAME.stepS.safetensors, NAME.json)``: where the state after ``step`` steps is written."""
    stem = Path(path_stem)
    if stem.suffix == ".json":
        stem = stem.with_suffix("")
    return stem.with_name(f"{stem.name}.step{int(step)}.safetensors"), stem.with_name(stem.name + ".json")


def save_training_state(path_stem, state, extra: dict | None = None) -> tuple[Path, Path]:
    """Write a ``training.TrainingState`` as ``NAME.stepS.safetensors`` + ``NAME.json``; return both paths.

    The tensors file is written first under a name of its own, then the JSON (which names it and
    holds its sha256) replaces the old JSON, and only then are older ``NAME.step*.safetensors``
    removed: an interruption at any point leaves a loadable state (the new or the previous one).
    ``extra``: more JSON-serialisable metadata (e.g. the command and the sessions of a CLI run).
    """
    tensors_path, json_path = training_state_paths(path_stem, state.step)
    tensors_path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"model/{k}": v for k, v in state.model_state.items()}
    if state.ema_state is not None:
        tensors.update({f"ema/{k}": v for k, v in state.ema_state.items()})
    optimizer_values: dict[str, dict] = {}
    for index, per_param in state.optimizer_state["state"].items():
        for name, value in per_param.items():
            if isinstance(value, Tensor):
                tensors[f"optimizer/{index}/{name}"] = value
            else:
                optimizer_values.setdefault(str(index), {})[name] = value
    tensors["rng/generator"] = state.generator_state
    tensors["rng/torch"] = state.torch_rng_state
    tensors["loss_history"] = torch.tensor(state.loss_history, dtype=torch.float64)
    _write_tensors(tensors_path, tensors)
    meta = {
        "format": TRAINING_STATE_FORMAT,
        "kind": "training state",
        "step": int(state.step),
        "wall_time_s": float(state.wall_time_s),
        "settings": state.settings,
        "has_ema": state.ema_state is not None,
        "optimizer_param_groups": state.optimizer_state["param_groups"],
        "optimizer_values": optimizer_values,
        "torch_version": torch.__version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "tensors_file": tensors_path.name,
        "tensors_sha256": file_sha256(tensors_path),
        "tensors_bytes": tensors_path.stat().st_size,
    }
    for k, v in (extra or {}).items():
        if k in meta:
            raise ValueError(f"extra key {k!r} would overwrite a standard training-state field; rename it")
        meta[k] = v
    _write_json(json_path, json.loads(json.dumps(meta)))
    for old in tensors_path.parent.glob(f"{json_path.stem}.step*.safetensors"):
        if old != tensors_path:
            old.unlink(missing_ok=True)
    return tensors_path, json_path


def load_training_state(path_stem):
    """Read what :func:`save_training_state` wrote → ``(training.TrainingState, metadata)``.

    Checks, in order: the JSON parses and is a training state → the tensors file's sha256 matches →
    it parses as safetensors (no pickle). Pass the state to ``train_eps_model(..., resume=state)``.
    """
    from .training import TrainingState

    _, json_path = training_state_paths(path_stem, 0)
    hint = ("it is written by train_eps_model(on_state=...) or python -m diffusion_lab.train while training; "
            "start the run again without resuming")
    meta = _read_json(json_path, {"kind", "step", "settings", "tensors_file", "tensors_sha256"}, "training state",
                      lambda m: hint)
    if meta["kind"] != "training state" or meta.get("format") != TRAINING_STATE_FORMAT:
        raise CheckpointError(f"{json_path} is not a training state of format {TRAINING_STATE_FORMAT} "
                              f"(kind {meta['kind']!r}, format {meta.get('format')!r}); {hint}")
    tensors = _read_tensors(json_path.with_name(meta["tensors_file"]), meta["tensors_sha256"], json_path, hint)

    def with_prefix(prefix: str) -> dict[str, Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    optimizer_state: dict[int, dict] = {}
    for key, value in with_prefix("optimizer/").items():
        index, name = key.split("/", 1)
        optimizer_state.setdefault(int(index), {})[name] = value
    for index, values in meta.get("optimizer_values", {}).items():
        optimizer_state.setdefault(int(index), {}).update(values)
    state = TrainingState(
        step=int(meta["step"]),
        model_state=with_prefix("model/"),
        ema_state=with_prefix("ema/") if meta.get("has_ema") else None,
        optimizer_state={"state": dict(sorted(optimizer_state.items())),
                         "param_groups": meta.get("optimizer_param_groups", [])},
        generator_state=tensors["rng/generator"],
        torch_rng_state=tensors["rng/torch"],
        loss_history=tensors["loss_history"].tolist(),
        wall_time_s=float(meta.get("wall_time_s", 0.0)),
        settings=meta["settings"],
    )
    if len(state.loss_history) != state.step:
        raise CheckpointError(f"{json_path}: step {state.step} but {len(state.loss_history)} recorded losses; "
                              f"the state is damaged; {hint}")
    return state, meta


def load_schedule(metadata: dict):
    """The ``NoiseSchedule`` a checkpoint was trained with (from ``metadata['schedule_config']``)."""
    from .schedules import NoiseSchedule

    cfg = metadata.get("schedule_config")
    if cfg is None:
        raise ValueError("this checkpoint has no schedule_config (it is not an ε-model)")
    return NoiseSchedule.from_config(cfg)
