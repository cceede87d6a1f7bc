#!/usr/bin/env python3
"""Fashion-MNIST stand-in classifier for ProCal (TrustVision, MIT).

A STAND-IN: ProCal's paper calibrates ImageNet classifiers (ResNet-50, ViT, BEiT, MLP-Mixer from timm). This
is a small CNN trained here on open data so that the `procal` package has a real model with real logits and real
penultimate features to calibrate. Its ONNX has one input and two outputs:

    input     float32 [batch, 1, 28, 28], grayscale, values in [0, 1] (pixel / 255), NCHW.
              Mean/std normalisation is INSIDE the graph (constants computed on the 55,000 training images).
    logits    float32 [batch, 10]   (Fashion-MNIST classes, fmnist.CLASSES order)
    features  float32 [batch, 128]  (penultimate layer: ReLU(FC) that the linear head reads; ProCal's kNN
                                     proximity is computed on these)

Architecture: 3 x [conv3x3 -> BatchNorm -> ReLU -> maxpool2] (32, 64, 128 channels; 28 -> 14 -> 7 -> 3), flatten
(1152) -> Linear 128 -> ReLU = features -> Dropout 0.3 (training only) -> Linear 10 = logits.

Split (fmnist.py): train = official train 0..54999, calibration = official train 55000..59999 (held out: not
trained on and NOT used for model selection; the last epoch is exported), test = official t10k.

Training is deterministic on CPU: fixed seed, torch.use_deterministic_algorithms(True), a fixed thread count,
no DataLoader workers, shuffling and augmentation (horizontal flip, +-2 px shift) drawn from one seeded
torch.Generator. Outputs in --out:

    fashion-classifier.onnx    opset 17, dynamic batch, IR version <= 10
    fashion-classifier.log.json  per-epoch losses and accuracies, test/calibration accuracy, seed, versions, time,
                               sha256 of the data, the weights and the ONNX
    calibration.npz, test.npz  (unless --no-dumps) logits [N,10] float32, features [N,128] float32,
                               labels [N] int64, indices [N] int64 (index into the official file)

Usage (CPU, Debian's python3-torch; ~10-15 min on 2 cores):

    /usr/bin/python3 models/python/fashion_classifier.py --out /tmp/fc
    /usr/bin/python3 models/python/fashion_classifier.py --out /tmp/fc --data DIR --epochs 10 --seed 0 --threads 2
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning. On the shared 2-core machine, under other load, epochs took 250-410 s
# with spinning threads and 67-210 s without. It changes scheduling only, never results (verified: the same weights
# and ONNX bytes with and without it).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fmnist  # noqa: E402

ONNX_NAME = "fashion-classifier.onnx"
LOG_NAME = "fashion-classifier.log.json"


class FashionCNN(nn.Module):
    def __init__(self, mean: float, std: float, width: int = 32, feature_dim: int = 128, classes: int = 10):
        super().__init__()
        # Normalisation lives in the graph so the ONNX contract is simply "pixels / 255".
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("inv_std", torch.tensor(1.0 / std, dtype=torch.float32))

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.body = nn.Sequential(block(1, width), block(width, 2 * width), block(2 * width, 4 * width))
        self.fc = nn.Linear(4 * width * 3 * 3, feature_dim)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, classes)

    def forward(self, x: torch.Tensor):
        x = (x - self.mean) * self.inv_std
        x = torch.flatten(self.body(x), 1)
        features = F.relu(self.fc(x))
        logits = self.head(self.drop(features))
        return logits, features


def to_float(images: np.ndarray) -> torch.Tensor:
    """uint8 [N,28,28] -> float32 [N,1,28,28] in [0,1] (exactly pixel / 255 in float32)."""
    return torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)


def augment(x: torch.Tensor, gen: torch.Generator, shift: int = 2) -> torch.Tensor:
    """Random horizontal flip and a random shift of up to `shift` pixels (zero fill), per sample."""
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    offs = torch.randint(0, 2 * shift + 1, (n, 2), generator=gen)
    padded = F.pad(x, (shift, shift, shift, shift))
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = int(offs[i, 0]), int(offs[i, 1])
        out[i] = padded[i, :, dy : dy + 28, dx : dx + 28]
    return out


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch: int = 250):
    model.eval()
    logits, feats = [], []
    for i in range(0, x.shape[0], batch):
        lg, ft = model(x[i : i + batch])
        logits.append(lg)
        feats.append(ft)
    return torch.cat(logits), torch.cat(feats)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    logits, _ = predict(model, x)
    return {
        "loss": float(F.cross_entropy(logits, y)),
        "accuracy": float((logits.argmax(1) == y).double().mean()),
        "correct": int((logits.argmax(1) == y).sum()),
        "n": int(y.shape[0]),
    }


def state_sha256(model: nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def export_onnx(model: nn.Module) -> bytes:
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(
        model,
        torch.zeros(1, 1, 28, 28),
        buf,
        input_names=["input"],
        output_names=["logits", "features"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}},
        opset_version=17,
        do_constant_folding=True,
        export_params=True,
    )
    return buf.getvalue()


def onnx_ir_version(data: bytes) -> int:
    """ModelProto field 1 (ir_version, varint): the file starts with tag 0x08. No onnx package needed."""
    if not data or data[0] != 0x08:
        raise ValueError("ONNX file does not start with ir_version")
    value, shift, i = 0, 0, 1
    while True:
        b = data[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value
        shift += 7


def cpu_capability() -> str | None:
    """The SIMD level ATen dispatches to (AVX2, AVX512...): results are bitwise reproducible only at the same level."""
    if hasattr(torch.backends, "cpu") and hasattr(torch.backends.cpu, "get_cpu_capability"):
        return torch.backends.cpu.get_cpu_capability()
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--data", default=None, help=f"Fashion-MNIST folder (default: {fmnist.default_dir()})")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (AdamW, one-cycle schedule)")
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (fixed for reproducibility)")
    ap.add_argument("--limit", type=int, default=0, help="train on the first N training images only (smoke tests)")
    ap.add_argument("--device", default="cpu", help="cpu (bitwise reproducible) or cuda (faster, not bitwise)")
    ap.add_argument("--no-dumps", action="store_true", help="do not write calibration.npz / test.npz")
    args = ap.parse_args(argv)

    t_start = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    if args.device.startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    device = torch.device(args.device)

    data = fmnist.load(args.data)
    train_u8, train_y = data["train"]
    if args.limit:
        train_u8, train_y = train_u8[: args.limit], train_y[: args.limit]
    # Normalisation constants from the training split only (float64 over uint8: exact and order-independent).
    mean = float(train_u8.astype(np.float64).mean() / 255.0)
    std = float(train_u8.astype(np.float64).std() / 255.0)

    x_train, y_train = to_float(train_u8), torch.from_numpy(train_y)
    x_cal, y_cal = to_float(data["calibration"][0]), torch.from_numpy(data["calibration"][1])
    x_test, y_test = to_float(data["test"][0]), torch.from_numpy(data["test"][1])

    model = FashionCNN(mean, std).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = (x_train.shape[0] + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch, pct_start=0.2
    )
    gen = torch.Generator().manual_seed(args.seed)

    print(
        f"torch {torch.__version__}, {args.threads} threads, device {device}; {n_params} parameters; "
        f"train {x_train.shape[0]}, calibration {x_cal.shape[0]}, test {x_test.shape[0]}; mean {mean:.6f} std {std:.6f}",
        flush=True,
    )
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        model.train()
        perm = torch.randperm(x_train.shape[0], generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch : (s + 1) * args.batch]
            xb = augment(x_train[idx], gen).to(device)
            yb = y_train[idx].to(device)
            logits, _ = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * yb.shape[0]
            correct += int((logits.argmax(1) == yb).sum())
            seen += yb.shape[0]
        model_cpu = model if device.type == "cpu" else model.to("cpu")
        cal = evaluate(model_cpu, x_cal, y_cal)
        if model_cpu is not model:
            model.to(device)
        row = {
            "epoch": epoch,
            "train_loss": loss_sum / seen,
            "train_accuracy": correct / seen,
            "calibration_loss": cal["loss"],
            "calibration_accuracy": cal["accuracy"],
            "seconds": round(time.time() - t0, 1),
        }
        history.append(row)
        print(
            f"epoch {epoch}/{args.epochs}: train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.4f} | "
            f"calibration loss {cal['loss']:.4f} acc {cal['accuracy']:.4f} | {row['seconds']} s",
            flush=True,
        )
    train_seconds = time.time() - t_start

    model = model.to("cpu").eval()
    cal = evaluate(model, x_cal, y_cal)
    test = evaluate(model, x_test, y_test)
    onnx_bytes = export_onnx(model)
    if export_onnx(model) != onnx_bytes:
        raise RuntimeError("two ONNX exports of the same weights differ")
    ir = onnx_ir_version(onnx_bytes)
    if ir > 10:
        raise RuntimeError(f"ONNX IR version {ir} > 10; ONNX Runtime 1.30 reads at most 10..13, the project pins <= 10")
    (out / ONNX_NAME).write_bytes(onnx_bytes)

    dumps = {}
    if not args.no_dumps:
        for split, x, y, first in (
            ("calibration", x_cal, y_cal, fmnist.N_TRAIN),
            ("test", x_test, y_test, 0),
        ):
            logits, feats = predict(model, x)
            file = out / f"{split}.npz"
            np.savez_compressed(
                file,
                logits=logits.numpy().astype(np.float32),
                features=feats.numpy().astype(np.float32),
                labels=y.numpy().astype(np.int64),
                indices=np.arange(first, first + y.shape[0], dtype=np.int64),
            )
            dumps[split] = {"file": file.name, "bytes": file.stat().st_size}

    log = {
        "model": "fashion-classifier",
        "standIn": True,
        "script": "models/python/fashion_classifier.py",
        "command": " ".join([Path(sys.executable).as_posix(), *sys.argv]) if argv is None else None,
        "args": vars(args),
        "seed": args.seed,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpu_capability": cpu_capability(),
        },
        "threads": args.threads,
        "data": {
            "source": f"Debian {fmnist.DEB_PACKAGE} {fmnist.DEB_VERSION}",
            "dir": data["dir"],
            "sha256": data["sha256"],
            "split": {
                "train": f"official train 0..{fmnist.N_TRAIN - 1}" + (f" (first {args.limit} only)" if args.limit else ""),
                "calibration": f"official train {fmnist.N_TRAIN}..59999",
                "test": "official t10k 0..9999",
            },
            "normalisation": {"mean": mean, "std": std, "note": "inside the graph; input is pixel/255"},
        },
        "architecture": "3x[conv3x3-BN-ReLU-maxpool2] (32,64,128) -> Linear 1152->128 -> ReLU (features) -> Dropout 0.3 -> Linear 128->10 (logits)",
        "parameters": n_params,
        "optimiser": f"AdamW lr {args.lr} (one-cycle, pct_start 0.2), weight decay {args.weight_decay}, batch {args.batch}",
        "augmentation": "horizontal flip p=0.5, shift up to +-2 px (zero fill)",
        "epochs": history,
        "calibration": cal,
        "test": test,
        "weights_sha256": state_sha256(model),
        "onnx": {
            "file": ONNX_NAME,
            "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
            "bytes": len(onnx_bytes),
            "ir_version": ir,
            "opset": 17,
            "inputs": {"input": ["batch", 1, 28, 28]},
            "outputs": {"logits": ["batch", 10], "features": ["batch", 128]},
        },
        "dumps": dumps,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - t_start, 1),
    }
    (out / LOG_NAME).write_text(json.dumps(log, indent=2) + "\n")
    print(
        f"test accuracy {test['accuracy']:.4f} ({test['correct']}/{test['n']}), calibration accuracy "
        f"{cal['accuracy']:.4f}; ONNX {len(onnx_bytes)} bytes IR {ir} sha256 {log['onnx']['sha256']}; "
        f"weights sha256 {log['weights_sha256']}; {log['total_seconds']} s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
