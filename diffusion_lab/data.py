"""Image data sets for the course: 8×8 digits (offline) and MNIST (local IDX files or download).

Every loader returns ``(images, labels)``: ``images`` a float32 tensor (N, 1, H, W) with values in
[−1, 1] (pixel p in [0, max] maps to 2p/max − 1), ``labels`` an int64 tensor (N,).

MNIST is never shipped with the repository. ``load_mnist`` looks for the raw IDX ``.gz`` files in,
in this order: the ``root`` argument, the environment variable ``DIFFUSION_LAB_MNIST``, the folder
``../shared/data/mnist`` next to the repository, and ``~/.cache/diffusion_lab/mnist``. Each folder
may hold the files directly or in torchvision's ``MNIST/raw/`` layout. Files are checked against
their published checksums before use. ``download=True`` fetches them with torchvision instead.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

__all__ = [
    "load_digits_8x8",
    "load_digit",
    "load_mnist",
    "parse_idx",
    "mnist_search_paths",
    "without_mnist_root",
    "MNIST_FILES",
    "MNIST_ENV_VAR",
    "DIGITS_TEST_FRACTION",
    "MNIST_HELDOUT_START",
    "make_dataloader",
    "sample_images",
    "to_unit_range",
    "file_sha256",
]

MNIST_ENV_VAR = "DIFFUSION_LAB_MNIST"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = Path("~/.cache/diffusion_lab/mnist")

#: split → (images file, labels file); each file → (hash algorithm, hex digest).
#: t10k: sha256 from the data set's README; train: the md5 torchvision checks.
MNIST_FILES = {
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
}
MNIST_HASHES = {
    "t10k-images-idx3-ubyte.gz": ("sha256", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte.gz": ("sha256", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    "train-images-idx3-ubyte.gz": ("md5", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train-labels-idx1-ubyte.gz": ("md5", "d53e105ee54ea40749a09fcbcd1e9432"),
}

#: MNIST t10k images from this index on (8000..9999) are held out: the MNIST classifier tests on them, and
#: ``python -m diffusion_lab.train --split train`` trains ε-models on images 0..7999 only.
MNIST_HELDOUT_START = 8000

#: sklearn digits: a fixed permutation (seed 0) puts round(0.2·1797) = 359 images into "test", 1438 into "train".
DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0

# IDX type codes → numpy big-endian dtypes
_IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def to_unit_range(images: Tensor) -> Tensor:
    """Map images from [−1, 1] to [0, 1] for display (values outside are clamped)."""
    return ((images + 1) / 2).clamp(0, 1)


def file_sha256(path, algorithm: str = "sha256") -> str:
    """Hex digest of a file (streamed)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# sklearn 8×8 digits
# --------------------------------------------------------------------------------------------
def load_digits_8x8(split: str = "all") -> tuple[Tensor, Tensor]:
    """scikit-learn's bundled 8×8 digits (1797 images, 16 grey levels), offline.

    Args:
        split: ``"all"`` (1797), ``"train"`` (1438) or ``"test"`` (359); train/test come from a fixed
            permutation with seed 0, so they are disjoint and the same on every machine.

    Returns:
        images (N, 1, 8, 8) float32 in [−1, 1] (pixel v ∈ {0..16} ↦ v/8 − 1), labels (N,) int64.
    """
    if split not in ("all", "train", "test"):
        raise ValueError(f"split must be 'all', 'train' or 'test', got {split!r}")
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.as_tensor(d.images, dtype=torch.float32)[:, None] / 16.0 * 2.0 - 1.0
    y = torch.as_tensor(d.target, dtype=torch.int64)
    if split == "all":
        return x, y
    perm = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(y))
    n_test = int(round(DIGITS_TEST_FRACTION * len(y)))
    idx = perm[:n_test] if split == "test" else perm[n_test:]
    idx = torch.as_tensor(np.sort(idx))
    return x[idx], y[idx]


def load_digit(index: int = 0) -> Tensor:
    """Digit number ``index`` of scikit-learn's bundled 8×8 digits as (1, 1, 8, 8) float32 in [−1, 1].

    The same image and scaling as ``load_digits_8x8("all")[0][index]`` (pixel v ∈ {0..16} ↦ v/8 − 1);
    works offline (the digits ship with scikit-learn).
    """
    images, _ = load_digits_8x8()
    if isinstance(index, bool) or not 0 <= int(index) < images.shape[0]:
        raise ValueError(f"index must be in [0, {images.shape[0]}), got {index}.")
    return images[int(index): int(index) + 1].clone()


