"""Score shipped digit generators by the course's evaluation protocol (``diffusion_lab.metrics.PROTOCOLS``).

    python benchmarks/heldout_eval.py --protocol digits8x8 --model data/unet_digits \
        --model data/unet_digits_cond:0 --model data/unet_digits_cond:1 --out benchmarks/results/heldout_digits8x8.json
    python benchmarks/heldout_eval.py --protocol mnist --model data/unet_mnist:0 --model data/unet_mnist:1 \
        --out benchmarks/results/heldout_mnist.json

``--model PATH`` samples the model's own ε (unconditional); ``PATH:W`` samples a class-conditional model with
classifier-free guidance at scale W towards the classes 0..9 in turn. For every seed of the protocol: a random
half of the held-out images is the reference, the other half gives real against real at the same n, and each
generator makes n images from that seed's noise (DDIM, the protocol's settings). Prints one line per draw and
writes a JSON with every draw, the means and standard deviations, the judge's sha256 and each model's sha256,
steps and training split (whether the references were in its training set). ``--n``/``--seeds``/``--steps``
shrink the protocol for a quick check; the JSON then says ``"protocol_changed": true``.
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

import torch

from diffusion_lab.checkpoints import load_checkpoint, load_schedule
from diffusion_lab.data import without_mnist_root
from diffusion_lab.metrics import (PROTOCOLS, evaluate_generator, heldout_digits, protocol_sampler,
                                   references_held_out)


def _model_spec(spec: str) -> tuple[str, float | None]:
    path, sep, w = spec.rpartition(":")
    if not sep or not path or "/" in w:
        return spec, None
    return path, float(w)



def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--protocol", choices=sorted(PROTOCOLS), default="digits8x8")
    p.add_argument("--model", action="append", required=True, metavar="PATH[:W]",
                   help="a generator checkpoint stem; PATH:W guides a class-conditional one at scale W (repeatable)")
    p.add_argument("--classifier", help="the judge's checkpoint stem (default data/<the protocol's judge>)")
    p.add_argument("--n", type=int, help="quick check only: images per draw instead of the protocol's")
    p.add_argument("--seeds", type=int, help="quick check only: the first SEEDS of the protocol's seeds")
    p.add_argument("--steps", type=int, help="quick check only: DDIM steps instead of the protocol's")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--mnist-root", help="folder with the MNIST IDX files (default: data.load_mnist's search order)")
    p.add_argument("--out", help="write the results to this JSON")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    protocol = PROTOCOLS[args.protocol]
    changes = {k: v for k, v in (("n", args.n), ("steps", args.steps)) if v is not None}
    if args.seeds is not None:
        changes["seeds"] = protocol.seeds[:args.seeds]
    protocol = dataclasses.replace(protocol, **changes)
    classifier_path = args.classifier or f"data/{protocol.judge}"
    clf, cmeta = load_checkpoint(classifier_path)
    heldout = heldout_digits(protocol, args.mnist_root)
    print(f"protocol {protocol.name}: {protocol.heldout}; n = {protocol.n} per draw, seeds {list(protocol.seeds)}, "
          f"{protocol.sampler}; judge {classifier_path} (sha256 {cmeta['weights_sha256'][:12]}…, held-out accuracy "
          f"{cmeta.get('test_accuracy')})")
    t_start = time.perf_counter()
    record = {"protocol": protocol.to_dict(), "protocol_changed": bool(changes), "judge": None, "real": None,
              "generators": []}
    for spec in args.model:
        path, w = _model_spec(spec)
        model, meta = load_checkpoint(path)
        schedule = load_schedule(meta)
        held_out = references_held_out(meta)
        print(f"{path}{'' if w is None else f' guided at w = {w:g}'}: {meta['steps']} steps on {meta['split']}"
              f"{'' if held_out else ' — the references WERE in its training set'}")
        t0 = time.perf_counter()
        r = evaluate_generator(protocol_sampler(model, schedule, protocol, heldout[0].shape[1:], w=w), protocol, clf,
                               cmeta, heldout=heldout, log=print)
        seconds = time.perf_counter() - t0
        if record["real"] is None:
            record["judge"] = dict(r["judge"], path=classifier_path, features_used=r["features_used"])
            record["real"] = {k: r[k] for k in ("fid_real", "fid_real_mean", "fid_real_sd")}
        elif record["real"]["fid_real"] != r["fid_real"]:
            raise RuntimeError("the real-against-real draws differ between generators; the protocol is not fixed")
        entry = {"model": path, "w": w, "model_sha256": meta["weights_sha256"], "model_steps": meta["steps"],
                 "model_split": meta["split"], "references_in_training_set": not held_out,
                 **{k: r[k] for k in ("fid", "fid_mean", "fid_sd")}, "seconds": round(seconds, 1)}
        if "accuracy" in r:
            entry.update(accuracy=r["accuracy"], accuracy_mean=r["accuracy_mean"])
        record["generators"].append(entry)
        acc = f", intended class {entry['accuracy_mean']:.3f}" if "accuracy_mean" in entry else ""
        print(f"  mean over {len(protocol.seeds)} draws: Fréchet {r['fid_mean']:.2f} ± {r['fid_sd']:.2f} (sd), "
              f"real against real {r['fid_real_mean']:.2f} ± {r['fid_real_sd']:.2f}{acc}; {seconds:.0f} s")
    wall = time.perf_counter() - t_start
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    record.update(command="python benchmarks/heldout_eval.py " + shlex.join(without_mnist_root(argv)),
                  wall_time_s=round(wall, 1), load_average=round(load, 1), threads=args.threads,
                  torch_version=torch.__version__)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return record


if __name__ == "__main__":
    main()
