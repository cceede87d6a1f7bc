#!/usr/bin/env python3
"""Stand-in mask-feature encoder for GCDSS, trained on BASE classes only (TrustVision, MIT).

A STAND-IN: GCDSS's official features come from DINOv2 ViT-g/14 (+ its ImageNet head), which cannot be had here.
This small CNN is trained on Fashion-MNIST objects rendered the way `@trustvision/gcdss`'s synthetic scene
benchmark (`packages/gcdss/src/scenes.ts`) renders them (upscaled, tinted, on grating textures), and then cut out
the way `maskFeatures` cuts out a segment: crop to the segment's box, fill the pixels outside the segment with the
crop's mean, resize to 32x32. It sees ONLY the base classes of the benchmark's split, so the novel classes are
novel to it too. ONNX contract (what `maskFeatures(..., { size: 32 })` feeds with its default ImageNet mean/std):

    input     float32 [batch, 3, 32, 32], RGB, NCHW, (pixel / 255 - mean) / std with ImageNet's mean
              (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225): the normalisation is OUTSIDE the graph
    features  float32 [batch, 128]   the embedding (Linear output before the ReLU; maskFeatures L2-normalises it)
    logits    float32 [batch, 7]     the base-class head (order: BASE_CLASSES below, then background)

Classes (benchmark ids; Fashion-MNIST ids in brackets):
    base   0 T-shirt/top [0], 1 Pullover [2], 2 Dress [3], 3 Shirt [6], 4 Sneaker [7], 5 Ankle boot [9],
           6 background (texture)
    novel  7 Trouser [1], 8 Coat [4], 9 Sandal [5], 10 Bag [8]   (never shown to this encoder)

Training crops. With --crops FILE.npz (the committed model's recipe), the crops come from @trustvision/gcdss's own
pipeline: `node packages/gcdss/bench/encoder-crops.mjs --out FILE.npz` builds labelled (base-only) scenes with
generateScenes from train images 0..54999, proposes Felzenszwalb segments as the benchmark does (plus the ground-truth
regions as whole-object crops) and cuts every segment out with maskedCrop + the 32x32 resize maskFeatures applies; a
crop's label is its segment's majority class. The loss weights classes by inverse frequency (background dominates).
Without --crops, this script renders its own crops in numpy (one seeded Generator), per sample:
    object      a Fashion-MNIST train image (official train 0..54999) of a base class, upscaled by s in [1.5, 2.5]
                (half-pixel bilinear), flipped with p = 0.5, object mask = upscaled value >= 40, pixels
                round(value * tint / 255) with tint ~ U[60, 255]^3, on a grating texture; the "segment" is the
                whole mask (40 %), its brighter or darker half by the median value (30 %) or the part on one side
                of a random line through it (30 %), so that the encoder sees fragments as a proposer makes them
    background  a texture patch of 12..100 px a side; the segment is the patch (40 %) or the pixels where its
                first grating exceeds a random level (60 %)
    texture     colour ~ U[40, 215]^3 plus two sine gratings (amplitude U[8, 32], frequency U[0.04, 0.2] cycles/px,
                random orientation and phase, per-channel weight U[0.5, 1.5]) plus uniform noise +-10, rounded
Architecture: 3 x [conv3x3 -> BatchNorm -> ReLU -> maxpool2] (16, 32, 64 channels; 32 -> 16 -> 8 -> 4), flatten
(1024) -> Linear 128 (= features) -> ReLU -> Linear 7 (= logits). Cross-entropy, AdamW, cosine decay.

The log reports the base-class accuracy on crops rendered from the official TEST images, and the 20-NN accuracy of
the features among the 4 novel classes (crops from train images as the gallery, test images as queries), a figure of
how separable the never-seen classes are.

Usage (the committed model; CPU, Debian's python3-torch, 1 thread; 3 to 10 minutes depending on the load):

    npm run build -w @trustvision/gcdss
    node packages/gcdss/bench/encoder-crops.mjs --out /tmp/gcdss-crops.npz      # 600 scenes, seed 1000
    /usr/bin/python3 models/python/gcdss_encoder.py --crops /tmp/gcdss-crops.npz --out /tmp/gcdss-encoder
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
from fashion_classifier import cpu_capability, onnx_ir_version  # noqa: E402

ONNX_NAME = "gcdss-encoder.onnx"
LOG_NAME = "gcdss-encoder.log.json"
SIZE = 32
BASE_CLASSES = [0, 2, 3, 6, 7, 9]  # Fashion-MNIST ids of the benchmark's base objects
NOVEL_CLASSES = [1, 4, 5, 8]
BACKGROUND = len(BASE_CLASSES)  # head index 6
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
MASK_THRESHOLD = 40.0


def upscale(img: np.ndarray, side: int) -> np.ndarray:
    """Half-pixel bilinear (PyTorch align_corners=False, no antialias) of a 28x28 uint8 image, float in 0..255."""
    t = torch.from_numpy(img.astype(np.float32))[None, None]
    return F.interpolate(t, size=(side, side), mode="bilinear", align_corners=False)[0, 0].numpy()


def texture(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [h, w, 3] grating texture and its first grating's field (for background segments)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    val = np.broadcast_to(rng.uniform(40, 215, 3), (h, w, 3)).copy()
    first = None
    for k in range(2):
        amp = rng.uniform(8, 32)
        freq = rng.uniform(0.04, 0.2)
        theta = rng.uniform(0, math.pi)
        phase = rng.uniform(0, 2 * math.pi)
        weight = rng.uniform(0.5, 1.5, 3)
        g = np.sin(2 * math.pi * freq * (x * math.cos(theta) + y * math.sin(theta)) + phase)
        if k == 0:
            first = g
        val += amp * g[..., None] * weight
    val += rng.uniform(-10, 10, (h, w, 3))
    return np.clip(np.floor(val + 0.5), 0, 255).astype(np.uint8), first


def masked_crop(canvas: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """maskFeatures's crop: tight box of `seg`, outside pixels = trunc(mean of the crop), resized to SIZE (rounded)."""
    ys, xs = np.nonzero(seg)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = canvas[y0:y1, x0:x1].copy()
    fill = int(crop.astype(np.float64).mean())
    crop[~seg[y0:y1, x0:x1]] = fill
    t = torch.from_numpy(crop.astype(np.float32)).permute(2, 0, 1)[None]
    r = F.interpolate(t, size=(SIZE, SIZE), mode="bilinear", align_corners=False)[0]
    return np.floor(r.permute(1, 2, 0).numpy() + 0.5).clip(0, 255).astype(np.uint8)


