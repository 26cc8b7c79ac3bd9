r"""One training loop for every ε-network (and a small one for the digit classifier).

Each step of :func:`train_eps_model` (DDPM's Algorithm 1, with code steps t = 0..T−1):

1. draw a batch x0 (batch, ...) from the data (with its labels y for a label-conditioned model),
2. draw t ~ Uniform{0, ..., T−1} independently per sample and ε ~ N(0, I) of x0's shape,
3. noise in one closed-form jump: x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε   (the formula of ``forward.q_sample``),
4. for a conditioned model, replace each label by the "no label" index ∅ with probability
   ``label_dropout`` (p_uncond), so the one network learns ε(x_t, t, y) and ε(x_t, t, ∅),
5. L_simple = mean over the batch and all coordinates of (ε − ε_θ(x_t, t[, y]))²,
6. one Adam step (optionally clipping the gradient norm), then update the EMA copy.

Checks happen once, at the boundary: :func:`train_eps_model` validates its arguments and the data
source before the first step; the per-step code indexes precomputed √ᾱ_t, √(1−ᾱ_t) tables and
does not re-validate t or finiteness (only the loss is checked for NaN/inf, which names the fix).

A ``KeyboardInterrupt`` (the notebook's stop button) ends training early and still returns the
model and the loss history so far, with ``interrupted=True``.

Long runs can be resumed exactly: :func:`train_eps_model` hands a :class:`TrainingState` (model,
EMA, Adam state, step, RNG states, loss history, wall time) to ``on_state`` every so many steps or
seconds and when it stops; passing that state back as ``resume=`` continues the run with the same
losses as an uninterrupted one. ``checkpoints.save_training_state`` / ``load_training_state``
store it as safetensors + JSON (no pickle); ``python -m diffusion_lab.train --resume`` uses them.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import torch
from torch import Tensor, nn
import torch.nn.functional as F

from .forward import q_sample
from .models import conditioning_classes

__all__ = [
    "TrainResult",
    "TrainingState",
    "LossByT",
    "LossAgainstFloor",
    "train_eps_model",
    "train_classifier",
    "loss_by_t",
    "loss_against_floor",
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
        loss_history: the training loss of every step done, as python floats (a resumed run
            includes the steps before the resume).
        steps_done: how many optimisation steps the model has had (< steps if stopped early).
        wall_time_s: wall-clock seconds spent in the loop (a resumed run adds the earlier sessions;
            ``extra["session_wall_time_s"]`` is this call's share).
        interrupted: True if a KeyboardInterrupt stopped the loop early.
        device: the torch device used (as a string).
        extra: ``stopped_by`` ("steps", "time limit" or "KeyboardInterrupt"); after a resume also
            ``resumed_from_step`` and ``session_wall_time_s``.
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


@dataclass
class TrainingState:
    """Everything :func:`train_eps_model` needs to continue a run after ``step`` steps exactly.

    All tensors are CPU copies (the run goes on changing its own). Store it with
    ``checkpoints.save_training_state`` (safetensors + JSON, no pickle).

    Attributes:
        step: optimisation steps done.
        model_state: the model's ``state_dict``.
        ema_state: the EMA copy's ``state_dict`` (None without EMA).
        optimizer_state: Adam's ``state_dict`` (per-parameter moments and step counts, group options).
        generator_state: the loop generator's state (batches, t, ε and label dropout come from it).
        torch_rng_state: torch's global CPU RNG state (used by dropout layers inside the model).
        loss_history: the loss of every step so far.
        wall_time_s: training wall time so far, summed over sessions.
        settings: the numbers that must not change on resume (batch size, lr, warm-up, EMA decay,
            gradient clip, label dropout, schedule config, model config); the learning rate at
            step s is ``lr · min(1, s / warmup_steps)``, so these and ``step`` are the whole
            learning-rate schedule state.
    """

    step: int
    model_state: dict[str, Tensor]
    ema_state: dict[str, Tensor] | None
    optimizer_state: dict
    generator_state: Tensor
    torch_rng_state: Tensor
    loss_history: list[float]
    wall_time_s: float
    settings: dict


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


# ---------------------------------------------------------------------------------------------
# data sources
# ---------------------------------------------------------------------------------------------
def _is_labelled_pair(data_source) -> bool:
    """``(x0 (N, ...), labels (N,))``: a tuple of a data tensor and one integer label per row."""
    return (isinstance(data_source, tuple) and len(data_source) == 2
            and all(isinstance(v, Tensor) for v in data_source)
            and data_source[1].dim() == 1 and not data_source[1].is_floating_point()
            and data_source[0].dim() >= 1 and data_source[0].shape[0] == data_source[1].shape[0])


def _check_data_source(data_source, labelled: bool | None, num_classes: int = 0) -> None:
    """Validate a data source once, before any batch is drawn (see :func:`batch_stream`)."""
    if isinstance(data_source, Tensor) or _is_labelled_pair(data_source):
        x0 = data_source if isinstance(data_source, Tensor) else data_source[0]
        if x0.dim() < 2:
            raise ValueError(f"data tensor must be (N, ...) with a feature dimension; got shape {tuple(x0.shape)}. "
                             "1D data must be shaped (N, 1).")
        if x0.shape[0] == 0:
            raise ValueError("the data tensor is empty (N = 0)")
        if labelled and isinstance(data_source, Tensor):
            raise ValueError("a label-conditioned model needs labels: pass data_source=(x0, labels) with labels an "
                             "int tensor (N,), e.g. data_source=load_digits_8x8()")
        if labelled and num_classes:
            y = data_source[1]
            if int(y.min()) < 0 or int(y.max()) >= num_classes:
                raise ValueError(f"labels must be class indices 0..{num_classes - 1} for a model with "
                                 f"num_classes={num_classes}; got values {int(y.min())}..{int(y.max())}")
    elif hasattr(data_source, "sample") and callable(data_source.sample):
        if labelled and not callable(getattr(data_source, "sample_labelled", None)):
            raise ValueError(f"a label-conditioned model needs labelled samples, but {type(data_source).__name__} has "
                             "no .sample_labelled(n, generator=...) -> (x0, y); pass (x0, labels) tensors instead")
    elif isinstance(data_source, tuple):
        shapes = [tuple(v.shape) if isinstance(v, Tensor) else type(v).__name__ for v in data_source]
        raise TypeError(f"a tuple data source must be (x0 (N, ...), labels (N,)) with integer labels, one per row; "
                        f"got {shapes}")
    elif isinstance(data_source, Iterable) and not isinstance(data_source, (str, bytes)):
        pass  # a DataLoader: its batches are checked as they come (labels must be there if needed)
    else:
        raise TypeError(
            f"data_source must be a Tensor (N, ...), a tuple (x0, labels), a Distribution with .sample(n, generator), "
            f"or a DataLoader; got {type(data_source).__name__}"
        )


def _split_batch(batch, labelled: bool | None) -> tuple[Tensor, Tensor | None]:
    """A DataLoader batch → (x0, y or None): a tensor, ``(x, y, ...)`` or a dict with ``"x0"`` (and ``"y"``)."""
    if isinstance(batch, Tensor):
        x, y = batch, None
    elif isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], Tensor):
        x = batch[0]  # (images, labels) from a labelled DataLoader
        y = batch[1] if len(batch) > 1 and isinstance(batch[1], Tensor) else None
    elif isinstance(batch, dict) and "x0" in batch:
        x, y = batch["x0"], batch.get("y")
    else:
        raise TypeError(f"the data loader yielded {type(batch).__name__}; expected a tensor, (tensor, labels) "
                        "or a dict with 'x0' (and 'y')")
    if labelled and y is None:
        raise ValueError("a label-conditioned model needs labels, but the data loader's batches have none; "
                         "make it yield (x0, labels) or a dict with 'x0' and 'y'")
    return x, (None if labelled is False else y)


def _batches(data_source, batch_size: int, generator: torch.Generator,
             labelled: bool | None) -> Iterator[tuple[Tensor, Tensor | None]]:
    """The unchecked batch iterator behind :func:`batch_stream` (the source was validated)."""
    if isinstance(data_source, Tensor) or _is_labelled_pair(data_source):
        x0, y = (data_source, None) if isinstance(data_source, Tensor) else data_source
        n = x0.shape[0]
        y = None if labelled is False else y
        while True:
            idx = torch.randint(0, n, (batch_size,), generator=generator)
            yield x0[idx], (None if y is None else y[idx])
    elif hasattr(data_source, "sample") and callable(data_source.sample):
        labelled = labelled is True or (labelled is None and callable(getattr(data_source, "sample_labelled", None)))
        while True:
            if labelled:
                yield data_source.sample_labelled(batch_size, generator=generator)
            else:
                yield data_source.sample(batch_size, generator=generator), None
    else:
        while True:
            empty = True
            for batch in data_source:
                empty = False
                yield _split_batch(batch, labelled)
            if empty:
                raise ValueError("the data loader yielded no batches")


def batch_stream(data_source, batch_size: int, generator: torch.Generator,
                 labelled: bool | None = False) -> Iterator[tuple[Tensor, Tensor | None]]:
    """Endless iterator of ``(x0, y)`` batches from any supported data source (checked here, once).

    * ``Tensor`` (N, ...): ``batch_size`` rows drawn uniformly **with replacement** using ``generator``.
    * ``(x0, labels)``: a tuple of x0 (N, ...) and integer labels (N,) (e.g. ``load_digits_8x8()``);
      rows drawn as for a tensor, each with its label.
    * an object with ``.sample(n, generator=...)`` (a ``Distribution``): fresh samples each step;
      labelled samples come from its ``.sample_labelled(n, generator=...) -> (x0, y)``.
    * any other iterable (``DataLoader``): its batches, restarted when exhausted (its own batch size
      and shuffling apply); batches are x0, ``(x0, y, ...)`` or ``{"x0": ..., "y": ...}``.

    ``labelled``: False → ``y`` is None; True → every batch must carry labels (a clear error says
    how); None → the labels of a source that has them, else None.
    """
    _check_data_source(data_source, labelled)
    return _batches(data_source, batch_size, generator, labelled)


# ---------------------------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def _ema_update(ema_params: list, model_params: list, ema_buffers: list, model_buffers: list, decay: float) -> None:
    """θ_ema ← θ_ema + (1 − decay)(θ − θ_ema) for all parameters in one fused call; buffers copied.

    Takes the parameter and buffer lists the training loop makes once, rather than walking both
    module trees every step."""
    torch._foreach_lerp_(ema_params, [p.detach() for p in model_params], 1.0 - decay)
    for be, bm in zip(ema_buffers, model_buffers):
        be.copy_(bm)


def _make_bar(total: int, progress: bool, desc: str, initial: int = 0):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, leave=True, dynamic_ncols=True)


@dataclass
class _LoopOutcome:
    history: list[float]
    interrupted: bool
    stopped_by: str
    wall_time_s: float
    between_steps: bool  # the loop stopped after a whole step (not inside one): the state is consistent

    def result(self, model: nn.Module, ema_model: nn.Module | None, device: torch.device,
               earlier_wall_time_s: float = 0.0, extra: dict | None = None) -> TrainResult:
        """The run as a :class:`TrainResult`, with the model switched to eval mode."""
        model.eval()
        return TrainResult(model=model, ema_model=ema_model, loss_history=self.history,
                           steps_done=len(self.history), wall_time_s=earlier_wall_time_s + self.wall_time_s,
                           interrupted=self.interrupted, device=str(device),
                           extra={"stopped_by": self.stopped_by, **(extra or {})})


def _run_steps(one_step: Callable[[int], Tensor], steps: int, model: nn.Module, desc: str, progress: bool,
               log_every: int, callback, max_time_s: float | None, history: list[float] | None = None) -> _LoopOutcome:
    """The scaffold every training loop shares, around ``one_step(step) -> loss`` (step from 1).

    Runs steps ``len(history) + 1 .. steps`` (``history``: the losses of steps already done, for a
    resumed run; appended to in place). Records each loss (a non-finite loss raises
    ``FloatingPointError``), shows a tqdm bar with a running loss, calls
    ``callback(step, loss, model)``, stops after the first step that ends past ``max_time_s``
    seconds, and turns a ``KeyboardInterrupt`` into an early, orderly stop.
    """
    history = [] if history is None else history
    start = len(history)
    bar = _make_bar(steps, progress, desc, initial=start)
    interrupted, stopped_by, running, in_step = False, "steps", None, False
    t0 = time.perf_counter()
    try:
        for step in range(start + 1, steps + 1):
            in_step = True
            value = float(one_step(step).detach())
            if not math.isfinite(value):
                raise FloatingPointError(f"loss became {value} at step {step}; lower lr or set grad_clip")
            history.append(value)
            in_step = False
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
    return _LoopOutcome(history, interrupted, stopped_by, time.perf_counter() - t0, between_steps=not in_step)


def _cpu_copy(obj):
    """A detached CPU copy of nested dicts/lists of tensors (other values are kept as they are)."""
    if isinstance(obj, Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu_copy(v) for v in obj)
    return obj


def _load_optimizer_state(opt: torch.optim.Optimizer, saved: dict) -> None:
    """Load a saved optimizer ``state_dict`` whose group options may have come back from JSON
    (tuples such as Adam's ``betas`` turned into lists)."""
    current = opt.state_dict()["param_groups"]
    if len(saved["param_groups"]) != len(current):
        raise ValueError(f"the saved optimizer has {len(saved['param_groups'])} parameter groups, this one "
                         f"{len(current)}: it belongs to another model")
    groups = [{k: (tuple(v) if isinstance(cur.get(k), tuple) else v) for k, v in old.items()}
              for cur, old in zip(current, saved["param_groups"])]
    opt.load_state_dict({"state": saved["state"], "param_groups": groups})


#: Settings a resumed run may change. ``label_dropout`` only sets which share of each batch trains the
#: unconditional ε(x_t, t, ∅) — a curriculum choice, not part of the optimiser's state — so a long run may
#: raise it when its unconditional samples lag behind (the CLI records p for every session).
RESUME_MAY_CHANGE = ("label_dropout",)


def _check_resume(resume: TrainingState, settings: dict) -> None:
    if not isinstance(resume, TrainingState):
        raise TypeError(f"resume must be a TrainingState (from checkpoints.load_training_state or on_state), "
                        f"got {type(resume).__name__}")
    changed = {k: (resume.settings.get(k), v) for k, v in settings.items()
               if resume.settings.get(k) != v and k not in RESUME_MAY_CHANGE}
    if changed:
        listing = "; ".join(f"{k}: saved {old!r}, now {new!r}" for k, (old, new) in changed.items())
        raise ValueError(f"cannot resume: the run was saved with other settings ({listing}); resume with the "
                         "saved ones (only steps, max_time_s, progress, the callbacks and label_dropout may "
                         "change)")


def train_eps_model(
    model: nn.Module,
    schedule,
    data_source,
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
    label_dropout: float = 0.0,
    resume: TrainingState | None = None,
    on_state: Callable[[TrainingState], None] | None = None,
    state_every_steps: int | None = None,
    state_every_s: float | None = None,
) -> TrainResult:
    r"""Train ε_θ with L_simple = mean ‖ε − ε_θ(√ᾱ_t x0 + √(1−ᾱ_t) ε, t[, y])‖² (per coordinate).

    Args:
        model: ``model(x_t, t) -> ε̂`` with x_t's shape, or a label-conditioned
            ``model(x_t, t, y)`` (one with ``num_classes`` = K > 0 and ∅ = ``model.null_label``,
            default K; see ``models``); moved to ``device`` and trained in place.
        schedule: ``NoiseSchedule`` (gives ᾱ_t; t is drawn uniformly from 0..T−1).
        data_source: Tensor (N, ...) of x0, a tuple ``(x0, labels)``, a ``Distribution``
            (``.sample(n, generator)``), or a DataLoader (see :func:`batch_stream`). A conditioned
            model needs labels from it; an unconditional model ignores any labels.
        steps: the total number of optimisation steps (a resumed run continues up to it).
        batch_size: samples per step (tensor and distribution sources).
        lr: Adam learning rate (linearly warmed up over ``warmup_steps``).
        ema_decay: if set (e.g. 0.999), keep θ_ema ← decay·θ_ema + (1−decay)·θ after every step.
        grad_clip: if set, clip the global gradient norm to this value.
        device: ``"auto"`` (cuda → mps → cpu) or a device.
        generator: the CPU ``torch.Generator`` for batches, t, ε and label dropout; default
            ``Generator().manual_seed(seed)``.
        seed: used only when ``generator`` is None.
        progress: show a ``tqdm.auto`` bar with the running loss.
        log_every: refresh the bar's running loss every this many steps.
        callback: called as ``callback(step, loss, model)`` after each step (step counts from 1);
            it may raise KeyboardInterrupt to stop early.
        warmup_steps: linear learning-rate warm-up length.
        max_time_s: stop after the first step that ends past this many seconds of wall time
            (``extra["stopped_by"] = "time limit"``; not counted as interrupted).
        label_dropout: p_uncond, the probability with which each label is replaced by ∅ (drawn
            independently per sample); 0 always shows the label, 1 never. Conditioned models only.
        resume: a :class:`TrainingState` to continue from (same settings; ``steps`` may grow).
            Exact for Tensor, ``(x0, labels)`` and Distribution sources; a DataLoader restarts
            its own shuffling. It also restores torch's global CPU RNG.
        on_state: called with a :class:`TrainingState` every ``state_every_steps`` steps and/or
            ``state_every_s`` seconds, and once more when the loop stops between two steps
            (finished, time limit, or a KeyboardInterrupt raised by ``callback``/``on_state``).
        state_every_steps, state_every_s: how often to call ``on_state`` (None: only at the end).

    Returns: :class:`TrainResult` (model and EMA model in eval mode).
    """
    if hasattr(data_source, "alphas_cumprod") and not hasattr(schedule, "alphas_cumprod"):
        raise TypeError("train_eps_model takes (model, schedule, data_source, steps, ...): the schedule comes "
                        "before the data; swap the 2nd and 3rd arguments")
    if not hasattr(schedule, "sqrt_alphas_cumprod"):
        raise TypeError(f"schedule must be a NoiseSchedule (make_schedule('linear', T)), got {type(schedule).__name__}")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if ema_decay is not None and not 0.0 < ema_decay < 1.0:
        raise ValueError(f"ema_decay must be in (0, 1) (e.g. 0.999) or None, got {ema_decay}")
    num_classes = conditioning_classes(model)
    if not 0.0 <= label_dropout <= 1.0:
        raise ValueError(f"label_dropout is a probability in [0, 1] (e.g. 0.1), got {label_dropout}")
    if label_dropout and not num_classes:
        raise ValueError(f"label_dropout={label_dropout} needs a label-conditioned model (built with num_classes=K); "
                         f"{type(model).__name__} is unconditional: set label_dropout=0")
    for name, every in (("state_every_steps", state_every_steps), ("state_every_s", state_every_s)):
        if every is not None and not every > 0:
            raise ValueError(f"{name} must be positive or None, got {every!r}")
    _check_data_source(data_source, labelled=bool(num_classes), num_classes=num_classes)
    null_label = getattr(model, "null_label", None) if num_classes else None
    null_label = num_classes if null_label is None else null_label
    settings = dict(batch_size=batch_size, lr=lr, warmup_steps=warmup_steps, ema_decay=ema_decay, grad_clip=grad_clip,
                    label_dropout=label_dropout, schedule=dict(getattr(schedule, "config", {"T": schedule.T})),
                    model_config=getattr(model, "config", None))
    settings = json.loads(json.dumps(settings))  # as a saved state holds them (tuples become lists)
    if resume is not None:
        _check_resume(resume, settings)

    dev = resolve_device(device)
    if generator is None:
        generator = torch.Generator().manual_seed(seed)
    model.to(dev).train()
    if resume is not None:
        model.load_state_dict(resume.model_state)
    ema = copy.deepcopy(model).eval().requires_grad_(False) if ema_decay is not None else None
    if ema is not None and resume is not None:
        ema.load_state_dict(resume.ema_state)
    params = list(model.parameters())
    if ema is not None:
        ema_params, ema_buffers, model_buffers = list(ema.parameters()), list(ema.buffers()), list(model.buffers())
    # foreach: one fused update for all parameters (the same numbers as the per-tensor loop, faster)
    opt = torch.optim.Adam(params, lr=lr, foreach=True)
    if resume is not None:
        _load_optimizer_state(opt, resume.optimizer_state)
        generator.set_state(resume.generator_state)
        torch.set_rng_state(resume.torch_rng_state)
    history = list(resume.loss_history) if resume is not None else []
    earlier_wall_time_s = resume.wall_time_s if resume is not None else 0.0

    # unchecked per-step internals: coefficient tables made once on the device, indexed by t
    T = schedule.T
    sqrt_abar = schedule.sqrt_alphas_cumprod.to(torch.float32).to(dev)  # cast on the CPU (mps has no float64)
    sqrt_one_minus_abar = schedule.sqrt_one_minus_alphas_cumprod.to(torch.float32).to(dev)
    stream = _batches(data_source, batch_size, generator, labelled=bool(num_classes))

    def one_step(step: int) -> Tensor:
        x0, y = next(stream)
        t = torch.randint(0, T, (x0.shape[0],), generator=generator)
        eps = torch.randn(x0.shape, generator=generator)
        if y is not None and label_dropout:
            y = torch.where(torch.rand(y.shape, generator=generator) < label_dropout, null_label, y)
        x0, t, eps = x0.to(dev, torch.float32), t.to(dev), eps.to(dev)
        shape = (-1,) + (1,) * (x0.dim() - 1)
        x_t = sqrt_abar[t].view(shape) * x0 + sqrt_one_minus_abar[t].view(shape) * eps
        if warmup_steps:
            for g in opt.param_groups:
                g["lr"] = lr * min(1.0, step / warmup_steps)
        eps_pred = model(x_t, t) if y is None else model(x_t, t, y.to(dev))
        loss = F.mse_loss(eps_pred, eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        opt.step()
        if ema is not None:
            _ema_update(ema_params, params, ema_buffers, model_buffers, ema_decay)
        return loss

    session_start = time.perf_counter()
    last_saved = {"step": len(history), "time": session_start}

    def snapshot() -> TrainingState:
        return TrainingState(
            step=len(history), model_state=_cpu_copy(model.state_dict()),
            ema_state=None if ema is None else _cpu_copy(ema.state_dict()),
            optimizer_state=_cpu_copy(opt.state_dict()), generator_state=generator.get_state(),
            torch_rng_state=torch.get_rng_state(), loss_history=list(history),
            wall_time_s=earlier_wall_time_s + time.perf_counter() - session_start, settings=copy.deepcopy(settings))

    def save_state() -> None:
        on_state(snapshot())
        last_saved["step"], last_saved["time"] = len(history), time.perf_counter()

    def after_step(step: int, loss: float, m: nn.Module) -> None:
        if callback is not None:
            callback(step, loss, m)
        if on_state is not None and (
                (state_every_steps is not None and step % state_every_steps == 0)
                or (state_every_s is not None and time.perf_counter() - last_saved["time"] >= state_every_s)):
            save_state()

    run = _run_steps(one_step, steps, model, f"training {type(model).__name__}", progress, log_every,
                     after_step, max_time_s, history=history)
    if on_state is not None and run.between_steps and last_saved["step"] != len(history):
        save_state()
    extra = {}
    if resume is not None:
        extra = {"resumed_from_step": resume.step, "session_wall_time_s": run.wall_time_s}
    return run.result(model, ema, dev, earlier_wall_time_s, extra)


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
def loss_by_t(model, schedule, data, num_buckets: int = 10, samples_per_bucket: int = 256,
              generator: torch.Generator | None = None, batch_size: int = 512, device=None) -> LossByT:
    """How hard is denoising at each t? Mean L_simple of ``model`` per bucket of time steps.

    For each of ``num_buckets`` equal-width buckets of 0..T−1, draws ``samples_per_bucket`` pairs
    (x0 from ``data``, t uniform in the bucket, ε ~ N(0, I)) and averages
    mean_coords (ε − ε_θ(x_t, t))². ``data`` is any source accepted by :func:`batch_stream`;
    ``model`` may also be a plain callable ``(x_t, t) -> ε̂`` such as ``GaussianMixture.eps_model``.
    A label-conditioned model is evaluated as ε_θ(x_t, t, y) with the data's labels when the source
    has them (``(x0, labels)``, ``.sample_labelled``, a labelled DataLoader), else as ε_θ(x_t, t, ∅).
    """
    if hasattr(data, "alphas_cumprod") and not hasattr(schedule, "alphas_cumprod"):
        raise TypeError("loss_by_t takes (model, schedule, data, ...): the schedule comes before the data; "
                        "swap the 2nd and 3rd arguments")
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
    stream = batch_stream(data, samples_per_bucket, generator, labelled=None if conditioning_classes(model) else False)
    means, sems = [], []
    try:
        for i in range(num_buckets):
            lo, hi = int(edges[i]), int(edges[i + 1])
            x0, y = next(stream)
            x0 = x0.to(torch.float32)[:samples_per_bucket]
            t = torch.randint(lo, max(hi, lo + 1), (x0.shape[0],), generator=generator)
            eps = torch.randn(x0.shape, generator=generator)
            x_t = q_sample(schedule, x0, t, noise=eps)
            per = []
            for j in range(0, x0.shape[0], batch_size):
                x_j, t_j = x_t[j:j + batch_size].to(dev), t[j:j + batch_size].to(dev)
                pred = model(x_j, t_j) if y is None else model(x_j, t_j, y[j:j + batch_size].to(dev))
                pred = pred.to("cpu", torch.float32)
                per.append((pred - eps[j:j + batch_size]).pow(2).reshape(pred.shape[0], -1).mean(1))
            per = torch.cat(per).double()
            means.append(per.mean())
            sems.append(per.std() / math.sqrt(per.numel()) if per.numel() > 1 else torch.tensor(float("nan")))
    finally:
        if was_training:
            model.train()
    e = edges.double()
    return LossByT(t_edges=edges, t_mid=(e[:-1] + e[1:] - 1) / 2, loss=torch.stack(means), sem=torch.stack(sems))


@dataclass
class LossAgainstFloor:
    """L_simple of a model and of the exact ε* = E[ε | x_t] on the SAME fresh triples (x0, t, ε), with t
    uniform over all T steps: the expectation L_simple is defined with, and the floor it cannot pass.

    Attributes:
        loss_model: mean over the triples of mean_coords (ε − ε̂)².
        loss_exact: the same for ε*: the floor, an expectation over uniform t (a grid of t weights the
            steps differently and gives another number).
        mse_to_exact: mean over the same x_t of mean_coords (ε̂ − ε*)²; loss_model = loss_exact +
            mse_to_exact + a cross term whose expectation is 0.
        se_model, se_exact: standard errors of the two losses (over the n triples).
        se_difference: standard error of the paired difference loss_model − loss_exact (triple by
            triple): the scale on which that difference is compared with mse_to_exact.
        n: how many triples.
    """

    loss_model: float
    loss_exact: float
    mse_to_exact: float
    se_model: float
    se_exact: float
    n: int
    se_difference: float = float("nan")


def loss_against_floor(model, schedule, dist, n: int = 20_000,
                       generator: torch.Generator | None = None) -> LossAgainstFloor:
    """Compare ``model``'s L_simple with the floor of ``dist`` (a distribution with an exact
    ``eps_star(schedule, x_t, t)``, e.g. a :class:`~diffusion_lab.distributions.GaussianMixture`) on n
    fresh triples (x0 ~ dist, t ~ U{0..T−1} as code indices, ε ~ N(0, I)): like with like, unlike a
    training loss (other batches, weights that moved) or a grid of t."""
    if not hasattr(dist, "eps_star"):
        raise TypeError(f"loss_against_floor needs a distribution with an exact eps_star (a GaussianMixture), "
                        f"got {type(dist).__name__}.")
    if int(n) < 2:
        raise ValueError(f"n must be at least 2 (a standard error needs two triples), got {n}.")
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    x0 = dist.sample(int(n), generator=generator).to(torch.float32)
    t = torch.randint(0, schedule.T, (x0.shape[0],), generator=generator)
    eps = torch.randn(x0.shape, generator=generator)
    x_t = q_sample(schedule, x0, t, noise=eps)
    was_training = isinstance(model, nn.Module) and model.training
    if isinstance(model, nn.Module):
        model.eval()
    try:
        with torch.no_grad():
            eps_hat = model(x_t, t).to(torch.float64)
    finally:
        if was_training:
            model.train()
    eps_star = dist.eps_star(schedule, x_t, t).to(torch.float64)
    eps = eps.to(torch.float64)
    per_model = (eps - eps_hat).pow(2).reshape(len(t), -1).mean(1)
    per_exact = (eps - eps_star).pow(2).reshape(len(t), -1).mean(1)
    root_n = math.sqrt(len(t))
    return LossAgainstFloor(loss_model=float(per_model.mean()), loss_exact=float(per_exact.mean()),
                            mse_to_exact=float((eps_hat - eps_star).pow(2).mean()),
                            se_model=float(per_model.std()) / root_n, se_exact=float(per_exact.std()) / root_n,
                            n=len(t), se_difference=float((per_model - per_exact).std()) / root_n)
