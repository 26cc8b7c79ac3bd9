"""Time every live view headless: ``view.update(**params)`` followed by ``view.fig.canvas.draw()``.

Finds the views itself: every module in ``diffusion_lab/views/`` that defines ``demo_view()`` and
``DEMO_SWEEP`` (a list of parameter dicts) is measured, so a chapter's view is picked up as soon as
its module exists. For each view it builds ``demo_view()`` once, does one warm-up pass over the
sweep, then times ``--repeat`` passes and prints the median and 90th percentile per update
(compute + full Agg redraw, in ms) next to the course budget (median ≤ 30 ms).

    .venv/bin/python benchmarks/bench_views.py                 # all views
    .venv/bin/python benchmarks/bench_views.py forward_1d      # only modules whose name contains this
    .venv/bin/python benchmarks/bench_views.py --repeat 5 --strict

``--strict`` exits with status 1 when a view is over budget or fails; without it the script only
reports (benchmarks are not tests: timings depend on the machine and its load).
"""
from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"  # headless, before anything imports matplotlib.pyplot

import argparse  # noqa: E402
import importlib  # noqa: E402
import pkgutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from anywhere without installing

import matplotlib  # noqa: E402

matplotlib.use("Agg", force=True)

import numpy as np  # noqa: E402
import torch  # noqa: E402


BUDGET_MS = 30.0


def discover(filter_text: str | None = None) -> list[str]:
    """Names of the modules in diffusion_lab/views (sorted), optionally filtered by substring."""
    import diffusion_lab.views as views_pkg

    names = sorted(m.name for m in pkgutil.iter_modules(views_pkg.__path__) if not m.name.startswith("_"))
    if filter_text:
        names = [n for n in names if filter_text in n]
    return names


def time_view(module_name: str, repeat: int) -> dict:
    """Build the module's demo view and time update + draw over its DEMO_SWEEP."""
    module = importlib.import_module(f"diffusion_lab.views.{module_name}")
    if not (hasattr(module, "demo_view") and hasattr(module, "DEMO_SWEEP")):
        return {"name": module_name, "skipped": "no demo_view() / DEMO_SWEEP"}
    sweep = list(module.DEMO_SWEEP)
    if not sweep:
        return {"name": module_name, "skipped": "DEMO_SWEEP is empty"}
    start = time.perf_counter()
    view = module.demo_view()
    view.fig.canvas.draw()
    build_ms = (time.perf_counter() - start) * 1e3
    for params in sweep:                                   # warm-up: caches, first-draw costs
        view.update(**params)
        view.fig.canvas.draw()
    total, update_only, explorer = [], [], []
    for _ in range(repeat):
        for params in sweep:
            t0 = time.perf_counter()
            view.update(**params)
            t1 = time.perf_counter()
            view.fig.canvas.draw()
            t2 = time.perf_counter()
            update_only.append((t1 - t0) * 1e3)
            total.append((t2 - t0) * 1e3)
    view.render_png()
    for params in sweep:                                   # what an explorer does per slider move
        t0 = time.perf_counter()
        view.update(**params)
        view.render_png()                                  # blitted where the view names dynamic artists
        explorer.append((time.perf_counter() - t0) * 1e3)
    import matplotlib.pyplot as plt
    plt.close(view.fig)
    total, update_only = np.array(total), np.array(update_only)
    return {"name": module_name, "class": type(view).__name__, "n": len(total), "build_ms": build_ms,
            "median": float(np.median(total)), "p90": float(np.percentile(total, 90)),
            "max": float(total.max()), "update_median": float(np.median(update_only)),
            "explorer_median": float(np.median(explorer))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="?", help="only modules whose name contains this text")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over each DEMO_SWEEP (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2, the course machines)")
    parser.add_argument("--budget", type=float, default=BUDGET_MS, help="median budget in ms (default 30)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a view fails or is over budget")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    names = discover(args.only)
    print(f"bench_views: matplotlib {matplotlib.__version__} ({matplotlib.get_backend()}), torch threads "
          f"{torch.get_num_threads()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, repeat {args.repeat}")
    if not names:
        print("no views found in diffusion_lab/views/" + (f" matching {args.only!r}" if args.only else "")
              + " — nothing to time yet.")
        return 0

    rows, failed, slow = [], [], []
    for name in names:
        try:
            row = time_view(name, args.repeat)
        except Exception:                                  # report and go on with the other views
            traceback.print_exc()
            row = {"name": name, "error": True}
            failed.append(name)
        rows.append(row)

    header = (f"{'view module':<22} {'class':<22} {'n':>4} {'build':>8} {'upd med':>8} {'median':>8} {'p90':>8} "
              f"{'max':>8} {'+png':>8}  budget")
    print()
    print("times in ms; median/p90/max are update + canvas.draw(); 'upd med' is update alone;")
    print("'+png' is an explorer's whole kernel-side cost per slider move (update, render_png: a blit where the")
    print("view names dynamic artists, else a full draw; PNG encode; median)")
    print(header)
    print("-" * len(header))
    for r in rows:
        if r.get("error"):
            print(f"{r['name']:<22} FAILED (traceback above)")
            continue
        if "skipped" in r:
            print(f"{r['name']:<22} skipped: {r['skipped']}")
            continue
        verdict = "ok" if r["median"] <= args.budget else f"OVER {args.budget:g}"
        if r["median"] > args.budget:
            slow.append(r["name"])
        print(f"{r['name']:<22} {r['class']:<22} {r['n']:>4} {r['build_ms']:>8.1f} {r['update_median']:>8.1f} "
              f"{r['median']:>8.1f} {r['p90']:>8.1f} {r['max']:>8.1f} {r['explorer_median']:>8.1f}  {verdict}")
    if failed or slow:
        print(f"\nfailed: {failed or 'none'}; over budget: {slow or 'none'}")
    return 1 if args.strict and (failed or slow) else 0


if __name__ == "__main__":
    sys.exit(main())
