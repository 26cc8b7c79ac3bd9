"""What classifier-free guidance does to a class-conditional digit U-Net, measured against w.

    python benchmarks/guidance_curves.py --model data/unet_digits_cond --classifier data/classifier_digits
    python benchmarks/guidance_curves.py --model data/unet_mnist --classifier data/classifier_mnist \
        --out data/guidance_curves_mnist.json

For each guidance scale w, samples n images (n/10 per intended class 0..9, the same starting noise for
every w) with guided DDIM (η = 0 unless ``--eta``, x̂0 clamped to [−1, 1]) and measures with the shipped classifier
(``guidance.intended_class_metrics``): accuracy on the intended class, the classifier's confidence
p(y | x) in it, within-class diversity (feature variance among the images the classifier puts in one
class, × real digits of that class) and
the digit Fréchet distance to n real images. Also the floor: real vs other real images at the same n.
Writes a small JSON (``--out``; the chapter plots it) and prints a table.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from diffusion_lab.checkpoints import load_checkpoint, load_schedule
from diffusion_lab.data import load_digits_8x8, load_mnist
from diffusion_lab.guidance import intended_class_metrics, sample_guided
from diffusion_lab.metrics import digit_fid

DEFAULT_WS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)


def real_images(meta, mnist_root=None):
    if "MNIST" in meta["dataset"]:
        return load_mnist(mnist_root, split="test")
    return load_digits_8x8("all")


def measure(model, schedule, classifier, real_x, real_y, ws, n: int, steps: int, seed: int, batch: int = 500,
            eta: float = 0.0, log=print) -> dict:
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(real_x.shape[0], generator=g)
    n = min(n, real_x.shape[0] // 2)
    ref = real_x[perm[:n]]
    other = real_x[perm[n:2 * n]]
    intended = torch.arange(n) % 10
    x_T = torch.randn((n, *real_x.shape[1:]), generator=g)
    curves = {"w": [], "accuracy": [], "confidence": [], "diversity": [], "fid": [], "sample_s": []}
    curves["fid_real"] = digit_fid(other, ref, classifier)
    real_m = intended_class_metrics(other, real_y[perm[n:2 * n]], classifier)
    curves["accuracy_real"], curves["confidence_real"] = real_m["accuracy"], real_m["confidence"]
    log(f"{'w':>5} {'accuracy':>9} {'confidence':>11} {'diversity':>10} {'digit FID':>10} {'sample s':>9}")
    log(f"{'real':>5} {real_m['accuracy']:9.3f} {real_m['confidence']:11.3f} {1.0:10.3f} {curves['fid_real']:10.2f}")
    for w in ws:
        t0 = time.perf_counter()
        noise = torch.Generator().manual_seed(seed + 1)                    # fresh noise of η > 0, same for every w
        parts = [sample_guided(model, schedule, intended[i:i + batch], float(w), x_T[i:i + batch], num_steps=steps,
                               eta=eta, clip_x0=1.0, generator=noise) for i in range(0, n, batch)]
        images = torch.cat(parts).clamp(-1, 1)
        dt = time.perf_counter() - t0
        m = intended_class_metrics(images, intended, classifier, reference=ref)
        for key in ("accuracy", "confidence", "diversity", "fid"):
            curves[key].append(round(m[key], 5))
        curves["w"].append(float(w))
        curves["sample_s"].append(round(dt, 1))
        log(f"{w:5.1f} {m['accuracy']:9.3f} {m['confidence']:11.3f} {m['diversity']:10.3f} {m['fid']:10.2f} {dt:9.1f}")
    curves["n"] = n
    return curves


def save_grid(model, schedule, image_shape, ws, seeds: int, steps: int, path: str) -> None:
    """A PNG of guided samples: rows = classes 0..9, for each w a block of ``seeds`` columns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from diffusion_lab.guidance import guidance_grid
    from diffusion_lab.views.guidance_explorer import mosaic

    grid = guidance_grid(model, schedule, ws, range(10), range(seeds), image_shape, num_steps=steps)  # (W, 10, S, ...)
    blocks = [mosaic(g) for g in grid]
    fig, axes = plt.subplots(1, len(ws), figsize=(1.0 + 0.42 * seeds * len(ws), 4.6))
    for ax, block, w in zip(axes, blocks, ws):
        ax.imshow(block, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(f"w = {w:g}")
        ax.set_xticks([])
        rows = np.linspace(0, block.shape[0], 10, endpoint=False) + block.shape[0] / 20
        ax.set_yticks(rows, [str(c) for c in range(10)])
    axes[0].set_ylabel("intended class")
    fig.suptitle(f"guided DDIM samples ({steps} steps), the same noise across w")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"saved {path}")


def _without_data_path(argv: list[str]) -> list[str]:
    """The command line to record, less ``--mnist-root``: where one machine keeps MNIST is not a setting of the
    measurement (load_mnist's search order finds the files elsewhere)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--mnist-root":
            skip = True
        elif not arg.startswith("--mnist-root="):
            kept.append(arg)
    return kept


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="data/unet_digits_cond")
    p.add_argument("--classifier", default="data/classifier_digits")
    p.add_argument("--ws", default=",".join(f"{w:g}" for w in DEFAULT_WS), help="comma-separated guidance scales")
    p.add_argument("--n", type=int, default=1000, help="images per w (n/10 per class), and real images compared")
    p.add_argument("--steps", type=int, default=50, help="DDIM steps")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM η: 0 deterministic (default), 1 fresh noise at "
                   "every step like DDPM's ancestral sampler")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--mnist-root", help="folder with the MNIST IDX files (default: data.load_mnist's search order)")
    p.add_argument("--out", help="write the curves to this JSON (e.g. data/guidance_curves_digits.json)")
    p.add_argument("--grid", metavar="PNG", help="also save a picture: one row per class, one column per w of "
                   "--grid-ws, the same starting noise in every cell of a row")
    p.add_argument("--grid-ws", default="0,1,3", help="guidance scales of the --grid columns (default 0,1,3)")
    p.add_argument("--grid-seeds", type=int, default=4, help="samples per class and w in the --grid picture")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, meta = load_checkpoint(args.model)
    clf, cmeta = load_checkpoint(args.classifier)
    schedule = load_schedule(meta)
    real_x, real_y = real_images(meta, args.mnist_root)
    ws = [float(w) for w in args.ws.split(",")]
    print(f"{args.model}: {meta['steps']} training steps on {meta['dataset']}; classifier {args.classifier} "
          f"(held-out accuracy {cmeta.get('test_accuracy')}); DDIM η = {args.eta:g}, {args.steps} steps; "
          f"n = {args.n} per w")
    t0 = time.perf_counter()
    curves = measure(model, schedule, clf, real_x, real_y, ws, args.n, args.steps, args.seed, eta=args.eta)
    wall = time.perf_counter() - t0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"total {wall:.0f} s (load average {load:.1f})")
    if args.grid:
        save_grid(model, schedule, real_x.shape[1:], [float(w) for w in args.grid_ws.split(",")], args.grid_seeds,
                  args.steps, args.grid)
    if args.out:
        record = {"model": args.model, "model_steps": meta["steps"], "model_sha256": meta["weights_sha256"],
                  "classifier": args.classifier, "sampler": f"DDIM eta={args.eta:g}, {args.steps} steps, clip_x0=1",
                  "command": "python benchmarks/guidance_curves.py " + shlex.join(_without_data_path(argv)),
                  "wall_time_s": round(wall, 1), "load_average": round(load, 1), **curves}
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
