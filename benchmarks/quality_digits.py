"""A quick look at one draw of a shipped image ε-model's samples, with a shipped DigitClassifier.

    python benchmarks/quality_digits.py --model data/unet_digits --classifier data/classifier_digits
    python benchmarks/quality_digits.py --model data/unet_mnist --classifier data/classifier_mnist

Samples n images with DDIM (default 50 steps, η = 0, x̂0 clamped to [−1, 1]) and prints the classifier-feature Fréchet
distance ("digit FID") to n **held-out** real images (``metrics.heldout_digits``: images no judge and no
``--split train`` generator trains on; n defaults to the protocol's), the classifier's confidence and class
diversity. Reference rows: the other held-out half (real against real at this n) and uniform noise (a bad
generator). One draw moves by several units between seeds: for numbers to quote, use
``benchmarks/heldout_eval.py``, which applies the whole protocol (every seed, mean and spread).
``--grid out.png`` also saves an 8×8 grid of samples.
"""
from __future__ import annotations

import argparse
import time

import torch

from diffusion_lab.checkpoints import load_checkpoint, load_schedule
from diffusion_lab.data import to_unit_range
from diffusion_lab.metrics import (classifier_confidence_diversity, digit_fid, heldout_digits, protocol_for,
                                   references_held_out)
from diffusion_lab.sampling import ddim_sample, ddpm_sample


def real_images(meta):
    """The held-out images of the model's protocol."""
    return heldout_digits(protocol_for(meta["dataset"]))[0]


def row(label, images, ref, clf, seconds=None):
    cd = classifier_confidence_diversity(images, clf)
    fid = digit_fid(images, ref, clf)
    s = "" if seconds is None else f"{seconds:8.1f}"
    print(f"{label:<22} {fid:10.3f} {cd['confidence']:8.3f} {cd['diversity']:8.3f} {cd['inception_score']:6.2f} {s}")


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="data/unet_digits")
    p.add_argument("--classifier", default="data/classifier_digits")
    p.add_argument("--n", type=int, help="images per set (default: the protocol's n)")
    p.add_argument("--sampler", choices=("ddim", "ddpm"), default="ddim")
    p.add_argument("--steps", type=int, default=50, help="DDIM steps")
    p.add_argument("--clip-x0", type=float, default=1.0,
                   help="clamp the predicted x̂0 to [−c, c] at every step (DDPM practice for images); 0: off")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--grid", help="save an 8×8 grid of samples to this PNG")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    model, meta = load_checkpoint(args.model)
    clf, cmeta = load_checkpoint(args.classifier)
    schedule = load_schedule(meta)
    real = real_images(meta)
    g = torch.Generator().manual_seed(args.seed)
    perm = torch.randperm(real.shape[0], generator=g)
    n = min(args.n or protocol_for(meta["dataset"]).n, real.shape[0] // 2)
    ref, other = real[perm[:n]], real[perm[n:2 * n]]
    shape = (n, *real.shape[1:])
    clip = args.clip_x0 or None
    t0 = time.perf_counter()
    if args.sampler == "ddim":
        samples = ddim_sample(model, schedule, shape, num_steps=args.steps, generator=g, clip_x0=clip)
    else:
        samples = ddpm_sample(model, schedule, shape, generator=g, clip_x0=clip)
    dt = time.perf_counter() - t0
    samples = samples.clamp(-1, 1)
    print(f"{args.model} ({meta['steps']} steps, {meta['dataset']}, {meta['split']}); classifier {args.classifier} "
          f"(held-out accuracy {cmeta.get('test_accuracy')}); n = {n} against held-out images"
          f"{'' if references_held_out(meta) else ' (which WERE in the model training set)'}")
    print(f"{'images':<22} {'digit FID':>10} {'conf':>8} {'divers.':>8} {'IS':>6} {'sample s':>8}")
    row("real (other half)", other, ref, clf)
    label = f"{args.sampler.upper()} {args.steps if args.sampler == 'ddim' else schedule.T} clip={clip}"
    row(label, samples, ref, clf, dt)
    row("uniform noise", torch.rand(shape, generator=g) * 2 - 1, ref, clf)
    if args.grid:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from torchvision.utils import make_grid

        grid = make_grid(to_unit_range(samples[:64]), nrow=8, padding=1, pad_value=1.0)
        plt.imsave(args.grid, grid[0].numpy(), cmap="gray", vmin=0, vmax=1)
        print(f"saved {args.grid}")


if __name__ == "__main__":
    main()
