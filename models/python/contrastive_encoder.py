#!/usr/bin/env python3
"""Fashion-MNIST stand-in encoder for the probabilistic contrastive loss (TrustVision, MIT).

A STAND-IN: arXiv 2112.01642 does not say which encoder or data it used and publishes no weights. This is a small
CNN trained here, self-supervised (SimCLR-style: two augmented views per image, InfoNCE over the batch, no labels),
so that `@trustvision/prob-contrastive` has a real frozen encoder whose features its TypeScript trainer puts a
projection + concentration (kappa) head on. Its ONNX has one input and one output:

    input     float32 [batch, 1, 28, 28], grayscale, values in [0, 1] (pixel / 255), NCHW.
              Mean/std normalisation is INSIDE the graph (constants computed on the 55,000 training images).
    features  float32 [batch, 128]  (the representation: ReLU(Linear) after the conv trunk; the SimCLR projection
                                     head used during training is NOT exported, as is usual for SimCLR)

Architecture: 3 x [conv3x3 -> BatchNorm -> ReLU -> maxpool2] (16, 32, 64 channels; 28 -> 14 -> 7 -> 3), flatten
(576) -> Linear 128 -> ReLU = features. Training-only projection head: Linear 128->128 -> ReLU -> Linear 128->64.

Augmentations (per view, one seeded torch.Generator): random resized crop (area 0.45..1, aspect 3/4..4/3, via one
affine grid_sample), horizontal flip p=0.5, rotation +-10 degrees, brightness x[0.6,1.4] and contrast x[0.6,1.4].
Deliberately NOT used: Gaussian noise, blur and occlusion/erasing, the three corruptions on which the package's
claim evaluation measures kappa, so the encoder is not trained to be invariant to them.

Loss: NT-Xent (SimCLR) with temperature --tau over 2B views, Adam, cosine learning-rate decay.
Split (fmnist.py): train = official train 0..54999. The encoder never sees labels; the log reports the 20-NN
accuracy of its features (cosine, train -> test) only as a quality figure.

Usage (CPU, Debian's python3-torch, 1 thread; about 1 minute per epoch):

    /usr/bin/python3 models/python/contrastive_encoder.py --out /tmp/ce --epochs 5 --threads 1
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fmnist  # noqa: E402
from fashion_classifier import cpu_capability, onnx_ir_version, to_float  # noqa: E402

ONNX_NAME = "contrastive-encoder.onnx"
LOG_NAME = "contrastive-encoder.log.json"


class Encoder(nn.Module):
    def __init__(self, mean: float, std: float, width: int = 16, feature_dim: int = 128):
        super().__init__()
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) * self.inv_std
        return F.relu(self.fc(torch.flatten(self.body(x), 1)))


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One random view per image: resized crop + flip + small rotation (one affine warp), then brightness/contrast."""
    n = x.shape[0]
    u = lambda *s: torch.rand(*s, generator=gen)  # noqa: E731
    area = 0.45 + 0.55 * u(n)
    log_ratio = math.log(3 / 4) + (math.log(4 / 3) - math.log(3 / 4)) * u(n)
    ratio = torch.exp(log_ratio)
    sx = torch.sqrt(area * ratio).clamp(max=1.0)  # crop width / image width
    sy = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (1 - sx) * (2 * u(n) - 1)  # crop centre in [-1, 1] coordinates, crop stays inside
    cy = (1 - sy) * (2 * u(n) - 1)
    angle = (2 * u(n) - 1) * math.radians(10)
    flip = torch.where(u(n) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = sx * cos * flip
    theta[:, 0, 1] = -sy * sin
    theta[:, 1, 0] = sx * sin * flip
    theta[:, 1, 1] = sy * cos
    theta[:, 0, 2] = cx
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    v = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    bright = 0.6 + 0.8 * u(n, 1, 1, 1)
    contrast = 0.6 + 0.8 * u(n, 1, 1, 1)
    m = v.mean(dim=(2, 3), keepdim=True)
    v = ((v - m) * contrast + m) * bright
    return v.clamp(0.0, 1.0)


def nt_xent(h: torch.Tensor, tau: float) -> torch.Tensor:
    """SimCLR loss over 2B rows: rows k and k + B are the two views of one image."""
    z = F.normalize(h, dim=1)
    n = z.shape[0]
    b = n // 2
    s = z @ z.t() / tau
    s = s.masked_fill(torch.eye(n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(b, n), torch.arange(0, b)])
    return F.cross_entropy(s, target)


@torch.no_grad()
def features(model: nn.Module, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + batch]) for i in range(0, x.shape[0], batch)])


