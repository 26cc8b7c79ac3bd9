"""Time one training step of ``train_eps_model`` on the 2D MLP (the shipped ``mlp2d_ring8`` setup).

    .venv/bin/python benchmarks/bench_training.py                  # 5 runs of 400 steps, batch 256
    .venv/bin/python benchmarks/bench_training.py --steps 1000 --repeat 3 --batch-size 512

Model ``TimeMLP()`` (hidden 128, depth 3, 174,082 parameters), linear schedule T = 1000, fresh
samples of the ``ring`` mixture every step, Adam with EMA 0.995, gradient clipping 1.0 and 100 warm-up
steps (the CLI's ``--model mlp2d`` settings). Each run trains a fresh model; the first
``--warmup-steps`` steps of each run are not timed (allocator and thread-pool warm-up). It prints,
for every run and as median and minimum over the runs, ms per step of wall time and of this
process's CPU time. On a shared CPU the wall time grows with the other processes' load; the CPU
time (one torch thread) is the better number to compare versions, and the load average is printed
next to each run.

It also times, in the same process and interleaved (so the machine's load affects both alike),
the one part of the step the checks-at-the-boundary change touched: forming x_t with the public
``q_sample`` (which validates t and checks x0 for NaN/inf on every call) against the loop's
unchecked lookup in √ᾱ_t, √(1−ᾱ_t) tables made once.

Compare two versions of the package by pointing ``PYTHONPATH`` at an exported copy, e.g.
``git archive COMMIT diffusion_lab | tar -x -C /tmp/before`` and
``PYTHONPATH=/tmp/before .venv/bin/python benchmarks/bench_training.py`` (the script only uses
keyword arguments, so it runs against either argument order of ``train_eps_model``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if "PYTHONPATH" not in os.environ:   # run from anywhere without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from diffusion_lab.distributions import make_distribution  # noqa: E402
from diffusion_lab.models import TimeMLP  # noqa: E402
from diffusion_lab.schedules import make_schedule  # noqa: E402
from diffusion_lab.training import train_eps_model  # noqa: E402


def time_run(steps: int, warmup_steps: int, batch_size: int, seed: int) -> tuple[float, float]:
    """(wall, CPU) ms per step over the timed steps of one fresh training run."""
    schedule = make_schedule("linear", 1000)
    ring = make_distribution("ring")
    torch.manual_seed(seed)
    model = TimeMLP()
    marks: dict[int, tuple[float, float]] = {}

    def clock(step, loss, m):
        if step in (warmup_steps, warmup_steps + steps):
            marks[step] = (time.perf_counter(), time.process_time())

    train_eps_model(model=model, data_source=ring, schedule=schedule, steps=warmup_steps + steps,
                    batch_size=batch_size, lr=1e-3, ema_decay=0.995, grad_clip=1.0, warmup_steps=100,
                    device="cpu", seed=seed, progress=False, callback=clock)
    (w0, c0), (w1, c1) = marks[warmup_steps], marks[warmup_steps + steps]
    return 1000.0 * (w1 - w0) / steps, 1000.0 * (c1 - c0) / steps


def time_x_t(batch_size: int, calls: int = 2000, rounds: int = 5) -> tuple[float, float]:
    """µs per call of forming x_t (batch_size, 2): validated ``q_sample`` vs the training loop's table lookup
    (best of ``rounds`` interleaved rounds each)."""
    from diffusion_lab.forward import q_sample

    schedule = make_schedule("linear", 1000)
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(batch_size, 2, generator=g), torch.randn(batch_size, 2, generator=g)
    t = torch.randint(0, 1000, (batch_size,), generator=g)
    a = schedule.sqrt_alphas_cumprod.to(torch.float32)
    b = schedule.sqrt_one_minus_alphas_cumprod.to(torch.float32)
    torch.testing.assert_close(q_sample(schedule, x0, t, noise=eps), a[t].view(-1, 1) * x0 + b[t].view(-1, 1) * eps)
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for i, form in enumerate((lambda: q_sample(schedule, x0, t, noise=eps),
                                  lambda: a[t].view(-1, 1) * x0 + b[t].view(-1, 1) * eps)):
            t0 = time.process_time()
            for _ in range(calls):
                form()
            best[i] = min(best[i], 1e6 * (time.process_time() - t0) / calls)
    return best[0], best[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400, help="timed steps per run (default 400)")
    parser.add_argument("--warmup-steps", type=int, default=50, help="untimed steps first (default 50)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5, help="runs (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    import diffusion_lab

    print(f"bench_training: TimeMLP() on ring, batch {args.batch_size}, {args.steps} timed steps per run, "
          f"torch threads {torch.get_num_threads()}, package {Path(diffusion_lab.__file__).parent}")
    for batch in sorted({16, args.batch_size}):
        checked, unchecked = time_x_t(batch)
        print(f"forming x_t, batch {batch}: q_sample {checked:.1f} µs, table lookup {unchecked:.1f} µs "
              "(CPU time, best of 5)")
    walls, cpus = [], []
    for r in range(args.repeat):
        wall, cpu = time_run(args.steps, args.warmup_steps, args.batch_size, seed=r)
        walls.append(wall)
        cpus.append(cpu)
        print(f"  run {r + 1}: wall {wall:.3f} ms/step, CPU {cpu:.3f} ms/step   (load {os.getloadavg()[0]:.1f})")
    print(f"wall: median {statistics.median(walls):.3f}, min {min(walls):.3f} ms/step; "
          f"CPU: median {statistics.median(cpus):.3f}, min {min(cpus):.3f} ms/step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
