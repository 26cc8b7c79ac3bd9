"""Checkpoints as ``NAME.safetensors`` (weights) + ``NAME.json`` (everything needed to rebuild).

No pickle anywhere: weights are read with ``safetensors`` (a flat tensor format that cannot run
code), and only after the file's sha256 matches the one recorded in the JSON. The JSON holds:

``format`` (this module's version), ``model_config`` (for ``models.build_model``),
``schedule_config`` ``{name, T, kwargs}`` (for ``NoiseSchedule.from_config``; null for
classifiers), ``dataset``, ``split``, ``steps``, ``command`` (how it was trained), ``wall_time_s``,
``torch_version``, ``created``, ``weights_file``, ``weights_sha256``, ``weights_bytes`` and any
``extra`` keys (final loss, accuracy, ...).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path

import torch
from torch import nn

from .models import build_model

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "load_schedule",
    "checkpoint_paths",
    "CheckpointError",
    "ChecksumMismatchError",
    "FORMAT_VERSION",
]

FORMAT_VERSION = 1


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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def save_checkpoint(path_stem, model: nn.Module, *, config: dict | None = None, schedule_config=None,
                    dataset: str, split: str, steps: int, command: str | None = None,
                    wall_time_s: float | None = None, extra: dict | None = None) -> tuple[Path, Path]:
    """Write ``NAME.safetensors`` and ``NAME.json``; return both paths.

    Args:
        path_stem: ``data/NAME`` (folders are created).
        model: the network; its ``state_dict`` is saved (moved to CPU, made contiguous).
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
    if config is None:
        config = model.config
    config = json.loads(json.dumps(config))  # must be JSON-serialisable; also a deep copy
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    tmp = weights_path.with_name(weights_path.name + ".tmp")
    save_file(state, str(tmp), metadata={"format": "pt"})
    os.replace(tmp, weights_path)
    _umask = os.umask(0)
    os.umask(_umask)
    os.chmod(weights_path, 0o666 & ~_umask)  # safetensors writes 0600; make it readable like the JSON

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
        "weights_sha256": _sha256(weights_path),
        "weights_bytes": weights_path.stat().st_size,
    }
    for k, v in (extra or {}).items():
        if k in meta:
            raise ValueError(f"extra key {k!r} would overwrite a standard checkpoint field; rename it")
        meta[k] = v
    tmp = json_path.with_name(json_path.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, json_path)
    return weights_path, json_path


def _recreate_hint(meta: dict | None, stem: Path) -> str:
    cmd = (meta or {}).get("command")
    if cmd:
        return f"run `{cmd}` to recreate it"
    return (f"run python -m diffusion_lab.train --model MODEL --steps N --out {stem} to recreate it "
            f"(see data/README.md for the exact command of each shipped checkpoint)")


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
    if not json_path.is_file():
        raise FileNotFoundError(f"checkpoint metadata {json_path} not found; {_recreate_hint(None, stem)}")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(
            f"{json_path} is not readable JSON ({e}); the file is truncated or corrupt: "
            f"re-download it or {_recreate_hint(None, stem)}"
        ) from e
    if not isinstance(meta, dict) or not {"model_config", "weights_sha256"} <= meta.keys():
        raise CheckpointError(f"{json_path} lacks 'model_config'/'weights_sha256'; it is not a diffusion_lab checkpoint "
                              f"(or was damaged): {_recreate_hint(meta if isinstance(meta, dict) else None, stem)}")
    if not weights_path.is_file():
        raise FileNotFoundError(f"checkpoint weights {weights_path} not found; {_recreate_hint(meta, stem)}")

    digest = _sha256(weights_path)
    if digest != meta["weights_sha256"]:
        raise ChecksumMismatchError(
            f"{weights_path}: sha256 {digest} does not match {meta['weights_sha256']} recorded in {json_path.name}; "
            f"file corrupt or modified: re-download/re-train ({_recreate_hint(meta, stem)})"
        )

    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights_path), device=str(map_location))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{weights_path} is not a valid safetensors file ({e}); {_recreate_hint(meta, stem)}") from e

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


def load_schedule(metadata: dict):
    """The ``NoiseSchedule`` a checkpoint was trained with (from ``metadata['schedule_config']``)."""
    from .schedules import NoiseSchedule

    cfg = metadata.get("schedule_config")
    if cfg is None:
        raise ValueError("this checkpoint has no schedule_config (it is not an ε-model)")
    return NoiseSchedule.from_config(cfg)
