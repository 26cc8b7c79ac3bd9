#!/usr/bin/env python3
"""Write one GIF and one HTML animation per chapter view into build/animations/ (git-ignored).

    .venv/bin/python scripts/make_animations.py                 # every diffusion_lab.views module
    .venv/bin/python scripts/make_animations.py --only schedule_comparison --fps 3 --formats gif

Each module of ``diffusion_lab.views`` that exposes ``demo_view()`` and ``DEMO_SWEEP`` (or an
``ANIMATION_SWEEP`` meant for animation) is replayed with ``diffusion_lab.animation``; long sweeps
are thinned evenly to ``--max-frames``. An ``index.html`` lists what was written.
"""
from __future__ import annotations

import argparse
import html
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")  # headless: views draw on Agg canvases

ROOT = Path(__file__).resolve().parents[1]


def thin(sweep: list[dict], max_frames: int) -> list[dict]:
    """At most ``max_frames`` entries of ``sweep``, evenly spaced, first and last kept."""
    if max_frames < 2 or len(sweep) <= max_frames:
        return list(sweep)
    step = (len(sweep) - 1) / (max_frames - 1)
    return [sweep[round(i * step)] for i in range(max_frames)]


def make_animations(out_dir: Path, only: list[str] | None = None, fps: float = 4, dpi: float = 80,
                    max_frames: int = 40, formats=("gif", "html"), modules=None, log=print) -> dict:
    """Animate every view module (or the given ``modules``); returns {name: {format: path}}."""
    from diffusion_lab import animation

    modules = animation.find_view_modules() if modules is None else modules
    written = {}
    for module in modules:
        name = module.__name__.rsplit(".", 1)[-1]
        if only and name not in only:
            continue
        start = time.perf_counter()
        sweep = thin(animation.module_sweep(module), max_frames)
        written[name] = animation.save_animation(module.demo_view, sweep, out_dir, name, fps=fps, dpi=dpi,
                                                 formats=formats)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in written[name].values())
        log(f"  {name:16s} {len(sweep):3d} frames  {time.perf_counter() - start:5.1f} s  {sizes}")
    if only:
        missing = set(only) - set(written)
        if missing:
            raise SystemExit(f"no view module named {sorted(missing)}; known: "
                             f"{sorted(m.__name__.rsplit('.', 1)[-1] for m in modules)}")
    items = "\n".join(
        f"<li><b>{html.escape(name)}</b>: " + " &middot; ".join(
            f'<a href="{p.name}">{fmt}</a>' for fmt, p in files.items())
        + (f'<br><img src="{files["gif"].name}" alt="{html.escape(name)}" style="max-width: 100%">'
           if "gif" in files else "") + "</li>"
        for name, files in written.items())
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>diffusion_lab animations</title>'
        '</head><body style="font-family: system-ui, sans-serif">\n<h1>diffusion_lab: view animations</h1>\n'
        f"<ul>\n{items}\n</ul>\n</body></html>\n", encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "animations")
    ap.add_argument("--only", nargs="*", help="view module names, e.g. schedule_comparison forward_1d")
    ap.add_argument("--fps", type=float, default=4)
    ap.add_argument("--dpi", type=float, default=80)
    ap.add_argument("--max-frames", type=int, default=40, help="thin longer sweeps to this many frames")
    ap.add_argument("--formats", nargs="+", default=["gif", "html"], choices=["gif", "html"])
    args = ap.parse_args(argv)
    start = time.perf_counter()
    print(f"make_animations -> {args.out}")
    written = make_animations(args.out, args.only, args.fps, args.dpi, args.max_frames, tuple(args.formats))
    print(f"make_animations: {len(written)} views in {time.perf_counter() - start:.1f} s; "
          f"open {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
