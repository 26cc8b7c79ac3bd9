"""Sample quality against network calls (NFE) for the σ-space samplers of chapter 7, with DDPM-1000 as reference.

    .venv/bin/python benchmarks/samplers_vs_nfe.py                       # everything (minutes on 2 CPU cores)
    .venv/bin/python benchmarks/samplers_vs_nfe.py --skip-digits --seeds 1
    .venv/bin/python benchmarks/samplers_vs_nfe.py --out /tmp/nfe.json  # write elsewhere

What it measures, on the linear schedule (T = 1000) with Karras (ρ = 7) spacing by default:

* **2D ring of 8 Gaussians**, for the exact ε* (the best any network can do) and for the shipped TimeMLP
  (``data/mlp2d_ring8``): NLL (mean −log q of the samples, fresh data scores the entropy) and MMD²
  (V-statistic, ``metrics.RING_BANDWIDTHS``) against fresh data of the same size, for Euler, Heun,
  DPM-Solver++(2M) and Euler ancestral at each budget of network calls from 4 to 1000 (a budget gets the
  most steps that fit it; the calls actually made are counted and recorded), and for DDPM-1000. Every
  sampler of one seed starts from the same x_T. Per seed: a new x_T and a new reference set.
* **8×8 digits** (``data/unet_digits``, clip_x0 = 1): digit Fréchet distance (``metrics.digit_fid``, features
  of ``data/classifier_digits``) on the course's evaluation protocol (``metrics.PROTOCOLS["digits8x8"]``): the
  references are a random half (n = 179) of the 359 held-out test digits (draw 0 of the protocol), the other
  half gives the real-against-real floor; n samples from one x_T per sampler at ``--digits-budgets`` and for
  DDPM-1000. One draw only (the samplers share it, so they compare fairly); ``real_sd`` says how much a
  real-against-real estimate moves between the protocol's draws. The checkpoints' sha256 are recorded
  (``tests/test_views_fast_samplers.py`` ties the stored numbers to the shipped files).
  ``--digits-only`` recomputes just this part and keeps the stored 2D results.

For each sampler it reports the fewest calls from which on every measured budget stays within 10 % of
DDPM-1000's number (mean NLL over seeds for 2D, the digit Fréchet distance for digits).

Writes everything as JSON (default ``benchmarks/results/samplers_vs_nfe.json``, which chapter 7 plots:
``diffusion_lab.views.fast_samplers.load_nfe_results``), and prints the tables.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))   # run from anywhere without installing

import torch  # noqa: E402

import diffusion_lab as dl  # noqa: E402
from diffusion_lab import sampling as S  # noqa: E402
from diffusion_lab.checkpoints import load_checkpoint, load_schedule, shipped  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "samplers_vs_nfe.json"
BUDGETS = (4, 6, 8, 10, 12, 15, 20, 30, 50, 100, 200, 500, 1000)
DIGIT_BUDGETS = (4, 6, 10, 15, 20, 30, 50, 100)
REL_TOL = 0.10


def _mean(values):
    return sum(values) / len(values)


def _se(values):
    if len(values) < 2:
        return float("nan")
    m = _mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1) / len(values))


def ring_results(eps_model, schedule, n: int, seeds: int, budgets, spacing: str) -> dict:
    """{"ddpm1000": {nll, mmd2, seconds}, "data": {nll, mmd2}, "samplers": {name: {calls, nll, mmd2}}};
    every number a list over seeds (samplers: one list over seeds per budget)."""
    ring = dl.make_distribution("ring")
    out = {"ddpm1000": {"nll": [], "mmd2": [], "seconds": []}, "data": {"nll": [], "mmd2": []},
           "samplers": {name: {"calls": None, "nll": [], "mmd2": [], "seconds": []} for name in S.SIGMA_SAMPLERS}}
    for seed in range(seeds):
        x_T = torch.randn((n, 2), generator=dl.make_generator(1000 + seed))
        reference = ring.sample(n, generator=dl.make_generator(2000 + seed))
        fresh = dl.metrics.sample_quality(ring.sample(n, generator=dl.make_generator(3000 + seed)), ring, reference)
        out["data"]["nll"].append(fresh.nll)
        out["data"]["mmd2"].append(fresh.mmd2)
        t0 = time.perf_counter()
        x = dl.ddpm_sample(eps_model, schedule, x_T.clone(), generator=dl.make_generator(seed))
        out["ddpm1000"]["seconds"].append(time.perf_counter() - t0)
        q = dl.metrics.sample_quality(x, ring, reference)
        out["ddpm1000"]["nll"].append(q.nll)
        out["ddpm1000"]["mmd2"].append(q.mmd2)
        for name, row in out["samplers"].items():
            t0 = time.perf_counter()
            curve = dl.metrics.quality_vs_calls(eps_model, schedule, ring, x_T, reference, samplers=(name,),
                                                budgets=budgets, spacing=spacing, seed=seed)[name]
            row["seconds"].append(time.perf_counter() - t0)
            calls = sorted(curve)
            if row["calls"] is None:
                row["calls"] = calls
            elif row["calls"] != calls:      # pragma: no cover - the grids depend on the budgets only
                raise RuntimeError(f"{name}: calls differ between seeds: {row['calls']} vs {calls}")
            row["nll"].append([curve[k].nll for k in calls])
            row["mmd2"].append([curve[k].mmd2 for k in calls])
        print(f"  seed {seed} done", flush=True)
    for row in out["samplers"].values():
        mean_nll = [_mean([per_seed[i] for per_seed in row["nll"]]) for i in range(len(row["calls"]))]
        row["fewest_calls_within_10pct"] = dl.metrics.fewest_calls_within(dict(zip(row["calls"], mean_nll)),
                                                                  _mean(out["ddpm1000"]["nll"]), REL_TOL)
    return out


def digits_results(budgets, spacing: str) -> dict | None:
    """The digits part, on the evaluation protocol's held-out references (its draw 0); see the module docstring."""
    stems = [shipped("unet_digits"), shipped("classifier_digits")]
    if not all(Path(str(s) + ".json").exists() for s in stems):
        print("digits: data/unet_digits or data/classifier_digits missing — skipped")
        return None
    unet, meta = load_checkpoint(stems[0])
    classifier, judge_meta = load_checkpoint(stems[1])
    schedule = load_schedule(meta)
    protocol = dl.metrics.protocol_for(meta["dataset"])
    held, _ = dl.metrics.heldout_digits(protocol)
    n = protocol.n
    draws = []
    for seed in protocol.seeds:                       # the protocol's draws: how much real-vs-real moves
        perm = torch.randperm(held.shape[0], generator=torch.Generator().manual_seed(int(seed)))
        draws.append((held[perm[:n]], held[perm[n:2 * n]]))
    reference, other = draws[0]
    real_all = [dl.metrics.digit_fid(b, a, classifier) for a, b in draws]
    x_T = torch.randn((n, 1, 8, 8), generator=dl.make_generator(1))
    out = {"n": n, "protocol": protocol.name, "references": protocol.heldout + ", draw 0",
           "unet_sha256": meta["weights_sha256"], "unet_split": meta.get("split"),
           "references_held_out": dl.metrics.references_held_out(meta),
           "classifier_sha256": judge_meta["weights_sha256"],
           "real": real_all[0], "real_mean": _mean(real_all),
           "real_sd": math.sqrt(sum((v - _mean(real_all)) ** 2 for v in real_all) / (len(real_all) - 1)),
           "samplers": {}}
    t0 = time.perf_counter()
    x = dl.ddpm_sample(unet, schedule, x_T.clone(), clip_x0=1.0, generator=dl.make_generator(2))
    out["ddpm1000"] = {"fid": dl.metrics.digit_fid(x.clamp(-1, 1), reference, classifier),
                       "seconds": time.perf_counter() - t0}
    print("  digits: DDPM-1000 done", flush=True)
    for name in S.SIGMA_SAMPLERS:
        t0 = time.perf_counter()
        runs = S.samples_vs_calls(unet, schedule, x_T, samplers=(name,), budgets=budgets, spacing=spacing,
                                  seed=3, clip_x0=1.0)[name]
        calls = sorted(runs)
        fids = [dl.metrics.digit_fid(runs[k].clamp(-1, 1), reference, classifier) for k in calls]
        out["samplers"][name] = {"calls": calls, "fid": fids, "seconds": time.perf_counter() - t0,
                                 "fewest_calls_within_10pct": dl.metrics.fewest_calls_within(
                                     dict(zip(calls, fids)), out["ddpm1000"]["fid"], REL_TOL)}
        print(f"  digits: {name} done", flush=True)
    return out


