"""Shared test set-up for tests/ (the notebooks under notebooks/ run in their own kernels via nbval).

- matplotlib draws headless (Agg) whatever the caller's MPLBACKEND, so tests never open windows.
- torch uses at most 2 threads (the course machines and CI have 2 cores).
- fixtures: `repo_root`, `generator` (a seeded torch.Generator via diffusion_lab.seed_everything),
  `one_thread` (torch on one thread for a whole module; modules of small-tensor tests opt in).
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ["MPLBACKEND"] = "Agg"  # before anything imports matplotlib.pyplot

import matplotlib  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg", force=True)

import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def generator():
    """A torch.Generator seeded with 0 (random, numpy and torch are seeded too)."""
    import diffusion_lab

    return diffusion_lab.seed_everything(0)


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a whole test module: small tensors run fastest that way, and tests do
    not fight other processes for the cores. A module opts in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")`` (set up before its module-scoped fixtures)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test opened, so figures do not pile up across tests."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
