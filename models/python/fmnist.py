"""Fashion-MNIST loader shared by the stand-in training scripts (numpy only, no torchvision).

The data is Debian's `dataset-fashion-mnist` 0.0~git20200523.55506a9-1 (the four IDX .gz files of
zalandoresearch/fashion-mnist), which `models/src/assets.ts` fetches and unpacks into the TrustVision cache:

    $TRUSTVISION_CACHE, else $XDG_CACHE_HOME/trustvision, else ~/.cache/trustvision
      /assets/deb/dataset-fashion-mnist_0.0~git20200523.55506a9-1_all/usr/share/datasets/fashion-mnist

Split used by every stand-in (fixed, documented in the model cards):
    train        official train images 0 .. 54999   (55,000)
    calibration  official train images 55000 .. 59999 (5,000; held out: never trained on, never used for
                 model selection; it is the calibration / neighbour set ProCal needs)
    test         official t10k images (10,000)
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np

DEB_PACKAGE = "dataset-fashion-mnist"
DEB_VERSION = "0.0~git20200523.55506a9-1"
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
N_TRAIN = 55_000
CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

HOW_TO_GET = (
    "Fashion-MNIST comes from Debian's package dataset-fashion-mnist=" + DEB_VERSION + ". Fetch it with "
    "`npm run models` at the repository root (models/src/assets.ts downloads and unpacks it into the cache), or by "
    "hand: `apt-get update && apt-get download dataset-fashion-mnist=" + DEB_VERSION + " && dpkg-deb -x "
    "dataset-fashion-mnist_*.deb X` and pass --data X/usr/share/datasets/fashion-mnist. On a GPU host without "
    "network, carry the four .gz files there (see ../shared/gpu/README.md)."
)


def cache_root() -> Path:
    if os.environ.get("TRUSTVISION_CACHE"):
        return Path(os.environ["TRUSTVISION_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "trustvision"


def default_dir() -> Path:
    """Where models/src/assets.ts (`paths.fashionMnist()`) unpacks the data."""
    return (
        cache_root()
        / "assets"
        / "deb"
        / f"{DEB_PACKAGE}_{DEB_VERSION}_all"
        / "usr"
        / "share"
        / "datasets"
        / "fashion-mnist"
    )


def read_idx(path: Path) -> np.ndarray:
    """Parses one gzipped IDX file (magic 0x00000803 images, 0x00000801 labels) into a uint8 array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, n = struct.unpack(">II", raw[:8])
    if magic == 0x0803:
        rows, cols = struct.unpack(">II", raw[8:16])
        data = np.frombuffer(raw, dtype=np.uint8, offset=16)
        if data.size != n * rows * cols:
            raise ValueError(f"{path}: expected {n}x{rows}x{cols} bytes, found {data.size}")
        return data.reshape(n, rows, cols)
    if magic == 0x0801:
        data = np.frombuffer(raw, dtype=np.uint8, offset=8)
        if data.size != n:
            raise ValueError(f"{path}: expected {n} labels, found {data.size}")
        return data
    raise ValueError(f"{path}: not an IDX file (magic 0x{magic:08x})")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(data_dir: Path | str | None = None) -> dict:
    """Returns the three splits as uint8 images [N,28,28] and int64 labels [N], plus file hashes."""
    d = Path(data_dir) if data_dir else default_dir()
    missing = [name for name in FILES.values() if not (d / name).is_file()]
    if missing:
        raise FileNotFoundError(f"Fashion-MNIST not found in {d} (missing {', '.join(missing)}). {HOW_TO_GET}")
    arr = {key: read_idx(d / name) for key, name in FILES.items()}
    if arr["train_images"].shape != (60_000, 28, 28) or arr["test_images"].shape != (10_000, 28, 28):
        raise ValueError(f"unexpected Fashion-MNIST shapes in {d}")
    train_y = arr["train_labels"].astype(np.int64)
    test_y = arr["test_labels"].astype(np.int64)
    return {
        "dir": str(d),
        "sha256": {name: sha256_file(d / name) for name in FILES.values()},
        "train": (arr["train_images"][:N_TRAIN], train_y[:N_TRAIN]),
        "calibration": (arr["train_images"][N_TRAIN:], train_y[N_TRAIN:]),
        "test": (arr["test_images"], test_y),
    }
