"""Sample quality against the number of sampling steps: DDPM-1000 and DDIM at 10/20/50/100/250 steps.

    python benchmarks/quality_vs_steps.py                      # 2D (exact ε* and the shipped MLP) + digits
    python benchmarks/quality_vs_steps.py --skip-digits --n 2000 --seeds 3
    python benchmarks/quality_vs_steps.py --digits-n 300 --digits-ddpm

2D (ring of 8 Gaussians): for the exact ε* (the best any network can do) and for the shipped TimeMLP
(data/mlp2d_ring8), NLL (mean −log q of the samples; fresh data scores the entropy of q) and MMD²
(V-statistic, fixed bandwidths ``metrics.RING_BANDWIDTHS``) against fresh data of the same size,
each averaged over ``--seeds`` runs (every run: a new x_T, a new reference set); "± " is the standard
error over seeds. All samplers of one run start from the same x_T. Reference row: fresh data vs fresh
data (NLL = entropy, MMD² = the floor at this n).

Digits (if data/unet_digits and data/classifier_digits exist): "digit FID" (Fréchet distance in the
classifier's feature space, ``metrics.digit_fid``) of ``--digits-n`` DDIM samples to as many held-out real
digits (``metrics.heldout_digits``: at most half of the 359, so n ≤ 179), with real-vs-real as the floor.
DDPM-1000 on digits only with ``--digits-ddpm`` (≈ 1000 U-Net calls on
the whole batch: minutes on a CPU).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from anywhere without installing

import torch  # noqa: E402

import diffusion_lab as dl  # noqa: E402
from diffusion_lab.checkpoints import load_checkpoint, load_schedule  # noqa: E402
from diffusion_lab.checkpoints import shipped  # noqa: E402

DDIM_STEPS = (10, 20, 50, 100, 250)


def _mean_se(values):
    m = sum(values) / len(values)
    if len(values) < 2:
        return m, float("nan")
    var = sum((v - m) ** 2 for v in values) / (len(values) - 1)
    return m, math.sqrt(var / len(values))


def quality_table_2d(eps_models: dict, schedule, n: int, seeds: int, steps=DDIM_STEPS) -> dict:
    """{(model, sampler): ([NLL per seed], [MMD² per seed], seconds)} plus ("data", "fresh")."""
    ring = dl.make_distribution("ring")
    rows: dict = {}
    for seed in range(seeds):
        x_T = torch.randn((n, 2), generator=dl.make_generator(1000 + seed))
        ref = ring.sample(n, generator=dl.make_generator(2000 + seed))
        fresh = ring.sample(n, generator=dl.make_generator(3000 + seed))
        q = dl.metrics.sample_quality(fresh, ring, ref)
        rows.setdefault(("data", "fresh data"), ([], [], 0.0))
        rows[("data", "fresh data")][0].append(q.nll)
        rows[("data", "fresh data")][1].append(q.mmd2)
        for name, eps in eps_models.items():
            def ddpm(eps=eps, x_T=x_T, seed=seed):
                return dl.ddpm_sample(eps, schedule, x_T.clone(), generator=dl.make_generator(seed))

            def ddim(k, eps=eps, x_T=x_T):
                return dl.ddim_sample(eps, schedule, x_T.clone(), num_steps=k)

            runs = [("DDPM 1000", ddpm)] + [(f"DDIM {k}", lambda k=k: ddim(k)) for k in steps]
            for label, run in runs:
                t0 = time.perf_counter()
                x = run()
                dt = time.perf_counter() - t0
                q = dl.metrics.sample_quality(x, ring, ref)
                nll, mmd, sec = rows.setdefault((name, label), ([], [], 0.0))
                nll.append(q.nll)
                mmd.append(q.mmd2)
                rows[(name, label)] = (nll, mmd, sec + dt)
    return rows


def print_2d(rows: dict, n: int, seeds: int) -> None:
    print(f"\n2D ring of 8 Gaussians: n = {n} samples per run, {seeds} run(s); mean ± standard error over runs")
    print(f"{'ε-model':<14} {'sampler':<11} {'calls':>5} {'NLL':>15} {'MMD² (V)':>22} {'s/run':>7}  vs DDPM-1000")
    ddpm = {name: _mean_se(r[0])[0] for (name, label), r in rows.items() if label == "DDPM 1000"}
    for (name, label), (nll, mmd, sec) in rows.items():
        calls = "" if name == "data" else (1000 if label == "DDPM 1000" else int(label.split()[1]))
        m, s = _mean_se(nll)
        mm, ms = _mean_se(mmd)
        rel = "" if name not in ddpm or label == "DDPM 1000" else f"NLL {100 * (m - ddpm[name]) / ddpm[name]:+.1f} %"
        per = "" if name == "data" else f"{sec / len(nll):7.2f}"
        print(f"{name:<14} {label:<11} {calls!s:>5} {m:8.3f} ± {s:5.3f} {mm:11.2e} ± {ms:8.1e} {per:>7}  {rel}")


def digits_table(n: int, steps, ddpm: bool) -> None:
    from diffusion_lab.metrics import digit_fid, heldout_digits

    stems = [shipped("unet_digits"), shipped("classifier_digits")]
    if not all(Path(str(s) + ".json").exists() for s in stems):
        print("\ndigits: data/unet_digits or data/classifier_digits missing — skipped")
        return
    unet, meta = load_checkpoint(stems[0])
    clf, _ = load_checkpoint(stems[1])
    schedule = load_schedule(meta)
    real, _ = heldout_digits("digits8x8")     # the protocol's held-out digits: no model or judge trained on them
    perm = torch.randperm(real.shape[0], generator=dl.make_generator(0))
    n = min(n, real.shape[0] // 2)
    ref, other = real[perm[:n]], real[perm[n:2 * n]]
    x_T = torch.randn((n, 1, 8, 8), generator=dl.make_generator(1))
    print(f"\ndigits 8×8, {unet.__class__.__name__} ({meta['steps']} training steps): digit FID of n = {n} samples "
          f"to n held-out real digits (lower is better; for numbers to quote, benchmarks/heldout_eval.py)")
    print(f"{'sampler':<12} {'calls':>5} {'digit FID':>10} {'seconds':>8}")
    print(f"{'real digits':<12} {'':>5} {digit_fid(other, ref, clf):10.3f}")
    runs = [(f"DDIM {k}", k, lambda k=k: dl.ddim_sample(unet, schedule, x_T.clone(), num_steps=k, clip_x0=1.0))
            for k in steps]
    if ddpm:
        runs.append(("DDPM 1000", 1000, lambda: dl.ddpm_sample(unet, schedule, x_T.clone(), clip_x0=1.0,
                                                                 generator=dl.make_generator(2))))
    for label, calls, run in runs:
        t0 = time.perf_counter()
        x = run().clamp(-1, 1)
        dt = time.perf_counter() - t0
        print(f"{label:<12} {calls:>5} {digit_fid(x, ref, clf):10.3f} {dt:8.1f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="2D samples per run (default 1000)")
    p.add_argument("--seeds", type=int, default=3, help="2D runs to average (default 3)")
    p.add_argument("--skip-mlp", action="store_true", help="2D: only the exact ε*")
    p.add_argument("--skip-digits", action="store_true")
    p.add_argument("--digits-n", type=int, default=400, help="digit samples for the FID (default 400)")
    p.add_argument("--digits-ddpm", action="store_true", help="also DDPM-1000 on digits (slow on a CPU)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fastest for these small models)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    ring = dl.make_distribution("ring")
    schedule = dl.make_schedule("linear", 1000)
    models = {"exact ε*": ring.eps_model(schedule)}
    if not args.skip_mlp:
        if Path(str(shipped("mlp2d_ring8")) + ".json").exists():
            mlp, meta = load_checkpoint(shipped("mlp2d_ring8"))
            if not torch.allclose(load_schedule(meta).betas, schedule.betas):
                raise SystemExit("the shipped MLP was trained with another schedule")
            models["shipped MLP"] = mlp
        else:
            print("data/mlp2d_ring8 missing: 2D rows for the exact ε* only")
    t0 = time.perf_counter()
    rows = quality_table_2d(models, schedule, args.n, args.seeds)
    print_2d(rows, args.n, args.seeds)
    if not args.skip_digits:
        digits_table(args.digits_n, DDIM_STEPS, args.digits_ddpm)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