# --------------------------------------------------------------------------------------------
# IDX parsing
# --------------------------------------------------------------------------------------------
def parse_idx(source) -> np.ndarray:
    """Parse an IDX file (the MNIST format) into a numpy array.

    Format: 2 zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
    0x0E float64), a byte with the number of dimensions n, n big-endian uint32 sizes, then the data
    in row-major big-endian order.

    Args:
        source: a path (``.gz`` files are decompressed) or the raw bytes.
    Returns:
        array of shape (d_1, ..., d_n) with the file's dtype (native byte order).
    Raises:
        ValueError if the header is malformed or the data length does not match the sizes.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        name = "<bytes>"
    else:
        path = Path(source)
        name = str(path)
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as e:
                raise ValueError(f"{name}: gzip data is corrupt ({e}); delete the file and fetch it again") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{name}: not an IDX file (expected two zero bytes then type and ndim)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{name}: unknown IDX type code 0x{code:02x}; known: {[hex(c) for c in _IDX_DTYPES]}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{name}: IDX header says shape {shape} ({expected} data bytes) but the file has "
            f"{len(raw) - header}; the file is truncated or corrupt"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


# --------------------------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------------------------
def mnist_search_paths(root=None) -> list[Path]:
    """The folders ``load_mnist`` looks in, in order (explicit root first)."""
    paths = []
    if root is not None:
        paths.append(Path(root).expanduser())
    env = os.environ.get(MNIST_ENV_VAR)
    if env:
        paths.append(Path(env).expanduser())
    paths.append(REPO_ROOT.parent / "shared" / "data" / "mnist")
    paths.append(DEFAULT_CACHE.expanduser())
    return paths


def without_mnist_root(argv: list[str]) -> list[str]:
    """A command line to record with a result, less ``--mnist-root PATH`` / ``--mnist-root=PATH``: where one machine
    keeps MNIST is not a setting of the measurement (:func:`mnist_search_paths` finds the files elsewhere)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--mnist-root":
            skip = True
        elif not arg.startswith("--mnist-root="):
            kept.append(arg)
    return kept


def _find_file(folder: Path, name: str) -> Path | None:
    for cand in (folder / name, folder / "MNIST" / "raw" / name, folder / "raw" / name):
        if cand.is_file():
            return cand
    return None


def _verify(path: Path) -> None:
    algo, digest = MNIST_HASHES[path.name]
    got = file_sha256(path, algo)
    if got != digest:
        raise ValueError(
            f"{path}: {algo} is {got}, expected {digest}. The file is corrupt or not the published "
            f"MNIST file; delete it and fetch it again (load_mnist(download=True) or copy the original)."
        )


def load_mnist(root=None, split: str = "test", download: bool = False, verify: bool = True) -> tuple[Tensor, Tensor]:
    """MNIST digits as (N, 1, 28, 28) float32 in [−1, 1] (pixel p ∈ {0..255} ↦ 2p/255 − 1) + labels (N,).

    Args:
        root: folder holding the IDX ``.gz`` files (searched first; see the module docstring for the
            rest of the search order).
        split: ``"test"`` (the 10,000-image t10k split, which the course uses) or ``"train"`` (60,000).
        download: if the files are not found locally, download them with
            ``torchvision.datasets.MNIST`` into ``root`` (or ``~/.cache/diffusion_lab/mnist``).
        verify: check each file's checksum (sha256 for t10k, torchvision's md5 for train).

    Raises:
        FileNotFoundError naming the folders searched and the ways to provide the data.
        ValueError if a file fails its checksum or does not parse.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(MNIST_FILES)}, got {split!r}")
    img_name, lbl_name = MNIST_FILES[split]
    searched = mnist_search_paths(root)
    for folder in searched:
        img, lbl = _find_file(folder, img_name), _find_file(folder, lbl_name)
        if img is not None and lbl is not None:
            if verify:
                _verify(img)
                _verify(lbl)
            return _to_tensors(parse_idx(img), parse_idx(lbl), str(folder))
    if download:
        return _download_mnist(root, split)
    listing = "\n".join(f"  - {p}" for p in searched)
    raise FileNotFoundError(
        f"MNIST {split} files ({img_name}, {lbl_name}) were not found. Looked in:\n{listing}\n"
        f"Fix: pass root='/folder/with/the/files', or set {MNIST_ENV_VAR}=/folder, "
        f"or call load_mnist(download=True) (needs internet), or use load_digits_8x8() (offline, 8×8)."
    )


def _to_tensors(images: np.ndarray, labels: np.ndarray, where: str) -> tuple[Tensor, Tensor]:
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"MNIST files in {where} have shapes {images.shape} and {labels.shape}; "
                         "expected (N, 28, 28) images and (N,) labels")
    x = torch.from_numpy(images.astype(np.float32))[:, None] / 255.0 * 2.0 - 1.0
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def _download_mnist(root, split: str) -> tuple[Tensor, Tensor]:  # pragma: no cover - needs internet
    from torchvision.datasets import MNIST

    folder = Path(root).expanduser() if root is not None else DEFAULT_CACHE.expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    ds = MNIST(root=str(folder), train=(split == "train"), download=True)
    x = ds.data.to(torch.float32)[:, None] / 255.0 * 2.0 - 1.0
    return x, ds.targets.to(torch.int64)


# --------------------------------------------------------------------------------------------
# batches
# --------------------------------------------------------------------------------------------
def sample_images(images: Tensor, n: int, generator: torch.Generator | None = None) -> Tensor:
    """n images drawn uniformly **with replacement** from ``images`` (N, ...) → (n, ...)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    idx = torch.randint(0, images.shape[0], (n,), generator=generator)
    return images[idx]


def make_dataloader(images: Tensor, batch_size: int = 128, shuffle: bool = True,
                    generator: torch.Generator | None = None, drop_last: bool = True) -> DataLoader:
    """A ``DataLoader`` over ``images`` (N, ...) that yields batches (batch_size, ...) of images only."""
    return DataLoader(_ImagesOnly(images), batch_size=batch_size, shuffle=shuffle, generator=generator,
                      drop_last=drop_last)


class _ImagesOnly(TensorDataset):
    def __init__(self, images: Tensor):
        super().__init__(images)

    def __getitem__(self, i):
        return self.tensors[0][i]