def print_ring(label: str, res: dict) -> None:
    ddpm = _mean(res["ddpm1000"]["nll"])
    seeds = len(res["ddpm1000"]["nll"])
    print(f"\n2D ring, {label}: NLL (mean over {seeds} seed(s); ± standard error) by network calls; "
          f"DDPM-1000 {ddpm:.3f} ± {_se(res['ddpm1000']['nll']):.3f}, fresh data {_mean(res['data']['nll']):.3f}")
    for name, row in res["samplers"].items():
        cells = []
        for i, k in enumerate(row["calls"]):
            vals = [per_seed[i] for per_seed in row["nll"]]
            cells.append(f"{k}:{_mean(vals):.3f}")
        print(f"  {S.SAMPLER_LABELS[name]:<9} fewest calls within 10 %: {row['fewest_calls_within_10pct']!s:>5}   "
              + " ".join(cells))


def print_digits(res: dict) -> None:
    print(f"\ndigits 8×8: digit Fréchet distance of n = {res['n']} samples (real vs real {res['real']:.3f}, "
          f"DDPM-1000 {res['ddpm1000']['fid']:.3f})")
    for name, row in res["samplers"].items():
        cells = " ".join(f"{k}:{v:.3f}" for k, v in zip(row["calls"], row["fid"]))
        print(f"  {S.SAMPLER_LABELS[name]:<9} fewest calls within 10 %: {row['fewest_calls_within_10pct']!s:>5}   "
              f"{cells}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="2D samples per run (default 1000)")
    p.add_argument("--seeds", type=int, default=3, help="2D runs to average (default 3)")
    p.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS), help="network-call budgets (2D)")
    p.add_argument("--spacing", default="karras", choices=S.SIGMA_SPACINGS)
    p.add_argument("--skip-mlp", action="store_true", help="2D: only the exact ε*")
    p.add_argument("--skip-digits", action="store_true")
    p.add_argument("--digits-only", action="store_true",
                   help="recompute only the digits part and keep the 2D results stored in --out")
    p.add_argument("--digits-budgets", type=int, nargs="+", default=list(DIGIT_BUDGETS))
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fastest for these small models)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON file to write (default {DEFAULT_OUT})")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()

    schedule = dl.make_schedule("linear", 1000)
    ring = dl.make_distribution("ring")
    results = {
        "command": "python benchmarks/samplers_vs_nfe.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "schedule": "linear, T = 1000", "spacing": args.spacing, "rel_tol": REL_TOL,
        "quality_number": "NLL (2D), digit Fréchet distance (digits)",
        "torch": torch.__version__, "python": platform.python_version(), "threads": args.threads,
        "ring": {"n": args.n, "seeds": args.seeds, "models": {}},
    }
    if args.digits_only:
        stored = json.loads(args.out.read_text(encoding="utf-8"))
        results["ring"] = stored["ring"]
        results["ring_command"] = stored.get("ring_command", stored["command"])
    else:
        print(f"exact ε*: n = {args.n}, {args.seeds} seed(s), budgets {args.budgets}", flush=True)
        results["ring"]["models"]["exact"] = ring_results(ring.eps_model(schedule), schedule, args.n, args.seeds,
                                                          args.budgets, args.spacing)
        print_ring("exact ε*", results["ring"]["models"]["exact"])
    if not args.skip_mlp and not args.digits_only:
        if Path(str(shipped("mlp2d_ring8")) + ".json").exists():
            mlp, meta = load_checkpoint(shipped("mlp2d_ring8"))
            if not torch.allclose(load_schedule(meta).betas, schedule.betas):
                raise SystemExit("data/mlp2d_ring8 was trained with another schedule than linear, T = 1000")
            print(f"\nshipped MLP: n = {args.n}, {args.seeds} seed(s)", flush=True)
            results["ring"]["models"]["mlp"] = ring_results(mlp, schedule, args.n, args.seeds, args.budgets,
                                                            args.spacing)
            print_ring("shipped MLP", results["ring"]["models"]["mlp"])
        else:
            print("data/mlp2d_ring8 missing: 2D rows for the exact ε* only")
    if not args.skip_digits:
        print(f"\ndigits: budgets {args.digits_budgets}", flush=True)
        digits = digits_results(args.digits_budgets, args.spacing)
        if digits is not None:
            results["digits"] = digits
            print_digits(digits)
    results["wall_seconds"] = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out} ({results['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
