"""Command line: train one of the course's models with the project's own code and save a checkpoint.

Examples (the exact commands of the shipped checkpoints are in data/README.md):

    python -m diffusion_lab.train --model mlp2d --steps 6000 --out data/mlp2d_ring8
    python -m diffusion_lab.train --model unet-digits --split train --steps 1800 --out data/unet_digits
    python -m diffusion_lab.train --model unet-mnist --steps 900 --out data/unet_mnist
    python -m diffusion_lab.train --model classifier-digits --steps 600 --out data/classifier_digits

Class-conditional ε-models (for classifier-free guidance) learn from the digit labels of the data
set; each label is replaced by "no label" with probability --label-dropout, so one network gives
both ε(x_t, t, y) and ε(x_t, t, ∅):

    python -m diffusion_lab.train --model unet-digits --num-classes 10 --label-dropout 0.1 --out data/cunet

Writes OUT.safetensors + OUT.json (see diffusion_lab.checkpoints) and prints the wall time.
--threads 1 is faster than the default 2 when another process already keeps a core busy.

Long runs survive interruption. An ε-model run saves its whole training state (model, EMA, Adam
moments, step, RNG states, loss history; safetensors + JSON, no pickle) to OUT.resume.json +
OUT.resume.stepN.safetensors, and OUT itself, every --save-minutes minutes (and every --save-every
steps if given) and when it stops. Ctrl-C or SIGTERM finishes the current step, saves and stops
(OUT.json then says "interrupted": true); a second Ctrl-C stops at once, keeping the last save.
Run the same command with --resume added to continue where it stopped (--steps may be raised to
train longer); the losses are those of an uninterrupted run. OUT.json records the first command,
every session (command, steps, wall time), the total steps and the total wall time.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import time
from pathlib import Path

import torch

from .data import MNIST_HELDOUT_START

MODEL_CHOICES = ("mlp2d", "unet-digits", "unet-mnist", "classifier-digits", "classifier-mnist")

# per-model defaults; every one can be overridden on the command line
DEFAULTS = {
    "mlp2d": dict(steps=6000, batch_size=256, lr=1e-3, ema=0.995, schedule="linear", T=1000),
    "unet-digits": dict(steps=1800, batch_size=128, lr=2e-3, ema=0.995, schedule="linear", T=1000),
    "unet-mnist": dict(steps=900, batch_size=64, lr=2e-3, ema=0.995, schedule="linear", T=1000),
    "classifier-digits": dict(steps=600, batch_size=128, lr=2e-3, ema=None, schedule=None, T=None),
    "classifier-mnist": dict(steps=800, batch_size=128, lr=2e-3, ema=None, schedule=None, T=None),
}

MNIST_CLASSIFIER_TRAIN = MNIST_HELDOUT_START  # t10k 0..7999 train the MNIST classifier, 8000..9999 test it
DIGITS_TEST_IMAGES = 359       # data.load_digits_8x8("test"): the 8×8 digits the classifier and --split train hold out
RESUME_SUFFIX = ".resume"      # OUT.resume.json + OUT.resume.stepN.safetensors hold the training state
SAME_COMMAND = ("resume with the command that started the run plus --resume (only --steps, --max-minutes, --threads, "
                "--device, --no-progress and --save-* may change)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m diffusion_lab.train", description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_argument_group("what to train")
    what.add_argument("--model", required=True, choices=MODEL_CHOICES)
    what.add_argument("--out", required=True, metavar="PATH", help="output path stem, e.g. data/unet_digits")
    what.add_argument("--distribution", default="ring", metavar="NAME",
                      help="mlp2d: make_distribution name (default ring: 8 Gaussians)")
    what.add_argument("--mnist-root", metavar="DIR",
                      help="folder with the MNIST IDX .gz files (default: the search order of data.load_mnist)")
    what.add_argument("--split", choices=("all", "train"), default="all",
                      help="unet-digits/unet-mnist: the images an ε-model learns from. 'train' leaves out the "
                           "held-out block the course evaluates on (metrics.heldout_digits): the 359 test images "
                           "of the 8×8 digits, MNIST t10k images 8000..9999 (the classifiers' test images); "
                           "default 'all' (every image)")

    opt = p.add_argument_group("optimisation (defaults depend on --model)")
    def per_model(key):
        return ", ".join(f"{m} {d[key]}" for m, d in DEFAULTS.items())

    opt.add_argument("--steps", type=int, metavar="N", help=f"total optimisation steps ({per_model('steps')})")
    opt.add_argument("--batch-size", type=int, metavar="N", help=f"samples per step ({per_model('batch_size')})")
    opt.add_argument("--lr", type=float, help=f"Adam learning rate ({per_model('lr')})")
    opt.add_argument("--ema", type=float, metavar="DECAY", help="EMA decay of the saved ε-model weights "
                     "(e.g. 0.999); 0 saves the raw weights")
    opt.add_argument("--grad-clip", type=float, default=1.0, metavar="NORM",
                     help="max gradient norm (0 disables; default 1.0)")
    opt.add_argument("--warmup", type=int, default=100, metavar="N", help="linear lr warm-up steps (default 100)")
    opt.add_argument("--seed", type=int, default=0,
                     help="seed of the initial weights, the batches, t, ε and label dropout (default 0)")

    shape = p.add_argument_group("model and noise schedule")
    shape.add_argument("--schedule", metavar="NAME", help="noise schedule name (default linear)")
    shape.add_argument("--T", type=int, help="number of diffusion steps (default 1000)")
    shape.add_argument("--hidden", type=int, default=128, metavar="N", help="mlp2d: hidden width (default 128)")
    shape.add_argument("--depth", type=int, default=3, metavar="N", help="mlp2d: residual blocks (default 3)")
    shape.add_argument("--base", type=int, metavar="N",
                       help="unet/classifier width (unet default 32 digits, 16 mnist; classifier 32)")
    shape.add_argument("--channel-mults", metavar="M,M,..",
                       help="unet: width multipliers per level (default 1,2 digits; 1,2,2 mnist)")
    shape.add_argument("--no-attention", action="store_true", help="unet: no self-attention in the middle")
    shape.add_argument("--cross-attention", action="store_true",
                       help="unet with --num-classes: the label enters as prompt tokens read by cross-attention "
                            "blocks (default: its embedding is added to the time embedding)")

    labels = p.add_argument_group("class labels (ε-models)")
    labels.add_argument("--num-classes", type=int, default=0, metavar="K",
                        help="condition on K class labels (10 for the digit data sets); 0 = unconditional (default)")
    labels.add_argument("--label-dropout", type=float, default=0.0, metavar="P",
                        help="probability p_uncond that a label is replaced by 'no label' (e.g. 0.1; default 0); "
                             "may change on --resume, e.g. to train the unconditional branch more (each "
                             "session records its p)")

    run = p.add_argument_group("running, saving and resuming")
    run.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, ...")
    run.add_argument("--threads", type=int, default=2, metavar="N", help="torch CPU threads (default 2)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--max-minutes", type=float, metavar="MIN",
                     help="stop this session after this much training wall time (recorded; --resume continues)")
    run.add_argument("--resume", action="store_true",
                     help="ε-models: continue from OUT.resume.json, saved by an earlier run of the same command")
    run.add_argument("--save-minutes", type=float, default=10.0, metavar="MIN",
                     help="ε-models: save the training state and OUT every MIN minutes (default 10)")
    run.add_argument("--save-every", type=int, metavar="N", help="ε-models: also save every N steps")
    return p


def _loss_curve(history: list[float], every: int) -> dict:
    means = [sum(history[i:i + every]) / len(history[i:i + every]) for i in range(0, len(history), every)]
    return {"every": every, "mean_loss": [round(m, 6) for m in means]}


def _final_loss(history: list[float]) -> float:
    tail = history[-100:]
    return sum(tail) / len(tail) if tail else float("nan")


def _run_info(history: list[float], steps_requested: int, stopped_by: str | None, interrupted: bool,
              **settings) -> dict:
    """The JSON fields every CLI checkpoint records about its run (besides the standard ones)."""
    return dict(
        final_loss=round(_final_loss(history), 6),
        final_loss_definition="mean training loss over the last 100 steps",
        loss_curve=_loss_curve(history, max(1, steps_requested // 100)),
        **settings, steps_requested=steps_requested, stopped_by=stopped_by, threads=torch.get_num_threads(),
        interrupted=interrupted,
    )


class _StopRequests:
    """SIGINT/SIGTERM → finish the current step, save, stop; a second signal stops at once."""

    def __init__(self):
        self.requested = False
        self._old = {}

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(f"\n{signal.Signals(signum).name}: stopping after this step and saving (again to stop at once)",
              file=sys.stderr, flush=True)

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: keep the default behaviour
                pass
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def check(self, step, loss, model) -> None:
        if self.requested:
            raise KeyboardInterrupt


def _resume_stem(out) -> Path:
    return Path(str(out) + RESUME_SUFFIX)


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    d = DEFAULTS[args.model]
    steps = args.steps if args.steps is not None else d["steps"]
    batch_size = args.batch_size or d["batch_size"]
    lr = args.lr or d["lr"]
    ema = d["ema"] if args.ema is None else (args.ema or None)
    grad_clip = args.grad_clip or None
    command = "python -m diffusion_lab.train " + shlex.join(argv)
    max_time_s = None if args.max_minutes is None else 60.0 * args.max_minutes
    classifier = args.model.startswith("classifier")
    if classifier and (args.num_classes or args.label_dropout or args.resume):
        parser.error("--num-classes, --label-dropout and --resume apply to ε-models (mlp2d, unet-digits, unet-mnist)")
    if args.num_classes < 0 or not 0.0 <= args.label_dropout <= 1.0:
        parser.error("--num-classes must be >= 0 and --label-dropout a probability in [0, 1]")
    if args.cross_attention and not (args.num_classes and args.model.startswith("unet")):
        parser.error("--cross-attention needs a U-Net with labels: --model unet-digits/unet-mnist --num-classes K")
    if args.label_dropout and not args.num_classes:
        parser.error("--label-dropout needs --num-classes K (a label-conditioned model)")
    if args.split != "all" and not args.model.startswith("unet"):
        parser.error("--split applies to unet-digits and unet-mnist (the classifiers always train on their train "
                     "split; mlp2d draws fresh samples)")
    if args.save_minutes <= 0 or (args.save_every is not None and args.save_every < 1):
        parser.error("--save-minutes must be > 0 and --save-every >= 1")

    torch.manual_seed(args.seed)  # the initial weights (batches, t and ε come from train_*'s own generator)
    from . import data as data_mod
    from .checkpoints import load_training_state, save_checkpoint, save_training_state
    from .models import DigitClassifier, TimeMLP, TinyUNet, count_parameters
    from .training import classifier_accuracy, resolve_device, train_classifier, train_eps_model

    if classifier:
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
        print(f"held-out accuracy: {acc:.4f} on {len(y_te)} images")
        extra = dict(test_accuracy=round(acc, 4), test_images=len(y_te), **_run_info(
            res.loss_history, steps, res.extra.get("stopped_by"), res.interrupted, batch_size=batch_size, lr=lr,
            grad_clip=grad_clip, seed=args.seed, device=res.device,
            parameters=count_parameters(res.model, trainable_only=False)))
        w, j = save_checkpoint(args.out, res.model, schedule_config=None, dataset=dataset, split=split,
                               steps=res.steps_done, command=command, wall_time_s=round(res.wall_time_s, 1),
                               extra=extra)
        _report(res.steps_done, res.extra.get("stopped_by"), res.wall_time_s, res.device, res.final_loss, w, j)
        return {"weights": str(w), "json": str(j), "wall_time_s": res.wall_time_s, "final_loss": res.final_loss}

    from .schedules import make_schedule

    schedule = make_schedule(args.schedule or d["schedule"], args.T or d["T"])
    num_classes = args.num_classes or None
    if args.model == "mlp2d":
        from .distributions import make_distribution

        source = make_distribution(args.distribution)
        if num_classes and not callable(getattr(source, "sample_labelled", None)):
            parser.error(f"--num-classes needs labelled data: make_distribution({args.distribution!r}) has no labels "
                         "(use unet-digits or unet-mnist, whose images carry digit labels)")
        model = TimeMLP(data_dim=2, hidden=args.hidden, depth=args.depth, T=schedule.T, num_classes=num_classes)
        dataset, split = f"make_distribution({args.distribution!r}) (default kwargs)", "fresh samples every step"
    else:
        if args.model == "unet-digits":
            images, labels = data_mod.load_digits_8x8(args.split)
            dataset = "sklearn digits 8x8"
            split = ("all (1797 images)" if args.split == "all" else
                     f"train ({images.shape[0]} images; the {DIGITS_TEST_IMAGES} test images held out)")
            base, mults = args.base or 32, args.channel_mults or "1,2"
        else:
            images, labels = data_mod.load_mnist(args.mnist_root, split="test")
            dataset, split = "MNIST", f"t10k test split ({images.shape[0]:,} images)"
            if args.split == "train":
                n = MNIST_CLASSIFIER_TRAIN
                images, labels = images[:n], labels[:n]
                split = f"t10k test split: images 0..{n - 1} ({n:,}); {n}..9999 held out"
            base, mults = args.base or 16, args.channel_mults or "1,2,2"
        source = (images, labels) if num_classes else images
        if num_classes:
            dataset += f", with its digit labels (0..{int(labels.max())})"
        model = TinyUNet(in_channels=1, base=base, channel_mults=tuple(int(m) for m in mults.split(",")),
                         attention=not args.no_attention, num_classes=num_classes,
                         conditioning="cross_attention" if args.cross_attention else "embedding")

    # what a resumed run must share with the run it continues (the rest is checked by train_eps_model)
    run_identity = {"model": args.model, "dataset": dataset, "split": split}
    resume_stem = _resume_stem(args.out)
    resume_json = resume_stem.with_name(resume_stem.name + ".json")
    sessions: list[dict] = []
    first_command = command
    resume_state = None
    if args.resume:
        if not resume_json.is_file():
            parser.error(f"--resume: no saved training state {resume_json}; run without --resume to start")
        resume_state, saved = load_training_state(resume_stem)
        changed = {k: (saved.get("run", {}).get(k), v) for k, v in run_identity.items()
                   if saved.get("run", {}).get(k) != v}
        if changed:
            parser.error("--resume: the saved run differs (" +
                         "; ".join(f"{k}: saved {old!r}, now {new!r}" for k, (old, new) in changed.items()) +
                         f"); {SAME_COMMAND}")
        sessions, first_command = list(saved.get("sessions", [])), saved.get("command", command)
        print(f"resuming from step {resume_state.step} ({resume_json}); "
              f"{resume_state.wall_time_s:.1f} s trained so far")
    elif resume_json.is_file():
        try:
            saved = json.loads(resume_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = {}  # unreadable: nothing to protect, a fresh run replaces it
        if isinstance(saved, dict) and saved.get("step", 0) < saved.get("steps_requested", 0):
            parser.error(f"{resume_json} holds an unfinished run (step {saved['step']} of {saved['steps_requested']}); "
                         f"add --resume to continue it, or delete {resume_json} to start over")

    print(f"{type(model).__name__}: {count_parameters(model):,} parameters; {schedule.describe()}")
    weights_label = f"EMA (decay {ema})" if ema else "raw (no EMA)"
    start_step = resume_state.step if resume_state is not None else 0
    session = {"command": command, "from_step": start_step}
    if num_classes:
        session["label_dropout"] = args.label_dropout       # may change between sessions (RESUME_MAY_CHANGE)

    device = str(resolve_device(args.device))

    def write_checkpoint(weights: dict, history: list[float], wall_time_s: float, stopped_by: str,
                         interrupted: bool, this_session: dict):
        info = _run_info(history, steps, stopped_by, interrupted, batch_size=batch_size, lr=lr, grad_clip=grad_clip,
                         warmup_steps=args.warmup, seed=args.seed, device=device,
                         parameters=count_parameters(model, trainable_only=False), weights=weights_label,
                         sessions=sessions + [this_session])
        if num_classes:
            info.update(num_classes=num_classes, null_label=model.null_label, label_dropout=args.label_dropout)
        return save_checkpoint(args.out, weights, config=model.config, schedule_config=schedule.config,
                               dataset=dataset, split=split, steps=len(history), command=first_command,
                               wall_time_s=round(wall_time_s, 1), extra=info)

    earlier_wall_time_s = resume_state.wall_time_s if resume_state is not None else 0.0

    def on_state(state) -> None:
        session_now = dict(session, to_step=state.step, wall_time_s=round(state.wall_time_s - earlier_wall_time_s, 1))
        save_training_state(resume_stem, state, extra={
            "command": first_command, "sessions": sessions + [session_now], "steps_requested": steps,
            "run": run_identity})
        write_checkpoint(state.ema_state if state.ema_state is not None else state.model_state, state.loss_history,
                         state.wall_time_s, "saved while training" if state.step < steps else "steps",
                         False, session_now)

    with _StopRequests() as stop:
        try:
            res = train_eps_model(model, schedule, source, steps, batch_size=batch_size, lr=lr, ema_decay=ema,
                                  grad_clip=grad_clip, device=args.device, seed=args.seed,
                                  progress=not args.no_progress, warmup_steps=args.warmup, max_time_s=max_time_s,
                                  label_dropout=args.label_dropout, callback=stop.check, resume=resume_state,
                                  on_state=on_state, state_every_steps=args.save_every,
                                  state_every_s=60.0 * args.save_minutes)
        except ValueError as e:
            if resume_state is None or not str(e).startswith("cannot resume"):
                raise
            parser.error(f"--resume: {e}; {SAME_COMMAND}")
    session_wall_time_s = res.wall_time_s - earlier_wall_time_s
    session.update(to_step=res.steps_done, wall_time_s=round(session_wall_time_s, 1))
    w, j = write_checkpoint(res.best_model.state_dict(), res.loss_history, res.wall_time_s,
                            res.extra.get("stopped_by"), res.interrupted, session)
    _report(res.steps_done - start_step, res.extra.get("stopped_by"), session_wall_time_s, res.device,
            res.final_loss, w, j)
    if res.steps_done < steps:
        print(f"{res.steps_done} of {steps} steps done; continue with: {command} --resume"
              if not args.resume else f"{res.steps_done} of {steps} steps done; run the same command to continue")
    return {"weights": str(w), "json": str(j), "wall_time_s": res.wall_time_s, "final_loss": res.final_loss,
            "steps_done": res.steps_done, "loss_history": res.loss_history}


def _report(steps_done: int, stopped_by: str | None, wall_time_s: float, device: str, final_loss: float,
            w: Path, j: Path) -> None:
    status = {"steps": "", "time limit": " (time limit reached)"}.get(stopped_by, " (interrupted)")
    print(f"trained {steps_done} steps{status} in {wall_time_s:.1f} s wall on {device}; final loss {final_loss:.4f}")
    print(f"wrote {w} ({w.stat().st_size / 1e6:.2f} MB) and {j}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total wall time {time.perf_counter() - t0:.1f} s")
