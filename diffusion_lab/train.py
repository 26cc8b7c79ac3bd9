"""Command line: train one of the course's models with the project's own code and save a checkpoint.

Examples (the exact commands of the shipped checkpoints are in data/README.md)::

    python -m diffusion_lab.train --model mlp2d --steps 6000 --out data/mlp2d_ring8
    python -m diffusion_lab.train --model unet-digits --steps 1800 --out data/unet_digits
    python -m diffusion_lab.train --model unet-mnist --steps 900 --out data/unet_mnist
    python -m diffusion_lab.train --model classifier-digits --steps 600 --out data/classifier_digits

``--threads 1`` is faster than the default 2 when another process already keeps a core busy.

Writes ``OUT.safetensors`` + ``OUT.json`` (see ``diffusion_lab.checkpoints``) and prints the wall time.
Ctrl-C stops training early and still saves what was learnt (marked ``"interrupted": true``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import torch

MODEL_CHOICES = ("mlp2d", "unet-digits", "unet-mnist", "classifier-digits", "classifier-mnist")

# per-model defaults; every one can be overridden on the command line
DEFAULTS = {
    "mlp2d": dict(steps=6000, batch_size=256, lr=1e-3, ema=0.995, schedule="linear", T=1000),
    "unet-digits": dict(steps=1800, batch_size=128, lr=2e-3, ema=0.995, schedule="linear", T=1000),
    "unet-mnist": dict(steps=900, batch_size=64, lr=2e-3, ema=0.995, schedule="linear", T=1000),
    "classifier-digits": dict(steps=600, batch_size=128, lr=2e-3, ema=None, schedule=None, T=None),
    "classifier-mnist": dict(steps=800, batch_size=128, lr=2e-3, ema=None, schedule=None, T=None),
}

MNIST_CLASSIFIER_TRAIN = 8000  # first 8000 t10k images train the MNIST classifier, the last 2000 test it


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m diffusion_lab.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=MODEL_CHOICES)
    p.add_argument("--out", required=True, help="output path stem, e.g. data/unet_digits")
    p.add_argument("--steps", type=int, help="optimisation steps (default depends on --model)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--ema", type=float, help="EMA decay (e.g. 0.999); 0 disables")
    p.add_argument("--grad-clip", type=float, default=1.0, help="max gradient norm (0 disables; default 1.0)")
    p.add_argument("--warmup", type=int, default=100, help="linear lr warm-up steps (default 100)")
    p.add_argument("--schedule", help="noise schedule name (default linear)")
    p.add_argument("--T", type=int, help="number of diffusion steps (default 1000)")
    p.add_argument("--distribution", default="ring", help="mlp2d: make_distribution name (default ring: 8 Gaussians)")
    p.add_argument("--hidden", type=int, default=128, help="mlp2d: hidden width")
    p.add_argument("--depth", type=int, default=3, help="mlp2d: residual blocks")
    p.add_argument("--base", type=int, help="unet/classifier width (unet default 32 digits / 16 mnist; classifier 32)")
    p.add_argument("--channel-mults", help="unet: comma list, e.g. 1,2 (digits) or 1,2,2 (mnist)")
    p.add_argument("--no-attention", action="store_true", help="unet: no self-attention in the middle")
    p.add_argument("--mnist-root", help="folder with the MNIST IDX .gz files (default: search order of data.load_mnist)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (cuda → mps → cpu), cpu, cuda, ...")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    p.add_argument("--max-minutes", type=float,
                   help="also stop after this much training wall time (the steps done are recorded)")
    return p


def _loss_curve(history: list[float], every: int) -> dict:
    means = [sum(history[i:i + every]) / len(history[i:i + every]) for i in range(0, len(history), every)]
    return {"every": every, "mean_loss": [round(m, 6) for m in means]}


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    d = DEFAULTS[args.model]
    steps = args.steps if args.steps is not None else d["steps"]
    batch_size = args.batch_size or d["batch_size"]
    lr = args.lr or d["lr"]
    ema = d["ema"] if args.ema is None else (args.ema or None)
    grad_clip = args.grad_clip or None
    command = "python -m diffusion_lab.train " + shlex.join(argv)
    max_time_s = None if args.max_minutes is None else 60.0 * args.max_minutes

    from . import data as data_mod
    from .checkpoints import save_checkpoint
    from .models import DigitClassifier, TimeMLP, TinyUNet, count_parameters
    from .training import classifier_accuracy, train_classifier, train_eps_model

    extra: dict = {}
    if args.model.startswith("classifier"):
        if args.model == "classifier-digits":
            x_tr, y_tr = data_mod.load_digits_8x8("train")
            x_te, y_te = data_mod.load_digits_8x8("test")
            dataset, split, size = "sklearn digits 8x8", "train (1438 images); accuracy on test (359)", 8
        else:
            x, y = data_mod.load_mnist(args.mnist_root, split="test")
            n = MNIST_CLASSIFIER_TRAIN
            x_tr, y_tr, x_te, y_te = x[:n], y[:n], x[n:], y[n:]
            dataset = "MNIST"
            split = f"t10k test split: images 0..{n - 1} train, {n}..{len(y) - 1} held out for accuracy"
            size = 28
        model = DigitClassifier(width=args.base or 32, image_size=size)
        print(f"{type(model).__name__}: {count_parameters(model):,} parameters; {len(y_tr)} training images")
        res = train_classifier(model, x_tr, y_tr, steps, batch_size=batch_size, lr=lr, device=args.device,
                               seed=args.seed, progress=not args.no_progress, augment_shift=1,
                               max_time_s=max_time_s)
        acc = classifier_accuracy(res.model, x_te, y_te)
        extra.update(test_accuracy=round(acc, 4), test_images=len(y_te))
        print(f"held-out accuracy: {acc:.4f} on {len(y_te)} images")
        save_model, schedule_config = res.model, None
    else:
        from .schedules import make_schedule

        schedule = make_schedule(args.schedule or d["schedule"], args.T or d["T"])
        if args.model == "mlp2d":
            from .distributions import make_distribution

            source = make_distribution(args.distribution)
            model = TimeMLP(data_dim=2, hidden=args.hidden, depth=args.depth, T=schedule.T)
            dataset, split = f"make_distribution({args.distribution!r}) (default kwargs)", "fresh samples every step"
        else:
            if args.model == "unet-digits":
                source, _ = data_mod.load_digits_8x8("all")
                dataset, split = "sklearn digits 8x8", "all (1797 images)"
                base, mults = args.base or 32, args.channel_mults or "1,2"
            else:
                source, _ = data_mod.load_mnist(args.mnist_root, split="test")
                dataset, split = "MNIST", f"t10k test split ({source.shape[0]:,} images)"
                base, mults = args.base or 16, args.channel_mults or "1,2,2"
            model = TinyUNet(in_channels=1, base=base, channel_mults=tuple(int(m) for m in mults.split(",")),
                             attention=not args.no_attention)
        print(f"{type(model).__name__}: {count_parameters(model):,} parameters; {schedule.describe()}")
        res = train_eps_model(model, source, schedule, steps, batch_size=batch_size, lr=lr, ema_decay=ema,
                              grad_clip=grad_clip, device=args.device, seed=args.seed,
                              progress=not args.no_progress, warmup_steps=args.warmup, max_time_s=max_time_s)
        save_model, schedule_config = res.best_model, schedule.config
        extra["weights"] = f"EMA (decay {ema})" if ema else "raw (no EMA)"

    extra.update(
        final_loss=round(res.final_loss, 6),
        final_loss_definition="mean training loss over the last 100 steps",
        loss_curve=_loss_curve(res.loss_history, max(1, steps // 100)),
        batch_size=batch_size, lr=lr, grad_clip=grad_clip, seed=args.seed, device=res.device,
        steps_requested=steps, stopped_by=res.extra.get("stopped_by"), threads=torch.get_num_threads(),
        parameters=count_parameters(save_model, trainable_only=False),
        interrupted=res.interrupted,
    )
    w, j = save_checkpoint(args.out, save_model, schedule_config=schedule_config, dataset=dataset, split=split,
                           steps=res.steps_done, command=command, wall_time_s=round(res.wall_time_s, 1),
                           extra=extra)
    status = {"steps": "", "time limit": " (time limit reached)"}.get(res.extra.get("stopped_by"), " (interrupted)")
    print(f"trained {res.steps_done} steps{status} in {res.wall_time_s:.1f} s wall on {res.device}; "
          f"final loss {res.final_loss:.4f}")
    print(f"wrote {w} ({w.stat().st_size / 1e6:.2f} MB) and {j}")
    return {"weights": str(w), "json": str(j), "wall_time_s": res.wall_time_s, "final_loss": res.final_loss}


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total wall time {time.perf_counter() - t0:.1f} s")
