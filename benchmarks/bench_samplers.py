"""Time the reverse samplers with the exact ε* of a 2D mixture (no network: this measures the
sampler loop and the exact-ε* evaluation, the cost a chapter pays when it samples with ε*).

    .venv/bin/python benchmarks/bench_samplers.py                  # ring, 2000 points
    .venv/bin/python benchmarks/bench_samplers.py --data grid --n 5000 --repeat 3

For DDPM-1000 (σ² = β̃_t) and DDIM-50/20/10 (η = 0) it prints the wall time per run, per step, and
two quality numbers, so speed can be weighed against fidelity:

* ``mean log q``: the average exact log-density of the samples under the data mixture, next to the
  same number for a fresh sample of the data (higher than the data's means too concentrated);
* ``spread``: E[|x − nearest mean|²]/(d σ²), 1.0 for correct samples; deterministic DDIM with few
  steps shrinks the modes (< 1).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from anywhere without installing

import numpy as np  # noqa: E402
import torch  # noqa: E402

import diffusion_lab as dl  # noqa: E402

CONFIGS = [("DDPM-1000", "ddpm", None), ("DDIM-50", "ddim", 50), ("DDIM-20", "ddim", 20), ("DDIM-10", "ddim", 10)]


def spread(x: torch.Tensor, dist: dl.GaussianMixture) -> float:
    """Mean squared distance to the nearest component mean, over d·σ² (1.0 when the modes are right)."""
    x = x.double()
    d2 = ((x[:, None, :] - dist.means[None]) ** 2).sum(-1).min(1).values
    var = float(dist.covs[0].diagonal().mean())          # isotropic, equal components (ring / grid)
    return float(d2.mean()) / (dist.dim * var)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="ring", choices=["ring", "grid"], help="2D mixture (default ring)")
    parser.add_argument("--n", type=int, default=2000, help="points per run (default 2000)")
    parser.add_argument("--T", type=int, default=1000, help="diffusion steps of the linear schedule")
    parser.add_argument("--repeat", type=int, default=1, help="runs per sampler; the median is shown")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: ε* is many small ops, one thread is fastest)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    sched = dl.make_schedule("linear", args.T)
    dist = dl.make_distribution(args.data)
    model = dist.eps_model(sched)
    fresh = dist.sample(args.n, generator=torch.Generator().manual_seed(1))
    print(f"bench_samplers: {args.data} ({dist.K} components), n = {args.n}, linear T = {args.T}, torch "
          f"threads {torch.get_num_threads()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"data itself: mean log q = {float(dist.log_prob(fresh).mean()):.3f}, spread = {spread(fresh, dist):.3f}")
    header = f"{'sampler':<10} {'steps':>5} {'s/run':>8} {'ms/step':>8} {'mean log q':>11} {'spread':>7}"
    print(header)
    print("-" * len(header))
    for label, kind, k in CONFIGS:
        times = []
        for r in range(args.repeat):
            gen = torch.Generator().manual_seed(100 + r)
            x_T = torch.randn((args.n, 2), generator=gen)
            t0 = time.perf_counter()
            if kind == "ddpm":
                x = dl.ddpm_sample(model, sched, x_T, generator=gen)
                steps = args.T
            else:
                x = dl.ddim_sample(model, sched, x_T, num_steps=k, eta=0.0, generator=gen)
                steps = k
            times.append(time.perf_counter() - t0)
        sec = float(np.median(times))
        print(f"{label:<10} {steps:>5} {sec:>8.2f} {sec / steps * 1e3:>8.2f} "
              f"{float(dist.log_prob(x).mean()):>11.3f} {spread(x, dist):>7.3f}")
    # The sampler's own cost per step (coefficients, noise, bookkeeping), without ε*: a model that
    # returns zeros costs almost nothing, so this is the loop overhead the checks and arithmetic add.
    def zero_eps(x, t):
        return torch.zeros_like(x)
    times = []
    for r in range(max(args.repeat, 3)):
        gen = torch.Generator().manual_seed(100 + r)
        x_T = torch.randn((args.n, 2), generator=gen)
        t0 = time.perf_counter()
        dl.ddpm_sample(zero_eps, sched, x_T, generator=gen)
        times.append(time.perf_counter() - t0)
    print(f"sampler overhead alone (DDPM-{args.T} with a zero ε-model): "
          f"{float(np.median(times)) / args.T * 1e6:.0f} µs per step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