@torch.no_grad()
def knn_accuracy(train_f: torch.Tensor, train_y: torch.Tensor, test_f: torch.Tensor, test_y: torch.Tensor, k=20):
    a = F.normalize(train_f, dim=1)
    b = F.normalize(test_f, dim=1)
    correct = 0
    for i in range(0, b.shape[0], 500):
        sim = b[i : i + 500] @ a.t()
        idx = sim.topk(k, dim=1).indices
        votes = F.one_hot(train_y[idx], 10).sum(1)
        correct += int((votes.argmax(1) == test_y[i : i + 500]).sum())
    return correct / b.shape[0]


def export_onnx(model: nn.Module) -> bytes:
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(
        model,
        torch.zeros(1, 1, 28, 28),
        buf,
        input_names=["input"],
        output_names=["features"],
        dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}},
        opset_version=17,
        do_constant_folding=True,
        export_params=True,
    )
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=None, help=f"Fashion-MNIST folder (default: {fmnist.default_dir()})")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--tau", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N training images only")
    args = ap.parse_args(argv)

    t_start = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)

    data = fmnist.load(args.data)
    train_u8, train_y = data["train"]
    if args.limit:
        train_u8, train_y = train_u8[: args.limit], train_y[: args.limit]
    mean = float(train_u8.astype(np.float64).mean() / 255.0)
    std = float(train_u8.astype(np.float64).std() / 255.0)
    x_train = to_float(train_u8)
    x_test, y_test = to_float(data["test"][0]), torch.from_numpy(data["test"][1])

    model = Encoder(mean, std)
    proj = nn.Sequential(nn.Linear(128, 128), nn.ReLU(inplace=True), nn.Linear(128, 64))
    params = list(model.parameters()) + list(proj.parameters())
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, weight_decay=1e-6)
    steps = x_train.shape[0] // args.batch
    total = steps * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    gen = torch.Generator().manual_seed(args.seed)
    print(f"torch {torch.__version__}, {args.threads} thread(s); {n_params} encoder parameters; "
          f"{x_train.shape[0]} images, {steps} steps/epoch", flush=True)

    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        model.train()
        proj.train()
        perm = torch.randperm(x_train.shape[0], generator=gen)
        loss_sum = 0.0
        for s in range(steps):
            xb = x_train[perm[s * args.batch : (s + 1) * args.batch]]
            views = torch.cat([augment(xb, gen), augment(xb, gen)])
            loss = nt_xent(proj(model(views)), args.tau)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss)
        row = {"epoch": epoch, "loss": loss_sum / steps, "seconds": round(time.time() - t0, 1)}
        history.append(row)
        print(f"epoch {epoch}/{args.epochs}: NT-Xent {row['loss']:.4f} | {row['seconds']} s", flush=True)
    train_seconds = time.time() - t_start

    model = model.eval()
    knn = knn_accuracy(features(model, x_train), torch.from_numpy(train_y), features(model, x_test), y_test)
    onnx_bytes = export_onnx(model)
    ir = onnx_ir_version(onnx_bytes)
    if ir > 10:
        raise RuntimeError(f"ONNX IR version {ir} > 10")
    (out / ONNX_NAME).write_bytes(onnx_bytes)
    log = {
        "model": "contrastive-encoder",
        "standIn": True,
        "script": "models/python/contrastive_encoder.py",
        "command": " ".join([Path(sys.executable).as_posix(), *sys.argv]) if argv is None else None,
        "args": vars(args),
        "seed": args.seed,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "platform": platform.platform(),
            "cpu_capability": cpu_capability(),
        },
        "data": {
            "source": f"Debian {fmnist.DEB_PACKAGE} {fmnist.DEB_VERSION}",
            "sha256": data["sha256"],
            "split": "official train 0..54999" + (f" (first {args.limit})" if args.limit else "") + ", no labels",
            "normalisation": {"mean": mean, "std": std},
        },
        "architecture": "3x[conv3x3-BN-ReLU-maxpool2] (16,32,64) -> Linear 576->128 -> ReLU (features); "
        "training-only projection 128->128->64",
        "parameters": n_params,
        "optimiser": f"Adam lr {args.lr} cosine decay, weight decay 1e-6, batch {args.batch} (x2 views), NT-Xent tau {args.tau}",
        "augmentation": "random resized crop (area 0.45-1, aspect 3/4-4/3), hflip p=0.5, rotation +-10 deg, "
        "brightness and contrast x[0.6,1.4]; no noise, blur or occlusion",
        "epochs": history,
        "knn20_test_accuracy": knn,
        "onnx": {
            "file": ONNX_NAME,
            "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
            "bytes": len(onnx_bytes),
            "ir_version": ir,
            "opset": 17,
        },
        "train_seconds": round(train_seconds, 1),
    }
    (out / LOG_NAME).write_text(json.dumps(log, indent=2) + "\n")
    print(f"20-NN test accuracy {knn:.4f}; ONNX {len(onnx_bytes)} bytes sha256 {log['onnx']['sha256']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
