"""Argument checks shared by every module.

Each check raises ``ValueError`` (or ``TypeError``) with a message that says what was given, what is
allowed and how to fix it, so a student who passes a bad value learns the convention on the spot.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .i18n import tr


def as_tensor(x, name: str = "x", dtype: torch.dtype | None = None) -> torch.Tensor:
    """Return ``x`` as a torch tensor (numpy arrays, lists and floats are converted).

    Integer input becomes float64 unless ``dtype`` is given; tensors keep their dtype and device.
    """
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(dtype)
    if isinstance(x, (np.ndarray, list, tuple, float, int, np.floating, np.integer)):
        t = torch.as_tensor(np.asarray(x))
        if dtype is not None:
            return t.to(dtype)
        return t if t.is_floating_point() else t.to(torch.float64)
    raise TypeError(
        f"{name} must be a torch.Tensor or a numpy array, got {type(x).__name__}. "
        f"Convert it with torch.as_tensor({name})."
    )


def check_finite(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """Raise if ``x`` holds NaN or ±inf (a diverged model or a division by zero upstream)."""
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(
            f"{name} contains {bad} non-finite value(s) (NaN or inf). Check where it was computed: "
            f"a diverged model, a division by √(1−ᾱ) at ᾱ = 1, or an uninitialised tensor."
        )
    return x


def check_num_steps(T) -> int:
    """T must be a positive integer number of diffusion steps."""
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)):
        raise TypeError(f"T must be an integer number of steps, got {T!r} ({type(T).__name__}).")
    if T < 1:
        raise ValueError(f"T must be at least 1 (the number of noising steps), got T = {T}.")
    return int(T)


def check_timestep(t, T: int, name: str = "t") -> torch.Tensor | int:
    """Validate a time index: a python int or an integer tensor with every value in [0, T).

    ``t`` is a code index k = 0..T−1 (the maths' t = 1..T, k = t − 1). Returns ``t`` unchanged (ints stay ints).
    """
    if isinstance(t, bool):
        raise TypeError(f"{name} must be an int or an integer tensor, got a bool.")
    if isinstance(t, (int, np.integer)):
        if not 0 <= int(t) < T:
            raise ValueError(tr(
                "{name} = {value} is outside [0, {T}): {name} is a code index, and code indices run "
                "0..{last} (the maths' t = 1..{T}); for the maths' t pass t − 1 (the last step, t = {T}, "
                "is code index {last}).", name=name, value=int(t), T=T, last=T - 1))
        return int(t)
    if isinstance(t, np.ndarray):
        t = torch.as_tensor(t)
    if isinstance(t, torch.Tensor):
        if t.is_floating_point() or t.is_complex():
            raise TypeError(
                f"{name} must hold integer time steps, got dtype {t.dtype}. "
                f"Use torch.full((batch,), step, dtype=torch.long) or {name}.long()."
            )
        if t.dim() > 1:
            raise ValueError(f"{name} must be a scalar or have shape (batch,), got shape {tuple(t.shape)}.")
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= T):
            raise ValueError(tr(
                "{name} has values in [{lo}, {hi}], outside [0, {T}): {name} holds code indices, which run "
                "0..{last} (the maths' t = 1..{T}); for the maths' t pass t − 1.",
                name=name, lo=int(t.min()), hi=int(t.max()), T=T, last=T - 1))
        return t
    raise TypeError(f"{name} must be an int or a LongTensor of shape (batch,), got {type(t).__name__}.")


def check_batch_t(t, x: torch.Tensor, name: str = "t") -> None:
    """A tensor ``t`` must give one step per sample: shape () or (batch,) with batch = x.shape[0]."""
    if isinstance(t, torch.Tensor) and t.dim() == 1 and x.dim() >= 1 and t.shape[0] != x.shape[0]:
        raise ValueError(
            f"{name} has {t.shape[0]} time steps but x has batch size {x.shape[0]}: pass one t per "
            f"sample (shape ({x.shape[0]},)) or a single int for the whole batch."
        )


def check_same_shape(a: torch.Tensor, b: torch.Tensor, names: Sequence[str] = ("a", "b")) -> None:
    """Raise if two tensors that must match element for element have different shapes."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{names[0]} has shape {tuple(a.shape)} but {names[1]} has shape {tuple(b.shape)}; "
            f"they must match (both (batch, ...))."
        )


def check_betas(betas: torch.Tensor) -> torch.Tensor:
    """Every β_t must lie strictly inside (0, 1)."""
    if betas.dim() != 1 or betas.numel() < 1:
        raise ValueError(f"betas must be a 1D tensor of length T ≥ 1, got shape {tuple(betas.shape)}.")
    check_finite(betas, "betas")
    lo, hi = float(betas.min()), float(betas.max())
    if lo <= 0.0 or hi >= 1.0:
        raise ValueError(
            f"every β_t must lie in (0, 1); got values in [{lo:g}, {hi:g}]. β is a per-step noise "
            f"variance: typical ranges are 1e-4..0.02 (linear) with β capped below 1 (cosine caps at 0.999)."
        )
    return betas


def unknown_name(kind: str, name, known: Sequence[str]) -> ValueError:
    """The error for a name not in a registry, listing the known names."""
    close = [k for k in known if isinstance(name, str) and (name.lower() in k or k in name.lower())]
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"unknown {kind} {name!r}. Known {kind}s: {', '.join(map(repr, known))}.{hint}")
