"""What classifier-free guidance does to a class-conditional digit U-Net, measured against w.

    python benchmarks/guidance_curves.py --model data/unet_digits_cond --classifier data/classifier_digits \
        --out data/guidance_curves_digits.json
    python benchmarks/guidance_curves.py --model data/unet_mnist --classifier data/classifier_mnist \
        --out data/guidance_curves_mnist.json

Applies the course's evaluation protocol (``diffusion_lab.metrics.PROTOCOLS``, chosen by the model's data set):
for every seed of the protocol a random half of the **held-out** images (which the classifier never trained on,
nor a generator trained with ``--split train``) is the reference, the other half gives real against real at the
same n, and for each guidance scale w the model makes n images (intended classes 0..9 in turn, the same starting
noise for every w) with guided DDIM (the protocol's steps, η = 0, x̂0 clamped to [−1, 1]). Measured with the
shipped classifier (``guidance.intended_class_metrics``): accuracy on the intended class, the classifier's
confidence p(y | x) in it, within-class diversity (feature variance among the images the classifier puts in one
class, × the reference digits of that class) and the digit Fréchet distance to the reference half; each is the
mean over the draws, the Fréchet distance also with its standard deviation between draws.
Writes a small JSON (``--out``; chapter 06 plots it) and prints a table. ``--n``/``--seeds``/``--steps``/``--eta``
change the protocol for a quick check; the JSON then says ``"protocol_changed": true``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from diffusion_lab.checkpoints import load_checkpoint, load_schedule
from diffusion_lab.data import without_mnist_root
from diffusion_lab.guidance import intended_class_metrics
from diffusion_lab.metrics import (classifier_features, frechet_distance, heldout_digits, protocol_for,
                                   protocol_sampler, references_held_out)

DEFAULT_WS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)


def measure(model, schedule, classifier, protocol, heldout, ws, log=print) -> dict:
    """The curves: per w the means over the protocol's draws (and the Fréchet distance's sd between draws)."""
    real_x, real_y = heldout
    n = protocol.n
    per_w = {float(w): {"accuracy": [], "confidence": [], "diversity": [], "fid": [], "sample_s": 0.0} for w in ws}
    real = {"fid": [], "accuracy": [], "confidence": []}
    feats = classifier_features(real_x, classifier)
    for seed in protocol.seeds:
        for i, w in enumerate(ws):
            g = torch.Generator().manual_seed(int(seed))        # the same halves and starting noise for every w
            perm = torch.randperm(real_x.shape[0], generator=g)
            ref, other = perm[:n], perm[n:2 * n]
            t0 = time.perf_counter()
            images, intended = protocol_sampler(model, schedule, protocol, real_x.shape[1:], w=float(w))(n, g)
            per_w[float(w)]["sample_s"] += time.perf_counter() - t0
            m = intended_class_metrics(images, intended, classifier, reference=real_x[ref])
            for key in ("accuracy", "confidence", "diversity", "fid"):
                per_w[float(w)][key].append(m[key])
            if i == 0:
                real["fid"].append(frechet_distance(feats[other], feats[ref]))
                real_m = intended_class_metrics(real_x[other], real_y[other], classifier)
                real["accuracy"].append(real_m["accuracy"])
                real["confidence"].append(real_m["confidence"])
        log(f"  seed {seed}: Fréchet " + ", ".join(f"w={w:g} {per_w[float(w)]['fid'][-1]:.1f}" for w in ws)
            + f"; real against real {real['fid'][-1]:.1f}")
    curves = {"w": [float(w) for w in ws]}
    for key in ("accuracy", "confidence", "diversity", "fid"):
        curves[key] = [round(float(np.mean(per_w[float(w)][key])), 5) for w in ws]
    curves["fid_sd"] = [round(float(np.std(per_w[float(w)]["fid"], ddof=1)), 5) if len(protocol.seeds) > 1
                        else float("nan") for w in ws]
    curves["sample_s"] = [round(per_w[float(w)]["sample_s"], 1) for w in ws]
    curves["fid_real"] = float(np.mean(real["fid"]))
    curves["fid_real_sd"] = float(np.std(real["fid"], ddof=1)) if len(real["fid"]) > 1 else float("nan")
    curves["accuracy_real"] = float(np.mean(real["accuracy"]))
    curves["confidence_real"] = float(np.mean(real["confidence"]))
    curves["n"] = n * len(protocol.seeds)
    curves["n_per_draw"] = n
    curves["seeds"] = list(protocol.seeds)
    log(f"{'w':>5} {'accuracy':>9} {'confidence':>11} {'diversity':>10} {'digit FID':>14} {'sample s':>9}")
    log(f"{'real':>5} {curves['accuracy_real']:9.3f} {curves['confidence_real']:11.3f} {1.0:10.3f} "
        f"{curves['fid_real']:7.2f} ± {curves['fid_real_sd']:4.2f}")
    for i, w in enumerate(ws):
        log(f"{w:5.1f} {curves['accuracy'][i]:9.3f} {curves['confidence'][i]:11.3f} {curves['diversity'][i]:10.3f} "
            f"{curves['fid'][i]:7.2f} ± {curves['fid_sd'][i]:4.2f} {curves['sample_s'][i]:9.1f}")
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



def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="data/unet_digits_cond")
    p.add_argument("--classifier", help="the judge (default data/<the protocol's judge>)")
    p.add_argument("--ws", default=",".join(f"{w:g}" for w in DEFAULT_WS), help="comma-separated guidance scales")
    p.add_argument("--n", type=int, help="quick check only: images per draw instead of the protocol's")
    p.add_argument("--seeds", type=int, help="quick check only: the first SEEDS of the protocol's seeds")
    p.add_argument("--steps", type=int, help="quick check only: DDIM steps instead of the protocol's")
    p.add_argument("--eta", type=float, help="DDIM η instead of the protocol's 0 (1: fresh noise at every step, like "
                   "DDPM's ancestral sampler)")
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
    protocol = protocol_for(meta["dataset"])
    changes = {k: v for k, v in (("n", args.n), ("steps", args.steps), ("eta", args.eta)) if v is not None}
    if args.seeds is not None:
        changes["seeds"] = protocol.seeds[:args.seeds]
    protocol = dataclasses.replace(protocol, **changes)
    classifier_path = args.classifier or f"data/{protocol.judge}"
    clf, cmeta = load_checkpoint(classifier_path)
    schedule = load_schedule(meta)
    heldout = heldout_digits(protocol, args.mnist_root)
    held_out = references_held_out(meta)
    ws = [float(w) for w in args.ws.split(",")]
    print(f"{args.model}: {meta['steps']} training steps on {meta['dataset']}, {meta['split']}"
          f"{'' if held_out else ' (the references WERE in its training set)'}; judge {classifier_path} "
          f"(held-out accuracy {cmeta.get('test_accuracy')}); protocol {protocol.name}: {protocol.sampler}, "
          f"n = {protocol.n} per draw, seeds {list(protocol.seeds)}")
    t0 = time.perf_counter()
    curves = measure(model, schedule, clf, protocol, heldout, ws)
    wall = time.perf_counter() - t0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"total {wall:.0f} s (load average {load:.1f})")
    if args.grid:
        save_grid(model, schedule, heldout[0].shape[1:], [float(w) for w in args.grid_ws.split(",")],
                  args.grid_seeds, protocol.steps, args.grid)
    if args.out:
        record = {"model": args.model, "model_steps": meta["steps"], "model_sha256": meta["weights_sha256"],
                  "model_split": meta["split"], "references_in_training_set": not held_out,
                  "classifier": classifier_path, "classifier_sha256": cmeta["weights_sha256"],
                  "protocol": protocol.to_dict(), "protocol_changed": bool(changes), "sampler": protocol.sampler,
                  "command": "python benchmarks/guidance_curves.py " + shlex.join(without_mnist_root(argv)),
                  "wall_time_s": round(wall, 1), "load_average": round(load, 1), **curves}
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
