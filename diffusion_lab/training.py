r"""One training loop for every ε-network (and a small one for the digit classifier).

Each step of :func:`train_eps_model` (DDPM's Algorithm 1, with code steps t = 0..T−1):

1. draw a batch x0 (batch, ...) from the data,
2. draw t ~ Uniform{0, ..., T−1} independently per sample and ε ~ N(0, I) of x0's shape,
3. noise in one closed-form jump: x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε   (``forward.q_sample``),
4. L_simple = mean over the batch and all coordinates of (ε − ε_θ(x_t, t))²,
5. one Adam step (optionally clipping the gradient norm), then update the EMA copy.

A ``KeyboardInterrupt`` (the notebook's stop button) ends training early and still returns the
model and the loss history so far, with ``interrupted=True``.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import torch
from torch import Tensor, nn
import torch.nn.functional as F

from .forward import q_sample

__all__ = [
    "TrainResult",
    "LossByT",
    "train_eps_model",
    "train_classifier",
    "loss_by_t",
    "resolve_device",
    "batch_stream",
    "classifier_accuracy",
]


@dataclass
class TrainResult:
    """What a training run returns.

    Attributes:
        model: the trained network (eval mode, on ``device``).
        ema_model: the exponential-moving-average copy (eval mode), or None without ``ema_decay``.
        loss_history: the training loss of every step done, as python floats.
        steps_done: how many optimisation steps ran (< steps if interrupted).
        wall_time_s: wall-clock seconds spent in the loop.
        interrupted: True if a KeyboardInterrupt stopped the loop early.
        device: the torch device used (as a string).
    """

    model: nn.Module
    ema_model: nn.Module | None
    loss_history: list[float]
    steps_done: int
    wall_time_s: float
    interrupted: bool
    device: str
    extra: dict = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        """Mean loss over the last min(100, steps_done) steps (nan if none)."""
        tail = self.loss_history[-100:]
        return sum(tail) / len(tail) if tail else float("nan")

    @property
    def best_model(self) -> nn.Module:
        """The EMA model if there is one (usually the better sampler), else the model."""
        return self.ema_model if self.ema_model is not None else self.model


def resolve_device(device="auto") -> torch.device:
    """``"auto"`` → cuda if available, else mps if available, else cpu; anything else → torch.device(device)."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def _first_tensor(batch):
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], Tensor):
        return batch[0]  # (images, labels) from a labelled DataLoader
    if isinstance(batch, dict) and "x0" in batch:
        return batch["x0"]
    raise TypeError(f"the data loader yielded {type(batch).__name__}; expected a tensor or (tensor, labels)")


