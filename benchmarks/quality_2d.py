"""Sample quality of the shipped 2D ε-model against the exact ε* of its mixture.

    python benchmarks/quality_2d.py [--checkpoint data/mlp2d_ring8] [--n 2000] [--seed 0]

Prints, for the trained TimeMLP and for the exact ε* (the best any network could do), the L_simple
loss, MMD² to fresh data samples and the mean −log q(x) of DDPM (1000 steps) and DDIM (50 steps)
samples. Reference rows: data vs data (MMD² noise floor, NLL = entropy of q).
"""
from __future__ import annotations

import argparse
import time

import torch

from diffusion_lab.checkpoints import load_checkpoint, load_schedule
from diffusion_lab.distributions import make_distribution
from diffusion_lab.metrics import mixture_nll, mmd_rbf
from diffusion_lab.sampling import ddim_sample, ddpm_sample
from diffusion_lab.training import loss_by_t


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", default="data/mlp2d_ring8")
    p.add_argument("--distribution", default="ring")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    model, meta = load_checkpoint(args.checkpoint)
    schedule = load_schedule(meta)
    q = make_distribution(args.distribution)
    bw = [0.1, 0.3, 1.0, 3.0]  # fixed bandwidths so every row is on the same scale
    ref = q.sample(args.n, generator=torch.Generator().manual_seed(args.seed + 1))
    print(f"{args.checkpoint}: {meta['model_config']['type']}, {meta['steps']} steps, "
          f"schedule {meta['schedule_config']}")
    print(f"MMD² bandwidths {bw}; n = {args.n}")
    print(f"{'eps model':<10} {'sampler':<14} {'MMD²':>9} {'NLL':>7} {'s':>6}")
    data2 = q.sample(args.n, generator=torch.Generator().manual_seed(args.seed + 2))
    print(f"{'data':<10} {'(2nd draw)':<14} {mmd_rbf(data2, ref, bw):9.5f} {mixture_nll(data2, q):7.3f}")
    for label, eps in (("trained", model), ("exact ε*", q.eps_model(schedule))):
        lb = loss_by_t(eps, schedule, q, num_buckets=10, samples_per_bucket=500,
                       generator=torch.Generator().manual_seed(args.seed + 3))
        print(f"{label:<10} L_simple per t-bucket: " + " ".join(f"{v:.3f}" for v in lb.loss.tolist())
              + f"  (mean {float(lb.loss.mean()):.4f})")
        for name, fn, kw in (("DDPM 1000", ddpm_sample, {}), ("DDIM 50", ddim_sample, {"num_steps": 50})):
            t0 = time.perf_counter()
            x = fn(eps, schedule, (args.n, 2), generator=torch.Generator().manual_seed(args.seed), **kw)
            dt = time.perf_counter() - t0
            print(f"{label:<10} {name:<14} {mmd_rbf(x, ref, bw):9.5f} {mixture_nll(x, q):7.3f} {dt:6.1f}")


if __name__ == "__main__":
    main()