def object_crop(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    side = int(round(28 * rng.uniform(1.5, 2.5)))
    v = upscale(img, side)
    if rng.random() < 0.5:
        v = v[:, ::-1]
    mask = v >= MASK_THRESHOLD
    canvas, _ = texture(rng, side, side)
    tint = rng.uniform(60, 255, 3)
    obj = np.clip(np.floor(v[..., None] * tint / 255 + 0.5), 0, 255).astype(np.uint8)
    canvas[mask] = obj[mask]
    seg = mask
    r = rng.random()
    if r >= 0.4:
        if r < 0.7:
            q = np.median(v[mask])
            part = mask & (v >= q) if rng.random() < 0.5 else mask & (v < q)
        else:
            ys, xs = np.nonzero(mask)
            i = rng.integers(len(ys))
            a = rng.uniform(0, 2 * math.pi)
            yy, xx = np.mgrid[0:side, 0:side]
            part = mask & ((xx - xs[i]) * math.cos(a) + (yy - ys[i]) * math.sin(a) >= 0)
        if part.sum() >= 30:
            seg = part
    if seg.sum() == 0:  # an all-dark image (never in practice): use the whole patch
        seg = np.ones_like(mask)
    return masked_crop(canvas, seg)


def background_crop(rng: np.random.Generator) -> np.ndarray:
    h, w = int(rng.integers(12, 101)), int(rng.integers(12, 101))
    canvas, g = texture(rng, h, w)
    seg = np.ones((h, w), dtype=bool)
    if rng.random() >= 0.4:
        part = g > rng.uniform(-0.5, 0.5)
        if part.sum() >= 20:
            seg = part
    return masked_crop(canvas, seg)


def render(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray, classes: list[int], per_class: int,
           background: bool) -> tuple[np.ndarray, np.ndarray]:
    """per_class crops of each class in `classes` (head index = position) [+ background]: uint8 [N,32,32,3], int64 [N]."""
    xs, ys = [], []
    for j, c in enumerate(classes):
        idx = np.nonzero(labels == c)[0]
        pick = rng.choice(idx, size=per_class, replace=per_class > len(idx))
        for i in pick:
            xs.append(object_crop(rng, images[i]))
            ys.append(j)
    if background:
        for _ in range(per_class):
            xs.append(background_crop(rng))
            ys.append(BACKGROUND)
    return np.stack(xs), np.array(ys, dtype=np.int64)


def to_input(u8: np.ndarray) -> torch.Tensor:
    x = (u8.astype(np.float32) / np.float32(255.0) - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


class Encoder(nn.Module):
    def __init__(self, width: int = 16, feature_dim: int = 128, classes: int = BACKGROUND + 1):
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.body = nn.Sequential(block(3, width), block(width, 2 * width), block(2 * width, 4 * width))
        self.fc = nn.Linear(4 * width * 4 * 4, feature_dim)
        self.head = nn.Linear(feature_dim, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.fc(torch.flatten(self.body(x), 1))
        return f, self.head(F.relu(f))


@torch.no_grad()
def run(model: nn.Module, x: torch.Tensor, batch: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    outs = [model(x[i : i + batch]) for i in range(0, x.shape[0], batch)]
    return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])


@torch.no_grad()
def knn_accuracy(gal_f: torch.Tensor, gal_y: torch.Tensor, q_f: torch.Tensor, q_y: torch.Tensor, k: int = 20) -> float:
    a, b = F.normalize(gal_f, dim=1), F.normalize(q_f, dim=1)
    idx = (b @ a.t()).topk(k, dim=1).indices
    votes = F.one_hot(gal_y[idx], int(gal_y.max()) + 1).sum(1)
    return float((votes.argmax(1) == q_y).float().mean())


class Exported(nn.Module):
    def __init__(self, model: Encoder):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        return self.model(x)


def export_onnx(model: Encoder) -> bytes:
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(
        Exported(model),
        torch.zeros(1, 3, SIZE, SIZE),
        buf,
        input_names=["input"],
        output_names=["features", "logits"],
        dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        do_constant_folding=True,
        export_params=True,
    )
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=None, help=f"Fashion-MNIST folder (default: {fmnist.default_dir()})")
    ap.add_argument("--crops", default=None, help="training crops .npz from packages/gcdss/bench/encoder-crops.mjs")
    ap.add_argument("--per-class", type=int, default=6000, help="rendered training crops per class (without --crops)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    t_start = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    data = fmnist.load(args.data)
    train_u8, train_y = data["train"]
    test_u8, test_y = data["test"]
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    if args.crops:
        with np.load(args.crops) as z:
            x_u8, y = z["crops"], z["labels"].astype(np.int64)
        if x_u8.dtype != np.uint8 or x_u8.shape[1:] != (SIZE, SIZE, 3) or y.min() < 0 or y.max() > BACKGROUND:
            raise ValueError(f"{args.crops}: expected crops uint8 [N,{SIZE},{SIZE},3] and labels in 0..{BACKGROUND}")
    else:
        x_u8, y = render(rng, train_u8, train_y, BASE_CLASSES, args.per_class, True)
    xt_u8, yt = render(rng, test_u8, test_y, BASE_CLASSES, 500, True)
    ng_u8, ng_y = render(rng, train_u8, train_y, NOVEL_CLASSES, 500, False)
    nq_u8, nq_y = render(rng, test_u8, test_y, NOVEL_CLASSES, 500, False)
    render_seconds = time.time() - t0
    crops_sha = hashlib.sha256(x_u8.tobytes()).hexdigest()
    x, xt, ng, nq = to_input(x_u8), to_input(xt_u8), to_input(ng_u8), to_input(nq_u8)
    y_t = torch.from_numpy(y)
    print(f"{len(y)} training crops; rendering took {render_seconds:.1f} s; torch {torch.__version__}, "
          f"{args.threads} thread(s)", flush=True)

    model = Encoder()
    n_params = sum(p.numel() for p in model.parameters())
    counts = np.bincount(y, minlength=BACKGROUND + 1).astype(np.float64)
    class_weight = torch.tensor(len(y) / ((BACKGROUND + 1) * np.maximum(counts, 1)), dtype=torch.float32)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = x.shape[0] // args.batch
    total = steps * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    gen = torch.Generator().manual_seed(args.seed)
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        model.train()
        perm = torch.randperm(x.shape[0], generator=gen)
        loss_sum, correct = 0.0, 0
        for s in range(steps):
            b = perm[s * args.batch : (s + 1) * args.batch]
            xb, yb = x[b], y_t[b]
            flip = torch.rand(len(b), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            _, logits = model(xb)
            loss = F.cross_entropy(logits, yb, weight=class_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss)
            correct += int((logits.argmax(1) == yb).sum())
        row = {
            "epoch": epoch,
            "loss": loss_sum / steps,
            "train_accuracy": correct / (steps * args.batch),
            "seconds": round(time.time() - t0, 1),
        }
        history.append(row)
        print(f"epoch {epoch}/{args.epochs}: loss {row['loss']:.4f} acc {row['train_accuracy']:.4f} | "
              f"{row['seconds']} s", flush=True)
    train_seconds = time.time() - t_start

    _, test_logits = run(model, xt)
    base_acc = float((test_logits.argmax(1) == torch.from_numpy(yt)).float().mean())
    novel_knn = knn_accuracy(run(model, ng)[0], torch.from_numpy(ng_y), run(model, nq)[0], torch.from_numpy(nq_y))
    onnx_bytes = export_onnx(model)
    if export_onnx(model) != onnx_bytes:
        raise RuntimeError("two ONNX exports of the same model differ")
    ir = onnx_ir_version(onnx_bytes)
    if ir > 10:
        raise RuntimeError(f"ONNX IR version {ir} > 10")
    (out / ONNX_NAME).write_bytes(onnx_bytes)
    log = {
        "model": "gcdss-encoder",
        "standIn": True,
        "script": "models/python/gcdss_encoder.py",
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
            "split": "objects from official train 0..54999 of the base classes only; evaluation crops from t10k",
            "crops": (
                {"file": Path(args.crops).name, "sha256": fmnist.sha256_file(Path(args.crops)),
                 "maker": "node packages/gcdss/bench/encoder-crops.mjs (Felzenszwalb + oracle segments of labelled "
                 "base-only scenes, maskedCrop, 32x32 resize)"}
                if args.crops else None
            ),
            "class_counts": [int(c) for c in counts],
            "base_fmnist_classes": BASE_CLASSES,
            "novel_fmnist_classes": NOVEL_CLASSES,
            "training_crops": len(y),
            "training_crops_sha256": crops_sha,
            "render_seconds": round(render_seconds, 1),
        },
        "architecture": "3x[conv3x3-BN-ReLU-maxpool2] (16,32,64) -> Linear 1024->128 (features) -> ReLU -> "
        "Linear 128->7 (logits)",
        "parameters": n_params,
        "optimiser": f"AdamW lr {args.lr} cosine decay, weight decay 5e-4, batch {args.batch}, "
        "class-weighted cross-entropy, hflip",
        "epochs": history,
        "base_test_accuracy": base_acc,
        "novel_knn20_accuracy": novel_knn,
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
    print(f"base test accuracy {base_acc:.4f}; novel 20-NN accuracy {novel_knn:.4f}; ONNX {len(onnx_bytes)} bytes "
          f"sha256 {log['onnx']['sha256']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