def batch_stream(data_source, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    """Endless iterator of x0 batches from any supported data source.

    * ``Tensor`` (N, ...): ``batch_size`` rows drawn uniformly **with replacement** using ``generator``.
    * an object with ``.sample(n, generator=...)`` (a ``Distribution``): fresh samples each step.
    * any other iterable (``DataLoader``): its batches, restarted when exhausted (its own batch size
      and shuffling apply; ``(x, y)`` batches use x).
    """
    if isinstance(data_source, Tensor):
        if data_source.dim() < 2:
            raise ValueError(f"data tensor must be (N, ...) with a feature dimension; got shape {tuple(data_source.shape)}. "
                             "1D data must be shaped (N, 1).")
        n = data_source.shape[0]
        while True:
            yield data_source[torch.randint(0, n, (batch_size,), generator=generator)]
    elif hasattr(data_source, "sample") and callable(data_source.sample):
        while True:
            yield data_source.sample(batch_size, generator=generator)
    elif isinstance(data_source, Iterable):
        while True:
            empty = True
            for batch in data_source:
                empty = False
                yield _first_tensor(batch)
            if empty:
                raise ValueError("the data loader yielded no batches")
    else:
        raise TypeError(
            f"data_source must be a Tensor (N, ...), a Distribution with .sample(n, generator), or a DataLoader; "
            f"got {type(data_source).__name__}"
        )


@torch.no_grad()
def _ema_update(ema_params: list, model_params: list, ema_buffers: list, model_buffers: list, decay: float) -> None:
    """θ_ema ← θ_ema + (1 − decay)(θ − θ_ema) for all parameters in one fused call; buffers copied.

    Takes the parameter and buffer lists the training loop makes once, rather than walking both
    module trees every step."""
    torch._foreach_lerp_(ema_params, [p.detach() for p in model_params], 1.0 - decay)
    for be, bm in zip(ema_buffers, model_buffers):
        be.copy_(bm)


def _make_bar(total: int, progress: bool, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=True, dynamic_ncols=True)


@dataclass
class _LoopOutcome:
    history: list[float]
    interrupted: bool
    stopped_by: str
    wall_time_s: float

    def result(self, model: nn.Module, ema_model: nn.Module | None, device: torch.device) -> TrainResult:
        """The run as a :class:`TrainResult`, with the model switched to eval mode."""
        model.eval()
        return TrainResult(model=model, ema_model=ema_model, loss_history=self.history,
                           steps_done=len(self.history), wall_time_s=self.wall_time_s,
                           interrupted=self.interrupted, device=str(device),
                           extra={"stopped_by": self.stopped_by})


def _run_steps(one_step: Callable[[int], Tensor], steps: int, model: nn.Module, desc: str, progress: bool,
               log_every: int, callback, max_time_s: float | None) -> _LoopOutcome:
    """The scaffold every training loop shares, around ``one_step(step) -> loss`` (step from 1).

    Records each loss (a non-finite loss raises ``FloatingPointError``), shows a tqdm bar with a
    running loss, calls ``callback(step, loss, model)``, stops after the first step that ends past
    ``max_time_s`` seconds, and turns a ``KeyboardInterrupt`` into an early, orderly stop.
    """
    history: list[float] = []
    bar = _make_bar(steps, progress, desc)
    interrupted, stopped_by, running = False, "steps", None
    t0 = time.perf_counter()
    try:
        for step in range(1, steps + 1):
            value = float(one_step(step).detach())
            if not math.isfinite(value):
                raise FloatingPointError(f"loss became {value} at step {step}; lower lr or set grad_clip")
            history.append(value)
            running = value if running is None else 0.98 * running + 0.02 * value
            if bar is not None:
                bar.update(1)
                if step % max(1, log_every) == 0 or step == steps:
                    bar.set_postfix(loss=f"{running:.4f}")
            if callback is not None:
                callback(step, value, model)
            if max_time_s is not None and step < steps and time.perf_counter() - t0 >= max_time_s:
                stopped_by = "time limit"
                break
    except KeyboardInterrupt:
        interrupted, stopped_by = True, "KeyboardInterrupt"
    finally:
        if bar is not None:
            bar.close()
    return _LoopOutcome(history, interrupted, stopped_by, time.perf_counter() - t0)


def train_eps_model(
    model: nn.Module,
    data_source,
    schedule,
    steps: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    ema_decay: float | None = None,
    grad_clip: float | None = None,
    device="auto",
    generator: torch.Generator | None = None,
    seed: int = 0,
    progress: bool = True,
    log_every: int = 50,
    callback: Callable[[int, float, nn.Module], None] | None = None,
    warmup_steps: int = 0,
    max_time_s: float | None = None,
) -> TrainResult:
    r"""Train ε_θ with L_simple = mean ‖ε − ε_θ(√ᾱ_t x0 + √(1−ᾱ_t) ε, t)‖² (per coordinate).

    Args:
        model: ``model(x_t, t) -> ε̂`` with x_t's shape; moved to ``device`` and trained in place.
        data_source: Tensor (N, ...) of x0, a ``Distribution`` (``.sample(n, generator)``), or a
            DataLoader (see :func:`batch_stream`).
        schedule: ``NoiseSchedule`` (gives ᾱ_t; t is drawn uniformly from 0..T−1).
        steps: number of optimisation steps.
        batch_size: samples per step (tensor and distribution sources).
        lr: Adam learning rate (linearly warmed up over ``warmup_steps``).
        ema_decay: if set (e.g. 0.999), keep θ_ema ← decay·θ_ema + (1−decay)·θ after every step.
        grad_clip: if set, clip the global gradient norm to this value.
        device: ``"auto"`` (cuda → mps → cpu) or a device.
        generator: the CPU ``torch.Generator`` for batches, t and ε; default ``Generator().manual_seed(seed)``.
        seed: used only when ``generator`` is None.
        progress: show a ``tqdm.auto`` bar with the running loss.
        log_every: refresh the bar's running loss every this many steps.
        callback: called as ``callback(step, loss, model)`` after each step (step counts from 1);
            it may raise KeyboardInterrupt to stop early.
        warmup_steps: linear learning-rate warm-up length.
        max_time_s: stop after the first step that ends past this many seconds of wall time
            (``extra["stopped_by"] = "time limit"``; not counted as interrupted).

    Returns: :class:`TrainResult` (model and EMA model in eval mode).
    """
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if ema_decay is not None and not 0.0 < ema_decay < 1.0:
        raise ValueError(f"ema_decay must be in (0, 1) (e.g. 0.999) or None, got {ema_decay}")
    dev = resolve_device(device)
    if generator is None:
        generator = torch.Generator().manual_seed(seed)
    model.to(dev).train()
    ema = copy.deepcopy(model).eval().requires_grad_(False) if ema_decay is not None else None
    params = list(model.parameters())
    if ema is not None:
        ema_params, ema_buffers, model_buffers = list(ema.parameters()), list(ema.buffers()), list(model.buffers())
    # foreach: one fused update for all parameters (the same numbers as the per-tensor loop, faster)
    opt = torch.optim.Adam(params, lr=lr, foreach=True)
    T = schedule.T
    stream = batch_stream(data_source, batch_size, generator)

    def one_step(step: int) -> Tensor:
        x0 = next(stream).to(torch.float32)
        t = torch.randint(0, T, (x0.shape[0],), generator=generator)
        eps = torch.randn(x0.shape, generator=generator)
        x_t = q_sample(schedule, x0, t, noise=eps)
        x_t, t, eps = x_t.to(dev), t.to(dev), eps.to(dev)
        if warmup_steps:
            for g in opt.param_groups:
                g["lr"] = lr * min(1.0, step / warmup_steps)
        loss = F.mse_loss(model(x_t, t), eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        opt.step()
        if ema is not None:
            _ema_update(ema_params, params, ema_buffers, model_buffers, ema_decay)
        return loss

    run = _run_steps(one_step, steps, model, f"training {type(model).__name__}", progress, log_every,
                     callback, max_time_s)
    return run.result(model, ema, dev)


def train_classifier(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    steps: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    device="auto",
    generator: torch.Generator | None = None,
    seed: int = 0,
    progress: bool = True,
    log_every: int = 50,
    augment_shift: int = 0,
    callback: Callable[[int, float, nn.Module], None] | None = None,
    max_time_s: float | None = None,
) -> TrainResult:
    """Cross-entropy training of a classifier on (images (N, C, H, W), labels (N,)); same result type.

    Batches are drawn with replacement by ``generator``. ``augment_shift`` > 0 randomly translates
    each image by up to that many pixels (zero fill with −1, the background value).
    ``max_time_s`` and KeyboardInterrupt behave as in :func:`train_eps_model`.
    """
    dev = resolve_device(device)
    if generator is None:
        generator = torch.Generator().manual_seed(seed)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    model.to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def one_step(step: int) -> Tensor:
        idx = torch.randint(0, images.shape[0], (batch_size,), generator=generator)
        x, y = images[idx].to(torch.float32), labels[idx]
        if augment_shift:
            x = _random_shift(x, augment_shift, generator)
        loss = F.cross_entropy(model(x.to(dev)), y.to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    run = _run_steps(one_step, steps, model, f"training {type(model).__name__}", progress, log_every,
                     callback, max_time_s)
    return run.result(model, None, dev)


def _random_shift(x: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    """Translate each image (B, C, H, W) by integer (dy, dx) ∈ [−s, s]², filling with −1."""
    B, C, H, W = x.shape
    s = max_shift
    padded = F.pad(x, (s, s, s, s), value=-1.0)
    shifts = torch.randint(0, 2 * s + 1, (B, 2), generator=generator)
    out = torch.empty_like(x)
    for i in range(B):
        dy, dx = int(shifts[i, 0]), int(shifts[i, 1])
        out[i] = padded[i, :, dy:dy + H, dx:dx + W]
    return out


@torch.no_grad()
def classifier_accuracy(model: nn.Module, images: Tensor, labels: Tensor, batch_size: int = 500) -> float:
    """Fraction of images (N, C, H, W) whose argmax logit equals the label."""
    model.eval()
    dev = next(model.parameters()).device
    correct = 0
    for i in range(0, images.shape[0], batch_size):
        pred = model(images[i:i + batch_size].to(dev, torch.float32)).argmax(1).cpu()
        correct += int((pred == labels[i:i + batch_size]).sum())
    return correct / images.shape[0]


@dataclass
class LossByT:
    """Mean L_simple per bucket of time steps.

    Attributes:
        t_edges: (num_buckets + 1,) bucket boundaries; bucket i holds t in [t_edges[i], t_edges[i+1]).
        t_mid: (num_buckets,) bucket centres (for plotting).
        loss: (num_buckets,) mean per-sample loss mean_coords (ε − ε̂)² in each bucket.
        sem: (num_buckets,) standard error of that mean.
    """

    t_edges: Tensor
    t_mid: Tensor
    loss: Tensor
    sem: Tensor


@torch.no_grad()
def loss_by_t(model, data, schedule, num_buckets: int = 10, samples_per_bucket: int = 256,
              generator: torch.Generator | None = None, batch_size: int = 512, device=None) -> LossByT:
    """How hard is denoising at each t? Mean L_simple of ``model`` per bucket of time steps.

    For each of ``num_buckets`` equal-width buckets of 0..T−1, draws ``samples_per_bucket`` pairs
    (x0 from ``data``, t uniform in the bucket, ε ~ N(0, I)) and averages
    mean_coords (ε − ε_θ(x_t, t))². ``data`` is any source accepted by :func:`batch_stream`;
    ``model`` may also be a plain callable ``(x_t, t) -> ε̂`` such as ``GaussianMixture.eps_model``.
    """
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    T = schedule.T
    if not 1 <= num_buckets <= T:
        raise ValueError(f"num_buckets must be between 1 and T={T}, got {num_buckets}")
    if isinstance(model, nn.Module):
        was_training = model.training
        model.eval()
        dev = device or next(model.parameters()).device
    else:
        was_training, dev = None, device or "cpu"
    edges = torch.linspace(0, T, num_buckets + 1).round().long()
    stream = batch_stream(data, samples_per_bucket, generator)
    means, sems = [], []
    try:
        for i in range(num_buckets):
            lo, hi = int(edges[i]), int(edges[i + 1])
            x0 = next(stream).to(torch.float32)[:samples_per_bucket]
            t = torch.randint(lo, max(hi, lo + 1), (x0.shape[0],), generator=generator)
            eps = torch.randn(x0.shape, generator=generator)
            x_t = q_sample(schedule, x0, t, noise=eps)
            per = []
            for j in range(0, x0.shape[0], batch_size):
                pred = model(x_t[j:j + batch_size].to(dev), t[j:j + batch_size].to(dev)).to("cpu", torch.float32)
                per.append((pred - eps[j:j + batch_size]).pow(2).reshape(pred.shape[0], -1).mean(1))
            per = torch.cat(per).double()
            means.append(per.mean())
            sems.append(per.std() / math.sqrt(per.numel()) if per.numel() > 1 else torch.tensor(float("nan")))
    finally:
        if was_training:
            model.train()
    e = edges.double()
    return LossByT(t_edges=edges, t_mid=(e[:-1] + e[1:] - 1) / 2, loss=torch.stack(means), sem=torch.stack(sems))
