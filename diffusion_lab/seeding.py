"""One call seeds everything, so every figure in the course is reproducible."""
from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed python's ``random``, numpy's global RNG and torch; return a seeded ``torch.Generator``.

    Chapters call this first. Pass the returned generator as ``generator=`` to the sampling
    functions so a cell gives the same picture every time it is re-run from the seed.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}.")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return make_generator(seed)


def make_generator(seed: int = 0, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` seeded with ``seed`` (independent of the global RNG)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def numpy_rng(seed: int = 0) -> np.random.Generator:
    """A numpy ``Generator`` for code that works in numpy."""
    return np.random.default_rng(int(seed))
