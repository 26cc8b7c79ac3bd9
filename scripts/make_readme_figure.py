#!/usr/bin/env python3
"""Draw the README's picture, docs/images/overview.png, with the course's own code.

Top row: the forward process (chapters 1–2) pushes the ring of eight Gaussians to N(0, I).
Bottom row: the reverse process (chapter 5), DDPM with the exact noise predictor ε* of the ring,
turns N(0, I) noise back into the ring. Same seed, same picture on every run:

    .venv/bin/python scripts/make_readme_figure.py            # writes docs/images/overview.png
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

import diffusion_lab as dl  # noqa: E402
from diffusion_lab.plotting import new_figure, use_course_style  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHOW_T = (100, 250, 500, 999)   # code steps shown between the data and the noise / samples


def overview_figure(n: int = 1500, seed: int = 0):
    """(fig, states): the figure and {"forward"|"reverse": {t: x_t (n, 2)}} it shows; key -1 is x0."""
    use_course_style(presenting=False)
    schedule = dl.make_schedule("linear", 1000)
    ring = dl.make_distribution("ring")
    x0 = ring.sample(n, generator=dl.make_generator(seed))
    noise = torch.randn(x0.shape, generator=dl.make_generator(seed + 1))
    forward = {-1: x0} | {t: dl.q_sample(schedule, x0, torch.full((n,), t), noise=noise) for t in SHOW_T}
    x_T = torch.randn((n, 2), generator=dl.make_generator(seed + 2))
    reverse = {999: x_T}
    for step in dl.ddpm_steps(ring.eps_model(schedule), schedule, x_T, generator=dl.make_generator(seed + 3)):
        if step.t_prev in SHOW_T or step.t_prev == -1:
            reverse[step.t_prev] = step.x_prev
    fig, axes = new_figure(2, 5, figsize=(12, 5.4))
    rows = [("forward: add noise", forward, (-1, *SHOW_T), "x0 (data)"),
            ("reverse: remove it", reverse, (*SHOW_T[::-1], -1), "x0 (samples)")]
    for row, (name, states, order, x0_label) in enumerate(rows):
        for ax, t in zip(axes[row], order):
            x = states[t]
            ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5, color=dl.plotting.PALETTE[row * 3], rasterized=True)
            ax.set(xlim=(-3.6, 3.6), ylim=(-3.6, 3.6), xticks=[], yticks=[], aspect="equal")
            ax.grid(False)
            for side in ("top", "right"):
                ax.spines[side].set_visible(True)
            ax.set_title(x0_label if t == -1 else f"x_t, t = {t}", fontsize=11)
        axes[row][0].set_ylabel(name, fontsize=12)
    fig.suptitle("Eight Gaussians pushed to N(0, I) and back (DDPM with the exact ε*, T = 1000)", fontsize=13)
    fig.subplots_adjust(left=0.04, right=0.99, top=0.88, bottom=0.02, wspace=0.08, hspace=0.22)
    return fig, {"forward": forward, "reverse": reverse}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "overview.png")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    fig, _ = overview_figure()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
