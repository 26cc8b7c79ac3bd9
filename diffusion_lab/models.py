"""ε-networks ε_θ(x_t, t) and a small digit classifier.

Conventions (see ``docs/architecture.md``):

* ``x_t`` is a float tensor ``(B, d)`` for vector data (1D data is ``(B, 1)``, 2D data ``(B, 2)``)
  or ``(B, C, H, W)`` for images in [−1, 1].
* ``t`` is the code time step 0..T−1: a python int (same step for the whole batch) or a tensor of
  shape ``(B,)`` (LongTensor, or float for fractional steps).
* Every ε-network returns ε̂ with exactly the shape of ``x_t``, and **uses t**: the sinusoidal
  embedding of t is turned into a vector that is *added inside every block* (a sketch that computes
  a time embedding and never feeds it into the network cannot tell t = 5 from t = 900).

Conditioning (class labels, for classifier-free guidance): ``TimeMLP`` and ``TinyUNet`` built with
``num_classes = K > 0`` are ε_θ(x_t, t, y) and take ``forward(x_t, t, y=None)``:

* ``y`` is a python int (one label for the whole batch) or an integer tensor of shape ``(B,)``
  with values in 0..K. Labels 0..K−1 are the classes; **the reserved "no label" index ∅ is K**
  (``model.null_label == model.num_classes``): the label embedding has K + 1 rows, and row K is
  the one that training with label dropout teaches to mean "unconditional". ``y=None`` means ∅
  for the whole batch, so ``model(x_t, t)`` is ε_θ(x_t, t, ∅): one network gives both
  ε(x_t, t, y) and ε(x_t, t, ∅), and a batch may mix labels and ∅.
* The label enters the standard way: its learnt embedding (a vector of the time embedding's width)
  is **added to the time embedding** e(t), so every block that receives e(t) receives e(t) + e(y).
* ``num_classes`` 0 or None (the default) builds an unconditional model: no label embedding and
  no ``num_classes`` key in ``config``, so checkpoints saved before labels existed load unchanged.
  Such a model rejects a ``y`` other than None.
* ``TinyUNet(..., conditioning="cross_attention")`` lets the label in the way text enters an image
  generator instead: the label becomes a short "prompt" of token embeddings (a learnt start token
  ⟨s⟩ and the label's token, ∅ included), and :class:`CrossAttention2d` blocks (queries from the
  image positions, keys and values from the tokens) read it; the label is then *not* added to
  e(t). ``model.cross_attention_maps(x_t, t, y)`` returns the attention weights for drawing. With a
  single token the softmax weight is 1 everywhere and cross-attention reduces to adding one
  vector to every position. Configs without a ``conditioning`` key are the label-embedding models.

Every model carries ``model.config`` (a JSON-serialisable dict with a ``"type"`` key);
``build_model(model.config)`` rebuilds the same architecture, ``Model.from_config(config)`` too.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
import torch.nn.functional as F

__all__ = [
    "SinusoidalTimeEmbedding",
    "TimeMLP",
    "TinyUNet",
    "ResBlock",
    "SelfAttention2d",
    "CrossAttention2d",
    "DigitClassifier",
    "build_model",
    "count_parameters",
    "conditioning_classes",
    "MODEL_TYPES",
    "CONDITIONING_KINDS",
]

CONDITIONING_KINDS = ("embedding", "cross_attention")


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _as_time_batch(t, batch: int, device, dtype=torch.float32) -> Tensor:
    """Turn ``t`` (int, float, 0-d or (B,) tensor) into a float tensor of shape (B,)."""
    if isinstance(t, bool):
        raise TypeError("t must be an int or a tensor of shape (batch,), got a bool")
    if isinstance(t, (int, float)):
        return torch.full((batch,), float(t), device=device, dtype=dtype)
    if not isinstance(t, Tensor):
        raise TypeError(
            f"t must be a python int or a torch tensor of shape (batch,), got {type(t).__name__}; "
            "wrap it with torch.as_tensor(...)"
        )
    if t.dim() == 0:
        return t.to(device=device, dtype=dtype).expand(batch)
    if t.shape != (batch,):
        raise ValueError(
            f"t has shape {tuple(t.shape)} but x_t has batch size {batch}; "
            f"pass one t per sample (shape ({batch},)) or a single int"
        )
    return t.to(device=device, dtype=dtype)


def _check_num_classes(num_classes) -> int:
    """0 for an unconditional model (None or 0), else the number of classes K ≥ 1."""
    if num_classes is None:
        return 0
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0:
        raise ValueError(f"num_classes must be a non-negative int (0 or None: unconditional), got {num_classes!r}")
    return num_classes


def _as_label_batch(y, batch: int, num_classes: int, device) -> Tensor:
    """Turn ``y`` (None, int, 0-d or (B,) integer tensor) into a LongTensor (B,) of values in 0..K
    (K = ``num_classes`` is the "no label" index ∅; None means ∅ for every sample)."""
    if y is None:
        return torch.full((batch,), num_classes, dtype=torch.long, device=device)
    if isinstance(y, bool):
        raise TypeError("y must be an int or an integer tensor of shape (batch,), got a bool")
    if isinstance(y, int):
        y = torch.full((batch,), y, dtype=torch.long, device=device)
    elif not isinstance(y, Tensor):
        raise TypeError(f"y must be None, a python int or an integer tensor of shape (batch,), got {type(y).__name__}")
    elif y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}; convert with y.long()")
    elif y.dim() == 0:
        y = y.to(device=device, dtype=torch.long).expand(batch)
    elif y.shape != (batch,):
        raise ValueError(f"y has shape {tuple(y.shape)} but x_t has batch size {batch}; "
                         f"pass one label per sample (shape ({batch},)) or a single int")
    else:
        y = y.to(device=device, dtype=torch.long)
    if bool(((y < 0) | (y > num_classes)).any()):
        raise ValueError(f"labels must be in 0..{num_classes - 1} (classes) or {num_classes} (the 'no label' index "
                         f"null_label), got values from {int(y.min())} to {int(y.max())}")
    return y


def _label_embedding(num_classes: int, dim: int) -> nn.Embedding | None:
    """K + 1 learnt rows of width ``dim`` (row K is ∅), or None for an unconditional model."""
    return nn.Embedding(num_classes + 1, dim) if num_classes else None


def conditioning_classes(model) -> int:
    """K, the number of classes a label-conditioned ε-model ε_θ(x_t, t, y) takes; 0 for an
    unconditional one (or any callable without a positive ``num_classes`` attribute)."""
    k = getattr(model, "num_classes", 0)
    return k if isinstance(k, int) and not isinstance(k, bool) and k > 0 else 0


def _groups_for(channels: int, groups: int) -> int:
    """Largest divisor of ``channels`` that is ≤ ``groups`` (GroupNorm needs channels % groups == 0)."""
    g = max(1, min(groups, channels))
    while channels % g:
        g -= 1
    return g


class SinusoidalTimeEmbedding(nn.Module):
    """Transformer-style sinusoidal embedding of the time step.

    For ``half = dim // 2`` frequencies ω_k = max_period^(−k/half), k = 0..half−1::

        emb(t) = [sin(t ω_0), ..., sin(t ω_{half−1}), cos(t ω_0), ..., cos(t ω_{half−1})]

    (a zero column is appended when ``dim`` is odd). ``t`` is used as given (code steps 0..T−1),
    so neighbouring steps get nearby embeddings and the fastest frequency (ω_0 = 1) still
    separates single steps.

    Args:
        dim: embedding width.
        max_period: the slowest wavelength is ≈ 2π·max_period.

    Shapes: ``t`` (B,) int or float → (B, dim) float32.
    """

    def __init__(self, dim: int, max_period: float = 10000.0):
        super().__init__()
        if not isinstance(dim, int) or dim < 2:
            raise ValueError(f"dim must be an int >= 2, got {dim!r}")
        self.dim = dim
        self.max_period = float(max_period)
        half = dim // 2
        freqs = torch.exp(-math.log(self.max_period) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, t: Tensor) -> Tensor:
        t = torch.as_tensor(t)
        if t.dim() == 0:
            t = t[None]
        if t.dim() != 1:
            raise ValueError(f"t must have shape (batch,), got {tuple(t.shape)}")
        args = t.to(self.freqs.device, torch.float32)[:, None] * self.freqs[None, :]
        emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
        if self.dim % 2:
            emb = F.pad(emb, (0, 1))
        return emb


class _ConfigMixin:
    """``config`` property + ``from_config`` classmethod shared by all models."""

    _config: dict

    @property
    def config(self) -> dict:
        items = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self._config.items()}
        return {"type": type(self).__name__, **items}

    @classmethod
    def from_config(cls, config: dict):
        cfg = dict(config)
        typ = cfg.pop("type", cls.__name__)
        if typ != cls.__name__:
            raise ValueError(f"config is for model type {typ!r}, not {cls.__name__!r}")
        return cls(**cfg)


class _LabelMixin:
    """``num_classes``, ``null_label`` and the label part of ``forward`` for ε-networks."""

    num_classes: int
    label_embed: nn.Embedding | None

    @property
    def null_label(self) -> int | None:
        """The reserved "no label" index ∅ = ``num_classes`` (None for an unconditional model)."""
        return self.num_classes if self.num_classes else None

    def _label_emb(self, y, batch: int, device) -> Tensor | None:
        """e(y) of shape (B, width) to add to e(t); None when the model is unconditional."""
        if not self.num_classes:
            if y is not None:
                raise ValueError(f"{type(self).__name__} was built without labels (num_classes=0), so y must be None; "
                                 "build it with num_classes=K to condition on K classes")
            return None
        return self.label_embed(_as_label_batch(y, batch, self.num_classes, device))


class TimeMLP(_LabelMixin, _ConfigMixin, nn.Module):
    """ε_θ(x_t, t) for vector data (1D/2D toy distributions); ε_θ(x_t, t, y) with ``num_classes``.

    Architecture: ``x_t`` (B, d) → Linear(d, hidden) → ``depth`` residual blocks → SiLU → Linear(hidden, d).
    Each block is ``h ← h + W₂ SiLU(W₁ SiLU(h) + U_i e)`` where
    ``e = SiLU(MLP(SinusoidalTimeEmbedding(t)) [+ Embedding(y)])`` is shared and ``U_i`` is the
    block's own projection, so the time (and label) embedding is **added inside every block**.

    Args:
        data_dim: d, the width of x (1 for 1D data, 2 for 2D data).
        hidden: width of the hidden layers.
        depth: number of residual blocks.
        time_dim: width of the sinusoidal time embedding.
        T: number of diffusion steps the model is meant for (recorded in ``config``; t outside
           0..T−1 is allowed, e.g. for fractional/extrapolated steps, but not checked).
        num_classes: K > 0 makes it label-conditioned (see the module docstring: labels 0..K−1,
           ∅ = K); 0 or None (default) unconditional.

    Shapes: ``x_t`` (B, d), ``t`` int or (B,), ``y`` None, int or (B,) → ε̂ (B, d).
    """

    def __init__(self, data_dim: int = 2, hidden: int = 128, depth: int = 3, time_dim: int = 64, T: int = 1000,
                 num_classes: int | None = None):
        super().__init__()
        for name, v in (("data_dim", data_dim), ("hidden", hidden), ("depth", depth), ("time_dim", time_dim), ("T", T)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.num_classes = _check_num_classes(num_classes)
        self._config = dict(data_dim=data_dim, hidden=hidden, depth=depth, time_dim=time_dim, T=T)
        if self.num_classes:
            self._config["num_classes"] = self.num_classes
        self.data_dim = data_dim
        self.time_embed = SinusoidalTimeEmbedding(time_dim)
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.label_embed = _label_embedding(self.num_classes, hidden)
        self.inp = nn.Linear(data_dim, hidden)
        self.lin1 = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(depth))
        self.tproj = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(depth))
        self.lin2 = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(depth))
        # no normalisation before the output: at large t the ideal ε̂ ≈ x_t grows linearly with x_t,
        # and a LayerNorm here would cap |ε̂| (DDIM then turns the shortfall into far-off samples)
        self.out = nn.Linear(hidden, data_dim)

    def forward(self, x_t: Tensor, t, y=None) -> Tensor:
        if x_t.dim() != 2 or x_t.shape[1] != self.data_dim:
            raise ValueError(
                f"TimeMLP(data_dim={self.data_dim}) expects x_t of shape (batch, {self.data_dim}), "
                f"got {tuple(x_t.shape)}; 1D data must be shaped (batch, 1)"
            )
        tb = _as_time_batch(t, x_t.shape[0], x_t.device)
        emb = self.time_mlp(self.time_embed(tb))  # e(t): (B, hidden)
        label = self._label_emb(y, x_t.shape[0], x_t.device)
        if label is not None:
            emb = emb + label  # e(t) + e(y)
        emb = F.silu(emb)
        h = self.inp(x_t)
        for lin1, tproj, lin2 in zip(self.lin1, self.tproj, self.lin2):
            h = h + lin2(F.silu(lin1(F.silu(h)) + tproj(emb)))
        return self.out(F.silu(h))


class ResBlock(nn.Module):
    """Residual conv block with the time embedding added inside.

    ``h = conv₁(SiLU(GN(x))) + Linear(SiLU(e(t)))[:, :, None, None]``;
    ``out = skip(x) + conv₂(dropout(SiLU(GN(h))))``.

    Shapes: x (B, in_ch, H, W), emb (B, time_dim) → (B, out_ch, H, W).
    """

    def __init__(self, in_ch: int, out_ch: int, time_dim: int, groups: int = 8, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups_for(in_ch, groups), in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.time_proj = nn.Linear(time_dim, out_ch)
        self.norm2 = nn.GroupNorm(_groups_for(out_ch, groups), out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention2d(nn.Module):
    """Multi-head self-attention over the H·W positions of a feature map, with a residual.

    Shapes: (B, C, H, W) → (B, C, H, W).
    """

    def __init__(self, channels: int, heads: int = 4, groups: int = 8):
        super().__init__()
        heads = max(1, min(heads, channels))
        while channels % heads:
            heads -= 1
        self.heads = heads
        self.norm = nn.GroupNorm(_groups_for(channels, groups), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        B, C, H, W = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(B, 3, self.heads, C // self.heads, H * W).unbind(1)
        # (B, heads, HW, c) for scaled_dot_product_attention
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        out = out.transpose(-1, -2).reshape(B, C, H, W)
        return x + self.proj(out)


class CrossAttention2d(nn.Module):
    """Cross-attention from the H·W positions of a feature map to L token embeddings, with a residual.

    The way a prompt steers an image generator: each position p of the feature map h (B, C, H, W)
    asks a query q_p = W_q GN(h)_p + b_q (GN: the block's GroupNorm, on the query side only); each token j
    of ``tokens`` (B, L, token_dim) offers a key k_j = W_k e_j + b_k and a value v_j = W_v e_j + b_v (per
    head, width c = C / heads). The position reads

        a_pj = softmax_j(q_p · k_j / √c),   out_p = h_p + W_o Σ_j a_pj v_j + b_o

    so ``a[p, :]`` (the attention weights, summing to 1 over the tokens) says how much of each
    token lands at position p. With **one token** a_p1 = 1 at every p, and the block adds the same
    vector W_o v_1 + b_o to every position: cross-attention on a single label is adding a vector.

    After a forward call with ``keep_weights=True``, ``last_weights`` holds a (B, heads, H, W, L)
    tensor of the weights (detached).

    Shapes: x (B, C, H, W), tokens (B, L, token_dim) → (B, C, H, W).
    """

    def __init__(self, channels: int, token_dim: int, heads: int = 1, groups: int = 8):
        super().__init__()
        if not isinstance(heads, int) or heads < 1 or channels % heads:
            raise ValueError(f"heads must be a positive int dividing channels={channels}, got {heads!r}")
        self.heads = heads
        self.norm = nn.GroupNorm(_groups_for(channels, groups), channels)
        self.to_q = nn.Conv2d(channels, channels, 1)
        self.to_k = nn.Linear(token_dim, channels)
        self.to_v = nn.Linear(token_dim, channels)
        self.proj = nn.Conv2d(channels, channels, 1)
        self.last_weights: Tensor | None = None

    def forward(self, x: Tensor, tokens: Tensor, keep_weights: bool = False) -> Tensor:
        B, C, H, W = x.shape
        if tokens.dim() != 3 or tokens.shape[0] != B:
            raise ValueError(f"tokens must have shape (batch={B}, L, token_dim), got {tuple(tokens.shape)}")
        nh, c = self.heads, C // self.heads
        q = self.to_q(self.norm(x)).reshape(B, nh, c, H * W).transpose(-1, -2)   # (B, heads, HW, c)
        k = self.to_k(tokens).reshape(B, -1, nh, c).transpose(1, 2)            # (B, heads, L, c)
        v = self.to_v(tokens).reshape(B, -1, nh, c).transpose(1, 2)            # (B, heads, L, c)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c), dim=-1)  # (B, heads, HW, L)
        self.last_weights = weights.detach().reshape(B, nh, H, W, -1) if keep_weights else None
        out = (weights @ v).transpose(-1, -2).reshape(B, C, H, W)
        return x + self.proj(out)


class TinyUNet(_LabelMixin, _ConfigMixin, nn.Module):
    """A small U-Net ε_θ(x_t, t) for images; ε_θ(x_t, t, y) with ``num_classes``.

    Layout for ``channel_mults=(m_0, ..., m_{L−1})`` (widths c_i = base·m_i)::

        conv_in → [level 0: ResBlock×n, Down] → ... → [level L−1: ResBlock×n]
                → middle: ResBlock, SelfAttention (if attention)
                → [level L−1: ResBlock×n, Up] → ... → [level 0: ResBlock×n]
                → GroupNorm, SiLU, conv_out

    Every ResBlock adds a projection of the time embedding e(t) inside the block (with labels:
    of e(t) + e(y), the label's learnt embedding added to the time embedding). Each down-path
    ResBlock's output is kept; the up-path ResBlock at the same resolution takes
    ``concat(h, skip)`` (skip connections by **concatenation**). ``Down`` is a stride-2 3×3 conv,
    ``Up`` is nearest ×2 then a 3×3 conv. The attention sits at the lowest resolution.

    Odd sizes: the input is zero-padded at the bottom/right up to a multiple of 2^(L−1) and the
    output cropped back, so 8×8 (L=2: 8→4) and 28×28 (L=2: 28→14; L=3: 28→14→7) both work, as do
    sizes like 7×9.

    Args:
        in_channels: image channels C (1 for digits).
        base: width of level 0.
        channel_mults: per-level width multipliers; ``len(channel_mults)`` levels, one 2× downsample
            between consecutive levels.
        time_dim: width of the time embedding vector (default ``4·base``).
        groups: GroupNorm groups (reduced automatically to a divisor of each width).
        attention: add self-attention at the lowest resolution (middle block).
        num_res_blocks: n, ResBlocks per level on the down path.
        dropout: dropout inside ResBlocks.
        num_classes: K > 0 makes it label-conditioned (see the module docstring: labels 0..K−1,
            ∅ = K); 0 or None (default) unconditional.
        conditioning: how a label enters (with ``num_classes``): ``"embedding"`` (default) adds
            its learnt embedding to e(t); ``"cross_attention"`` turns it into the prompt tokens
            [⟨s⟩, e(y)] (``start_token=False``: [e(y)] alone) read by a :class:`CrossAttention2d`
            after the middle block and after each up-path level (none is added to e(t)).
        token_dim: width of the token embeddings (cross-attention; default ``time_dim``).
        start_token: cross-attention prompt starts with a learnt, label-independent token ⟨s⟩, so
            each position can take the label's value or not (its weight on e(y) is the drawn map).

    Shapes: ``x_t`` (B, C, H, W), ``t`` int or (B,), ``y`` None, int or (B,) → ε̂ (B, C, H, W).
    """

    def __init__(
        self,
        in_channels: int = 1,
        base: int = 32,
        channel_mults=(1, 2),
        time_dim: int | None = None,
        groups: int = 8,
        attention: bool = True,
        num_res_blocks: int = 1,
        dropout: float = 0.0,
        num_classes: int | None = None,
        conditioning: str = "embedding",
        token_dim: int | None = None,
        start_token: bool = True,
    ):
        super().__init__()
        self.num_classes = _check_num_classes(num_classes)
        if conditioning not in CONDITIONING_KINDS:
            raise ValueError(f"conditioning must be one of {CONDITIONING_KINDS}, got {conditioning!r}")
        if conditioning != "embedding" and not self.num_classes:
            raise ValueError(f"conditioning={conditioning!r} needs labels: build the model with num_classes=K")
        self.conditioning = conditioning
        channel_mults = tuple(int(m) for m in channel_mults)
        if not channel_mults or any(m < 1 for m in channel_mults):
            raise ValueError(f"channel_mults must be a non-empty sequence of positive ints, got {channel_mults!r}")
        if time_dim is None:
            time_dim = 4 * base
        self._config = dict(
            in_channels=in_channels, base=base, channel_mults=channel_mults, time_dim=time_dim,
            groups=groups, attention=bool(attention), num_res_blocks=num_res_blocks, dropout=float(dropout),
        )
        if self.num_classes:
            self._config["num_classes"] = self.num_classes
        cross = conditioning == "cross_attention"
        if cross:  # only then: label-embedding and unconditional configs stay as they were
            token_dim = time_dim if token_dim is None else token_dim
            if not isinstance(token_dim, int) or isinstance(token_dim, bool) or token_dim < 1:
                raise ValueError(f"token_dim must be a positive int, got {token_dim!r}")
            self._config.update(conditioning=conditioning, token_dim=token_dim, start_token=bool(start_token))
        self.in_channels = in_channels
        self.levels = len(channel_mults)
        self.time_embed = SinusoidalTimeEmbedding(base)
        self.time_mlp = nn.Sequential(nn.Linear(base, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        # label embedding: added to e(t), or the label's token for cross-attention
        self.label_embed = _label_embedding(self.num_classes, token_dim if cross else time_dim)
        self.start_token = nn.Parameter(torch.randn(token_dim) * 0.02) if cross and start_token else None
        self.conv_in = nn.Conv2d(in_channels, base, 3, padding=1)

        widths = [base * m for m in channel_mults]
        skip_ch = []
        ch = base
        self.down = nn.ModuleList()
        for i, w in enumerate(widths):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks):
                blocks.append(ResBlock(ch, w, time_dim, groups, dropout))
                ch = w
                skip_ch.append(ch)
            level = nn.Module()
            level.blocks = blocks
            if i < self.levels - 1:
                level.downsample = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
            self.down.append(level)

        self.mid = ResBlock(ch, ch, time_dim, groups, dropout)
        self.mid_attn = SelfAttention2d(ch, groups=groups) if attention else nn.Identity()
        self.mid_cross = CrossAttention2d(ch, token_dim, groups=groups) if cross else None

        self.up = nn.ModuleList()
        for i, w in reversed(list(enumerate(widths))):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks):
                blocks.append(ResBlock(ch + skip_ch.pop(), w, time_dim, groups, dropout))
                ch = w
            level = nn.Module()
            level.blocks = blocks
            if cross:
                level.cross = CrossAttention2d(ch, token_dim, groups=groups)
            if i > 0:
                level.upsample = nn.Conv2d(ch, ch, 3, padding=1)
            self.up.append(level)
        assert not skip_ch

        self.norm_out = nn.GroupNorm(_groups_for(ch, groups), ch)
        self.conv_out = nn.Conv2d(ch, in_channels, 3, padding=1)

    def prompt_tokens(self, y, batch: int, device=None) -> Tensor:
        """The tokens cross-attention reads for labels ``y`` (None = ∅): (B, L, token_dim), L = 2
        ([⟨s⟩, e(y)]) or 1 without a start token. Only for ``conditioning="cross_attention"``."""
        if self.conditioning != "cross_attention":
            raise ValueError("prompt_tokens needs a model built with conditioning='cross_attention'")
        device = self.label_embed.weight.device if device is None else device
        label = self.label_embed(_as_label_batch(y, batch, self.num_classes, device))[:, None, :]
        if self.start_token is None:
            return label
        return torch.cat([self.start_token.expand(batch, 1, -1), label], dim=1)

    @property
    def cross_attention_blocks(self) -> dict[str, CrossAttention2d]:
        """The cross-attention blocks by name (``"middle"``, ``"up level L−1"`` … ``"up level 0"``, the last
        at full resolution; empty without cross-attention)."""
        if self.mid_cross is None:
            return {}
        # self.up runs from the deepest level (L−1) back to level 0 (full resolution)
        return {"middle": self.mid_cross,
                **{f"up level {self.levels - 1 - j}": level.cross for j, level in enumerate(self.up)}}

    @torch.no_grad()
    def cross_attention_maps(self, x_t: Tensor, t, y=None) -> dict[str, Tensor]:
        """Attention weights of every cross-attention block for one forward pass ε_θ(x_t, t, y).

        Returns ``{block name: (B, heads, h, w, L)}`` at each block's resolution h×w (the padded
        size for odd images; crop or resize to draw); ``[..., j]`` is the weight on token j
        (the last token is the label's), and the weights sum to 1 over j.
        """
        blocks = self.cross_attention_blocks
        if not blocks:
            raise ValueError("this TinyUNet has no cross-attention: build it with num_classes=K, "
                             "conditioning='cross_attention'")
        self._forward(x_t, t, y, keep_weights=True)
        maps = {name: block.last_weights for name, block in blocks.items()}
        for block in blocks.values():
            block.last_weights = None
        return maps

    def forward(self, x_t: Tensor, t, y=None) -> Tensor:
        return self._forward(x_t, t, y)

    def _forward(self, x_t: Tensor, t, y=None, keep_weights: bool = False) -> Tensor:
        if x_t.dim() != 4 or x_t.shape[1] != self.in_channels:
            raise ValueError(
                f"TinyUNet(in_channels={self.in_channels}) expects x_t of shape (batch, {self.in_channels}, H, W), "
                f"got {tuple(x_t.shape)}"
            )
        B, _, H, W = x_t.shape
        tb = _as_time_batch(t, B, x_t.device)
        emb = self.time_mlp(self.time_embed(tb))  # e(t)
        tokens = None
        if self.mid_cross is not None:
            tokens = self.prompt_tokens(y, B, x_t.device)  # the label enters through cross-attention only
        else:
            label = self._label_emb(y, B, x_t.device)
            if label is not None:
                emb = emb + label  # e(t) + e(y)

        m = 2 ** (self.levels - 1)
        pad_h, pad_w = (-H) % m, (-W) % m
        x = F.pad(x_t, (0, pad_w, 0, pad_h)) if (pad_h or pad_w) else x_t

        h = self.conv_in(x)
        skips = []
        for level in self.down:
            for block in level.blocks:
                h = block(h, emb)
                skips.append(h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)

        h = self.mid_attn(self.mid(h, emb))
        if tokens is not None:
            h = self.mid_cross(h, tokens, keep_weights)

        for level in self.up:
            for block in level.blocks:
                h = block(torch.cat([h, skips.pop()], dim=1), emb)
            if tokens is not None:
                h = level.cross(h, tokens, keep_weights)
            if hasattr(level, "upsample"):
                h = level.upsample(F.interpolate(h, scale_factor=2.0, mode="nearest"))

        out = self.conv_out(F.silu(self.norm_out(h)))
        return out[:, :, :H, :W]


class DigitClassifier(_ConfigMixin, nn.Module):
    """Small CNN digit classifier; its penultimate features feed a Fréchet distance.

    conv(C→w) → ReLU → conv(w→2w) → ReLU → maxpool 2 → conv(2w→2w) → ReLU → adaptive avg-pool 2×2
    → flatten (8w) → Linear(8w, feature_dim) → ReLU  [= ``features(x)``] → Linear(feature_dim, 10).

    Works for any input size ≥ 4×4 (8×8 sklearn digits and 28×28 MNIST).

    Args:
        in_channels: C. width: w. feature_dim: size of the feature vector. num_classes: classes.
        image_size: the size it was trained for (recorded in ``config``, not enforced).

    Shapes: ``x`` (B, C, H, W) in [−1, 1] → logits (B, num_classes); ``features(x)`` → (B, feature_dim).
    """

    def __init__(self, in_channels: int = 1, width: int = 32, feature_dim: int = 64, num_classes: int = 10,
                 image_size: int = 28, dropout: float = 0.0):
        super().__init__()
        self._config = dict(in_channels=in_channels, width=width, feature_dim=feature_dim,
                            num_classes=num_classes, image_size=image_size, dropout=float(dropout))
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(8 * w, feature_dim), nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features (B, feature_dim) used by ``metrics.digit_fid``."""
        if x.dim() != 4:
            raise ValueError(f"DigitClassifier expects images (batch, channels, H, W), got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


MODEL_TYPES = {cls.__name__: cls for cls in (TimeMLP, TinyUNet, DigitClassifier)}


def build_model(config: dict[str, Any]) -> nn.Module:
    """Rebuild a model from its ``config`` dict (``{"type": "TinyUNet", ...kwargs}``)."""
    if not isinstance(config, dict) or "type" not in config:
        raise ValueError(f"model config must be a dict with a 'type' key (one of {sorted(MODEL_TYPES)}), "
                         f"got {config!r}")
    typ = config["type"]
    if typ not in MODEL_TYPES:
        raise ValueError(f"unknown model type {typ!r}; known types: {sorted(MODEL_TYPES)}")
    try:
        return MODEL_TYPES[typ].from_config(config)
    except TypeError as e:
        raise ValueError(f"model config {config!r} does not match {typ}'s arguments: {e}") from e
