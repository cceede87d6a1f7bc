#!/usr/bin/env python3
"""MinusFace STAND-IN models trained on Fashion-MNIST (TrustVision, MIT).

MinusFace (CVPR 2024) trains a generator g (192 -> 192 channels, on the block-DCT representation e(X)) jointly with a
recogniser f on the DCT-domain residue r = e(X) - g(e(X)) (stage 1), then freezes g and trains the deployed recogniser
f_p on protected images X_p = d(shuffle(r)) (stage 2). No weights were released and there is NO identity-labelled
face data set here, so this script trains small stand-ins on Fashion-MNIST, with the 10 garment classes playing the
part of identities. What that means: the models learn to tell ten garment types apart, not faces; "identities" have
6,000 examples each and there are only ten of them, so verification on the test split is far easier than face
verification, and nothing here says anything about the paper's face-recognition figures. The privacy figures
(SSIM/PSNR of X_p and of a recovery attack) are measured on 16x16 garments, not faces.

Images: Fashion-MNIST 28x28 grayscale, pixel/255, 2x2-mean-pooled to 14x14, zero-padded to 16x16 (the data's
background is black) and replicated to RGB. 16 px is what the shared 2-core CPU affords: every step touches the
192 x H x W representation (memory-bound). The transform e/d is resolution-agnostic (x8 upsampling, 8x8 blocks):
e maps [B,3,16,16] to [B,192,16,16].

Stages (each writes its checkpoint into --out and can be run on its own; a stage whose checkpoint exists is skipped):

  stage1    g (small U-Net, 192 -> 192, no BN, official ConvBlock/ConvTranspose layout at reduced widths, with a fixed
            per-channel input/output scale inside) and f (small CNN on r) jointly:
            L = 5 * mean|X - X'| + 1 * ArcFace-CE(f(r), y), X' = 2 d(g(e(X))) - 1, X = 2U - 1  (spec B.2, B.4).
  stage2    g frozen; fresh f_p (small CNN, input X_p in [0,1]) with ArcFace-CE on X_p = d(s(r)), a fresh random
            channel permutation per sample and per pass; training set replicated x3 (NUM_AUG 3, spec B.4).
  baseline  the same f_p architecture trained the same way on the raw images U (the "unprotected" reference).
  attack    recovery attack (spec B.8): f^-1 maps X_p -> U, trained on train-split X_p with fresh permutations (Adam
            lr 1e-3 with cosine decay, batch 64 as in the paper; loss L1 + 0.5 (1 - SSIM)); measured on the test split.
            Its graph takes X_p exactly as the server sees it and standardises it inside (per image: z-score per
            channel and over all channels; X_p varies by ~1e-2 around grey), then a 3-level U-Net with BN (32/64/128)
            and a sigmoid whose bias starts at logit(mean pixel). The first version (no standardisation, no BN, L1,
            constant lr) collapsed to a near-constant dark output; its figures are kept in the log as
            previous_attack_v1.
  attack_reference
            the same attacker architecture, loss and step budget on UNPROTECTED but degraded input: the raw image X
            blurred by a fixed Gaussian (sigma --reference-blur px, inside the graph). It shows what this attacker
            reaches when the image is present in its input, so the X_p attack's figures can be read.
  export_attack
            re-export only minusface-attacker.onnx and minusface-attacker-reference.onnx (image [N,3,H,W] -> x_rec)
            and update an existing log (--log; --reference-dir where attack_reference ran), leaving the generator,
            recogniser and baseline files and log entries untouched.
  export    ONNX files (opset 17, IR <= 10): minusface-generator.onnx (x [N,192,H,W] -> x_regen [N,192,H,W], dynamic
            N, H, W with H, W multiples of 4), minusface-recognizer.onnx (x_p [N,3,16,16] in [0,1] -> embedding
            [N,128]), minusface-baseline.onnx (same contract, raw images), minusface-attacker.onnx (x_p [N,3,H,W] ->
            x_rec [N,3,H,W]); and minusface-standin.log.json.

Differences from the paper's recipe, forced by a CPU budget (<= 25 min for stage1 + stage2 + baseline, <= 10 min for
both attackers, one thread): small widths, Adam(W) instead of SGD, a fixed number of steps instead of 24 epochs, ArcFace
s = 32 (paper 64) with margin 0.5 in stage 1; in stage 2 and the baseline s = 16 and a margin ramped from 0 to 0.2
over the first 30 % of the steps (with s = 32, m = 0.5 from scratch, f_p on X_p collapsed to chance in a first run:
train accuracy 0.10 after 350 steps), 128-d embeddings (paper 512), 10 classes.

Usage (Debian python3-torch 1.13, CPU):
    /usr/bin/python3 models/python/minusface_standin.py --out /tmp/mf            # all stages
    /usr/bin/python3 models/python/minusface_standin.py --out /tmp/mf --stages stage1,stage2
    # attackers only (needs stage1.pt + dct_scale.pt in --out), then re-export them into an existing log:
    /usr/bin/python3 models/python/minusface_standin.py --out /tmp/mf --stages attack --steps-attack 550 \
        --attack-seconds 420
    /usr/bin/python3 models/python/minusface_standin.py --out /tmp/mfr --stages attack_reference --steps-attack 550
    /usr/bin/python3 models/python/minusface_standin.py --out /tmp/mf --stages export_attack --reference-dir /tmp/mfr \
        --log models/prebuilt/minusface-standin.log.json
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
from minusface_dct import REP_CHANNELS, DctCodec, shuffle_channels  # noqa: E402

SIZE = 16
EMB = 128
EVAL_N = 2000  # the Python log evaluates on the first 2,000 test images; the TypeScript bench on the full split
EVAL_BATCH = 100
CLASSES = 10


# ----------------------------------------------------------------------------------------------------------------
# data


def to_rgb(images: np.ndarray) -> torch.Tensor:
    """uint8 [N,28,28] -> float32 [N,3,16,16] in [0,1]: pixel/255, exact 2x2 mean (28 -> 14), zero-pad 1 px each side
    (the data's background is black), replicate to RGB. `@trustvision/minusface`'s bench does the same in TypeScript."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    x = (x[:, 0::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 0::2] + x[:, 1::2, 1::2]) * 0.25
    x = F.pad(x, (1, 1, 1, 1))
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


def batches(n: int, batch: int, steps: int, gen: torch.Generator, replicate: int = 1):
    """`steps` index batches from seeded shuffles of range(n) repeated `replicate` times (epochs wrap)."""
    pool = torch.empty(0, dtype=torch.long)
    for _ in range(steps):
        while pool.numel() < batch:
            pool = torch.cat([pool, torch.randperm(n * replicate, generator=gen) % n])
        idx, pool = pool[:batch], pool[batch:]
        yield idx


def hflip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    m = torch.rand(x.shape[0], generator=gen) < 0.5
    x = x.clone()
    x[m] = x[m].flip(-1)
    return x


# ----------------------------------------------------------------------------------------------------------------
# models


def conv_block(cin: int, cout: int) -> nn.Sequential:
    """The official U-Net ConvBlock: (3x3 conv, padding 1, ReLU) x 2, no BN."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU())


class UNet(nn.Module):
    """Official U-Net layout (ConvBlocks, 2x2 max-pool, ConvTranspose k3 s2 p1 op1, skip concat, 1x1 head), 3 levels.
    With `stem`, a 1x1 convolution cin -> widths[0] + ReLU replaces the first ConvBlock's first 3x3 convolution (the
    192-channel input would otherwise dominate the CPU cost)."""

    def __init__(self, cin: int, cout: int, widths=(16, 32, 64), stem: bool = False):
        super().__init__()
        a, b, c = widths
        first = (
            nn.Sequential(nn.Conv2d(cin, a, 1), nn.ReLU(), nn.Conv2d(a, a, 3, padding=1), nn.ReLU())
            if stem
            else conv_block(cin, a)
        )
        self.e1, self.e2, self.e3 = first, conv_block(a, b), conv_block(b, c)
        self.u2 = nn.ConvTranspose2d(c, b, 3, stride=2, padding=1, output_padding=1)
        self.d2 = conv_block(2 * b, b)
        self.u1 = nn.ConvTranspose2d(b, a, 3, stride=2, padding=1, output_padding=1)
        self.d1 = conv_block(2 * a, a)
        self.head = nn.Conv2d(a, cout, 1)

    def forward(self, x):
        x1 = self.e1(x)
        x2 = self.e2(F.max_pool2d(x1, 2))
        x3 = self.e3(F.max_pool2d(x2, 2))
        y = self.d2(torch.cat([self.u2(x3), x2], 1))
        y = self.d1(torch.cat([self.u1(y), x1], 1))
        return self.head(y)


class Generator(nn.Module):
    """g: raw DCT coefficients [N,192,H,W] -> regenerated coefficients. A fixed per-channel scale (the std of e(X) on
    the training images) divides the input and multiplies the output, so the raw-scale contract holds while the U-Net
    sees unit-scale values. Unlike the official U-Net, g has a learnable per-channel identity path:
    g(x) = gain * x + scale * unet(x / scale), gain initialised to 1, so that g starts near the identity and the
    stand-in converges within a CPU budget (r = (1 - gain) x - scale * unet(x / scale))."""

    def __init__(self, scale: torch.Tensor, widths=(16, 32, 64)):
        super().__init__()
        self.register_buffer("scale", scale.reshape(1, REP_CHANNELS, 1, 1).float())
        self.gain = nn.Parameter(torch.ones(1, REP_CHANNELS, 1, 1))
        self.net = UNet(REP_CHANNELS, REP_CHANNELS, widths, stem=True)

    def forward(self, x):
        return self.gain * x + self.net(x / self.scale) * self.scale


def cbp(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.PReLU(cout))


class Recognizer(nn.Module):
    """Small IR-like CNN: input layer conv3x3 -> BN -> PReLU, three stride-2 stages (32 -> 16 -> 8 -> 4), output layer
    BN2d -> Dropout -> Linear (w*16 -> 128) -> BN1d (affine=False), as TFace's output layer. `pre` maps the input to
    the network's scale: for images in [0,1] (x - 0.5) / 0.5; for the residue r a fixed per-channel 1/scale."""

    def __init__(self, cin: int, pre_scale: torch.Tensor | None = None, width: int = 32, size: int = SIZE):
        super().__init__()
        if pre_scale is None:
            self.register_buffer("pre_mul", torch.full((1, cin, 1, 1), 2.0))
            self.register_buffer("pre_add", torch.full((1, cin, 1, 1), -1.0))
        else:
            self.register_buffer("pre_mul", (1.0 / pre_scale).reshape(1, cin, 1, 1).float())
            self.register_buffer("pre_add", torch.zeros(1, cin, 1, 1))
        w = width
        stem = (
            nn.Sequential(nn.Conv2d(cin, w, 1, bias=False), nn.BatchNorm2d(w), nn.PReLU(w))
            if cin > 3
            else cbp(cin, w, 1)
        )
        self.body = nn.Sequential(stem, cbp(w, w, 1), cbp(w, 2 * w, 2), cbp(2 * w, 2 * w, 1), cbp(2 * w, 4 * w, 2))
        cells = (size // 4) ** 2
        self.out = nn.Sequential(
            nn.BatchNorm2d(4 * w), nn.Dropout(0.4), nn.Flatten(), nn.Linear(4 * w * cells, EMB), nn.BatchNorm1d(EMB, affine=False)
        )

    def forward(self, x):
        return self.out(self.body(x * self.pre_mul + self.pre_add))


class ArcFace(nn.Module):
    """Additive angular margin head: logits s*cos(theta + m) for the target class, s*cos(theta) otherwise."""

    def __init__(self, emb: int, classes: int, s: float = 32.0, m: float = 0.5):
        super().__init__()
        self.w = nn.Parameter(torch.randn(classes, emb) * 0.01)
        self.s, self.m = s, m

    def forward(self, e, y):
        cos = F.linear(F.normalize(e), F.normalize(self.w)).clamp(-1 + 1e-7, 1 - 1e-7)
        sin = torch.sqrt(1 - cos * cos)
        phi = cos * math.cos(self.m) - sin * math.sin(self.m)
        # beyond theta = pi - m, cos(theta + m) is not monotonic: use cos - m sin(m) instead (insightface's convention)
        phi = torch.where(cos > math.cos(math.pi - self.m), phi, cos - math.sin(math.pi - self.m) * self.m)
        onehot = F.one_hot(y, cos.shape[1]).bool()
        return self.s * torch.where(onehot, phi, cos), cos


# ----------------------------------------------------------------------------------------------------------------
# helpers


def state_sha256(model: nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def onnx_ir_version(data: bytes) -> int:
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


def export(model: nn.Module, example: torch.Tensor, inp: str, outp: str, dyn: dict) -> bytes:
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(
        model,
        example,
        buf,
        input_names=[inp],
        output_names=[outp],
        dynamic_axes=dyn,
        opset_version=17,
        do_constant_folding=True,
    )
    data = buf.getvalue()
    if onnx_ir_version(data) > 10:
        raise RuntimeError("IR version > 10: ONNX Runtime 1.30 would reject it")
    return data


@torch.no_grad()
def embed(model: nn.Module, x: torch.Tensor, batch: int = EVAL_BATCH) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + batch]) for i in range(0, len(x), batch)])


def class_accuracy(emb: torch.Tensor, head: ArcFace, y: torch.Tensor) -> float:
    cos = F.linear(F.normalize(emb), F.normalize(head.w.detach()))
    return float((cos.argmax(1) == y).float().mean())


class Ctx:
    def __init__(self, args):
        self.args = args
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.data = fmnist.load(args.data)
        xtr, ytr = self.data["train"]
        xte, yte = self.data["test"]
        self.xtr, self.ytr = xtr, torch.from_numpy(ytr)
        self.xte, self.yte = xte, torch.from_numpy(yte)
        self.codec = DctCodec()
        self.log_path = self.out / "stages.json"
        self.log = json.loads(self.log_path.read_text()) if self.log_path.exists() else {}

    def images(self, idx: torch.Tensor, train: bool = True) -> torch.Tensor:
        src = self.xtr if train else self.xte
        return to_rgb(src[idx.numpy()])

    def save_log(self):
        tmp = self.log_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.log, indent=2))
        tmp.replace(self.log_path)

    def dct_scale(self) -> torch.Tensor:
        p = self.out / "dct_scale.pt"
        if p.exists():
            return torch.load(p)
        g = torch.Generator().manual_seed(self.args.seed)
        idx = torch.randperm(len(self.xtr), generator=g)[:2000]
        with torch.no_grad():
            e = torch.cat([self.codec.encode(self.images(idx[i : i + 100])) for i in range(0, 2000, 100)])
        s = e.std(dim=(0, 2, 3)).clamp_min(1.0)
        torch.save(s, p)
        return s

    def save_ckpt(self, name, obj):
        tmp = self.out / f"{name}.pt.tmp"
        torch.save(obj, tmp)
        tmp.replace(self.out / f"{name}.pt")

    def has(self, name):
        return (self.out / f"{name}.pt").exists()


def schedule(opt, base_lrs, step, steps, warm=100):
    f = min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * step / steps))
    for g, lr in zip(opt.param_groups, base_lrs):
        g["lr"] = lr * f


def protect_batch(ctx: Ctx, g: nn.Module, u: torch.Tensor, gen: torch.Generator, shuffle: bool = True) -> torch.Tensor:
    with torch.no_grad():
        x = ctx.codec.encode(u)
        r = x - g(x)
        return ctx.codec.decode(shuffle_channels(r, gen) if shuffle else r)


# ----------------------------------------------------------------------------------------------------------------
# stages


def stage1(ctx: Ctx):
    a = ctx.args
    torch.manual_seed(a.seed)
    scale = ctx.dct_scale()
    g = Generator(scale)
    f = Recognizer(REP_CHANNELS, pre_scale=scale)
    head = ArcFace(EMB, CLASSES, s=a.arc_s, m=a.arc_m)
    opt = torch.optim.AdamW(
        [
            {"params": g.parameters(), "lr": a.lr * a.gen_lr_mult},
            {"params": list(f.parameters()) + list(head.parameters()), "lr": a.lr},
        ],
        weight_decay=a.weight_decay,
    )
    base = [a.lr * a.gen_lr_mult, a.lr]
    gen = torch.Generator().manual_seed(a.seed + 1)
    hist, t0 = [], time.time()
    g.train(), f.train()
    acc = {"gen": 0.0, "fr": 0.0, "n": 0, "correct": 0}
    for step, idx in enumerate(batches(len(ctx.xtr), a.batch, a.steps1, gen)):
        schedule(opt, base, step, a.steps1)
        u = hflip(ctx.images(idx), gen)
        y = ctx.ytr[idx]
        x = ctx.codec.encode(u)
        xr = g(x)
        xrec = ctx.codec.decode(xr)
        l_gen = (2 * u - 2 * xrec).abs().mean()  # |X - X'| on the [-1, 1] scale
        r = x - xr
        logits, cos = head(f(r), y)
        l_fr = F.cross_entropy(logits, y)
        loss = a.alpha * l_gen + a.beta * l_fr
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc["gen"] += float(l_gen)
        acc["fr"] += float(l_fr)
        acc["correct"] += int((cos.argmax(1) == y).sum())
        acc["n"] += len(y)
        if (step + 1) % a.log_every == 0 or step + 1 == a.steps1:
            k = a.log_every if (step + 1) % a.log_every == 0 else (step + 1) % a.log_every
            rec = {
                "step": step + 1,
                "l_gen": acc["gen"] / k,
                "l_fr": acc["fr"] / k,
                "train_acc": acc["correct"] / acc["n"],
                "seconds": round(time.time() - t0, 1),
            }
            hist.append(rec)
            print("stage1", rec, flush=True)
            acc = {"gen": 0.0, "fr": 0.0, "n": 0, "correct": 0}
    # test: classification accuracy of f on r, and L1 / PSNR of the regeneration
    g.eval(), f.eval()
    idx = torch.arange(EVAL_N)
    embs, l1s, blanks = [], [], []
    with torch.no_grad():
        for i in range(0, len(idx), EVAL_BATCH):
            u = ctx.images(idx[i : i + EVAL_BATCH], train=False)
            x = ctx.codec.encode(u)
            xr = g(x)
            embs.append(f(x - xr))
            l1s.append(float((u - ctx.codec.decode(xr)).abs().mean()))
            blanks.append(float((ctx.codec.decode(x - xr) - 128 / 255).abs().mean()))
    emb = torch.cat(embs)
    ctx.log["stage1"] = {
        "steps": a.steps1,
        "history": hist,
        "seconds": round(time.time() - t0, 1),
        "test_accuracy_f_on_r_first2000": class_accuracy(emb, head, ctx.yte[:EVAL_N]),
        "test_regeneration_l1_01": float(np.mean(l1s)),
        "test_mean_abs_decoded_residue_minus_grey": float(np.mean(blanks)),
    }
    ctx.save_ckpt("stage1", {"g": g.state_dict(), "f": f.state_dict(), "head": head.state_dict(), "scale": scale})
    ctx.save_log()


def load_generator(ctx: Ctx) -> Generator:
    ck = torch.load(ctx.out / "stage1.pt")
    g = Generator(ck["scale"])
    g.load_state_dict(ck["g"])
    g.eval()
    for p in g.parameters():
        p.requires_grad_(False)
    return g


def train_recognizer(ctx: Ctx, name: str, steps: int, protected: bool):
    a = ctx.args
    torch.manual_seed(a.seed + (2 if protected else 3))
    g = load_generator(ctx) if protected else None
    fp = Recognizer(3)
    head = ArcFace(EMB, CLASSES, s=a.arc_s2, m=0.0)
    opt = torch.optim.AdamW(list(fp.parameters()) + list(head.parameters()), lr=a.lr, weight_decay=a.weight_decay)
    ramp = max(1, int(a.margin_ramp * steps))
    gen = torch.Generator().manual_seed(a.seed + (4 if protected else 5))
    hist, t0 = [], time.time()
    fp.train()
    acc = {"l": 0.0, "n": 0, "c": 0}
    for step, idx in enumerate(batches(len(ctx.xtr), a.batch, steps, gen, replicate=3)):
        schedule(opt, [a.lr], step, steps)
        head.m = a.arc_m2 * min(1.0, step / ramp)  # margin warm-up: ArcFace s=32/m=0.5 from scratch collapsed on X_p
        u = hflip(ctx.images(idx), gen)
        y = ctx.ytr[idx]
        inp = protect_batch(ctx, g, u, gen) if protected else u
        logits, cos = head(fp(inp), y)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc["l"] += float(loss)
        acc["c"] += int((cos.argmax(1) == y).sum())
        acc["n"] += len(y)
        if (step + 1) % a.log_every == 0 or step + 1 == steps:
            k = a.log_every if (step + 1) % a.log_every == 0 else (step + 1) % a.log_every
            rec = {"step": step + 1, "loss": acc["l"] / k, "train_acc": acc["c"] / acc["n"], "seconds": round(time.time() - t0, 1)}
            hist.append(rec)
            print(name, rec, flush=True)
            acc = {"l": 0.0, "n": 0, "c": 0}
    fp.eval()
    gen_t = torch.Generator().manual_seed(a.seed + 6)
    idx = torch.arange(EVAL_N)
    xs = []
    for i in range(0, len(idx), EVAL_BATCH):
        u = ctx.images(idx[i : i + EVAL_BATCH], train=False)
        xs.append(protect_batch(ctx, g, u, gen_t) if protected else u)
    emb = embed(fp, torch.cat(xs))
    ctx.log[name] = {
        "steps": steps,
        "history": hist,
        "seconds": round(time.time() - t0, 1),
        "test_class_accuracy_first2000": class_accuracy(emb, head, ctx.yte[:EVAL_N]),
    }
    ctx.save_ckpt(name, {"fp": fp.state_dict(), "head": head.state_dict()})
    ctx.save_log()


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    mse = ((a - b) ** 2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse)


class PerImageZ(nn.Module):
    """Inside the attacker's graph: standardise each input image per channel (z-score over H, W) and as a whole
    (z-score over C, H, W), concatenated (3 + 3 channels). X_p varies by ~1e-2 around grey, so a network fed X_p as
    it is sees an almost constant input; the first attacker (v1) did exactly that and collapsed to a constant output."""

    def forward(self, x):
        dc = x - x.mean((2, 3), keepdim=True)
        zc = dc / torch.sqrt((dc * dc).mean((2, 3), keepdim=True) + 1e-12)
        di = x - x.mean((1, 2, 3), keepdim=True)
        zi = di / torch.sqrt((di * di).mean((1, 2, 3), keepdim=True) + 1e-12)
        return torch.cat([zc, zi], 1)


def bn_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
    )


class Attacker(nn.Module):
    """Recovery attack f^-1 (v2): optional fixed degradation (the reference attack only), PerImageZ, a 3-level U-Net
    with BN (widths 32/64/128, 16 -> 8 -> 4), sigmoid output whose head bias starts at logit(mean training pixel) so
    training starts from the trivial "mean grey level" answer. Fully convolutional: H, W multiples of 4."""

    def __init__(self, widths=(32, 64, 128), blur_sigma: float = 0.0, prior: float = 0.286):
        super().__init__()
        a, b, c = widths
        self.blur_sigma = blur_sigma
        if blur_sigma > 0:
            k = torch.arange(7, dtype=torch.float32) - 3
            w = torch.exp(-k * k / (2 * blur_sigma**2))
            w = w / w.sum()
            self.register_buffer("blur", (w[:, None] * w[None, :]).expand(3, 1, 7, 7).contiguous())
        self.z = PerImageZ()
        self.e1, self.e2, self.e3 = bn_block(6, a), bn_block(a, b), bn_block(b, c)
        self.u2 = nn.ConvTranspose2d(c, b, 3, stride=2, padding=1, output_padding=1)
        self.d2 = bn_block(2 * b, b)
        self.u1 = nn.ConvTranspose2d(b, a, 3, stride=2, padding=1, output_padding=1)
        self.d1 = bn_block(2 * a, a)
        self.head = nn.Conv2d(a, 3, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.constant_(self.head.bias, math.log(prior / (1 - prior)))

    def degrade(self, x):
        # reference attack: Gaussian blur (7x7, replicate padding) of the raw image, part of the graph
        return F.conv2d(F.pad(x, (3, 3, 3, 3), mode="replicate"), self.blur, groups=3) if self.blur_sigma > 0 else x

    def forward(self, x):
        x1 = self.e1(self.z(self.degrade(x)))
        x2 = self.e2(F.max_pool2d(x1, 2))
        x3 = self.e3(F.max_pool2d(x2, 2))
        y = self.d2(torch.cat([self.u2(x3), x2], 1))
        y = self.d1(torch.cat([self.u1(y), x1], 1))
        return torch.sigmoid(self.head(y))


def ssim_t(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM, skimage's defaults (7x7 uniform window, data range 1, sample covariance, valid region)."""
    k, n = 7, 49
    mu = lambda t: F.avg_pool2d(t, k, 1)  # noqa: E731
    ma, mb = mu(a), mu(b)
    cov = n / (n - 1)
    va = cov * (mu(a * a) - ma * ma)
    vb = cov * (mu(b * b) - mb * mb)
    vab = cov * (mu(a * b) - ma * mb)
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * ma * mb + c1) * (2 * vab + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return s.flatten(1).mean(1)


def attack(ctx: Ctx, name: str = "attack"):
    """Train f^-1. name "attack": input X_p (fresh permutation per sample, as the server sees it); name
    "attack_reference": input the raw image X, blurred inside the network by a fixed Gaussian (sigma
    --reference-blur px), the same architecture, loss, optimiser and step budget (unprotected but degraded)."""
    a = ctx.args
    ref = name == "attack_reference"
    torch.manual_seed(a.seed + (9 if ref else 7))
    g = None if ref else load_generator(ctx)
    net = Attacker(blur_sigma=a.reference_blur if ref else 0.0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(a.seed + (10 if ref else 8))
    hist, t0 = [], time.time()
    net.train()
    acc = {"l1": 0.0, "ssim": 0.0}
    steps = a.steps_attack
    step = 0
    for step, idx in enumerate(batches(len(ctx.xtr), 64, steps, gen)):
        for grp in opt.param_groups:  # cosine decay over the step budget
            grp["lr"] = 1e-3 * 0.5 * (1 + math.cos(math.pi * step / steps))
        u = hflip(ctx.images(idx), gen)
        inp = u if ref else protect_batch(ctx, g, u, gen)
        rec = net(inp)
        l1 = (rec - u).abs().mean()
        ss = ssim_t(rec, u).mean()
        loss = l1 + a.ssim_weight * (1 - ss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc["l1"] += float(l1)
        acc["ssim"] += float(ss)
        if (step + 1) % a.log_every == 0:
            r = {"step": step + 1, "l1": acc["l1"] / a.log_every, "ssim": acc["ssim"] / a.log_every,
                 "seconds": round(time.time() - t0, 1)}
            hist.append(r)
            print(name, r, flush=True)
            acc = {"l1": 0.0, "ssim": 0.0}
        if time.time() - t0 > a.attack_seconds:
            break
    net.eval()
    gen_t = torch.Generator().manual_seed(a.seed + 6)
    ps, ss_ = [], []
    with torch.no_grad():
        for i in range(0, EVAL_N, EVAL_BATCH):
            u = ctx.images(torch.arange(i, i + EVAL_BATCH), train=False)
            inp = u if ref else protect_batch(ctx, g, u, gen_t)
            rec = net(inp)
            ps.append(psnr(rec, u))
            ss_.append(ssim_t(rec, u))
    ctx.log[name] = {
        "command": " ".join(["/usr/bin/python3", "models/python/minusface_standin.py"] + sys.argv[1:]),
        "steps": step + 1,
        "step_budget": steps,
        "history": hist,
        "seconds": round(time.time() - t0, 1),
        "loss": f"L1 + {a.ssim_weight} (1 - SSIM)",
        "input": f"raw X, Gaussian blur sigma {a.reference_blur} px in-graph" if ref else "X_p (fresh permutation)",
        "test_psnr_recovered_first2000": float(torch.cat(ps).mean()),
        "test_ssim_recovered_first2000": float(torch.cat(ss_).mean()),
    }
    ctx.save_ckpt(name, {"net": net.state_dict(), "blur_sigma": net.blur_sigma})
    ctx.save_log()


def export_attack(ctx: Ctx):
    """Re-export only the attackers into --out and update an existing training log (--log) in place of a full
    export: the generator / recogniser / baseline files and their log entries are left exactly as they are."""
    a = ctx.args
    log = json.loads(Path(a.log).read_text())
    prev = log["stages"].get("attack", {})
    if "previous_attack_v1" not in log:
        hist = prev.get("history", [])
        log["previous_attack_v1"] = {
            "what": "first attacker: UNet(3,3) widths 32/64/128 without BN on raw X_p, L1 only, constant lr; collapsed",
            "steps": prev.get("steps"),
            "seconds": prev.get("seconds"),
            "final_l1": hist[-1]["l1"] if hist else None,
            "test_psnr_recovered_first2000": prev.get("test_psnr_recovered_first2000"),
        }
    files = {}
    for name, file, inp in [("attack", "minusface-attacker.onnx", "x_p"),
                            ("attack_reference", "minusface-attacker-reference.onnx", "image")]:
        src = Path(a.reference_dir) if name == "attack_reference" and a.reference_dir else ctx.out
        ck = torch.load(src / f"{name}.pt")
        net = Attacker(blur_sigma=ck["blur_sigma"])
        net.load_state_dict(ck["net"])
        net.eval()
        files[file] = export(net, torch.rand(1, 3, SIZE, SIZE), inp, "x_rec", {inp: {0: "N", 2: "H", 3: "W"}, "x_rec": {0: "N", 2: "H", 3: "W"}})
        log["stages"][name] = json.loads((src / "stages.json").read_text())[name]
    for file, data in files.items():
        tmp = ctx.out / (file + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(ctx.out / file)
        log["onnx"][file] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "ir_version": onnx_ir_version(data), "opset": 17}
    log["parameters"]["attacker"] = sum(p.numel() for p in Attacker().parameters())
    export_cmd = " ".join(["/usr/bin/python3", "models/python/minusface_standin.py"] + sys.argv[1:])
    log["attack_command"] = " && ".join([log["stages"][n].get("command", "?") for n in ("attack", "attack_reference")] + [export_cmd])
    tmp = ctx.out / "minusface-standin.log.json.tmp"
    tmp.write_text(json.dumps(log, indent=2) + "\n")
    tmp.replace(ctx.out / "minusface-standin.log.json")
    print(json.dumps({k: log["onnx"][k] for k in files}, indent=1))


def do_export(ctx: Ctx):
    a = ctx.args
    files = {}
    g = load_generator(ctx)
    files["minusface-generator.onnx"] = export(
        g, torch.zeros(1, REP_CHANNELS, SIZE, SIZE), "x", "x_regen", {"x": {0: "N", 2: "H", 3: "W"}, "x_regen": {0: "N", 2: "H", 3: "W"}}
    )
    for name, file in [("stage2", "minusface-recognizer.onnx"), ("baseline", "minusface-baseline.onnx")]:
        fp = Recognizer(3)
        fp.load_state_dict(torch.load(ctx.out / f"{name}.pt")["fp"])
        files[file] = export(fp, torch.zeros(1, 3, SIZE, SIZE), "x_p" if name == "stage2" else "image", "embedding",
                             {"x_p" if name == "stage2" else "image": {0: "N"}, "embedding": {0: "N"}})
    if ctx.has("attack"):
        net = Attacker()
        net.load_state_dict(torch.load(ctx.out / "attack.pt")["net"])
        files["minusface-attacker.onnx"] = export(
            net, torch.rand(1, 3, SIZE, SIZE), "x_p", "x_rec", {"x_p": {0: "N", 2: "H", 3: "W"}, "x_rec": {0: "N", 2: "H", 3: "W"}}
        )
    onnx = {}
    for file, data in files.items():
        tmp = ctx.out / (file + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(ctx.out / file)
        onnx[file] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "ir_version": onnx_ir_version(data), "opset": 17}
    # reference outputs for the package's tests (ORT vs PyTorch on fixed inputs)
    gen = torch.Generator().manual_seed(123)
    u = to_rgb(ctx.xte[:4])
    with torch.no_grad():
        x = ctx.codec.encode(u)
        ref = {"u": u.numpy(), "x": x.numpy(), "x_regen": g(x).numpy()}
        fp = Recognizer(3)
        fp.load_state_dict(torch.load(ctx.out / "stage2.pt")["fp"])
        fp.eval()
        xp = protect_batch(ctx, g, u, gen)
        ref["x_p"] = xp.numpy()
        ref["embedding"] = fp(xp).numpy()
    np.savez(ctx.out / "reference.npz", **ref)
    # the verification threshold for the card: EER threshold of cosine scores on test pairs (first EVAL_N test
    # images, fresh permutations, all pairs), the point where false accepts and false rejects balance
    with torch.no_grad():
        gen_t = torch.Generator().manual_seed(a.seed + 6)
        u = ctx.images(torch.arange(EVAL_N), train=False)
        xp = torch.cat([protect_batch(ctx, g, u[i : i + EVAL_BATCH], gen_t) for i in range(0, EVAL_N, EVAL_BATCH)])
        e = F.normalize(embed(fp, xp))
        sim = e @ e.T
        y = ctx.yte[:EVAL_N]
        iu = torch.triu_indices(EVAL_N, EVAL_N, 1)
        s, same = sim[iu[0], iu[1]], (y[iu[0]] == y[iu[1]])
        ts = torch.quantile(s, torch.linspace(0.01, 0.99, 197))
        far = torch.stack([(s[~same] >= t).float().mean() for t in ts])
        frr = torch.stack([(s[same] < t).float().mean() for t in ts])
        k = int(torch.argmin((far - frr).abs()))
        verification = {"pairs": int(s.numel()), "eer_threshold": round(float(ts[k]), 4), "far": float(far[k]), "frr": float(frr[k])}
    params = {
        "generator": sum(p.numel() for p in g.parameters()),
        "recognizer": sum(p.numel() for p in Recognizer(3).parameters()),
        "attacker": sum(p.numel() for p in Attacker().parameters()),
    }
    log = {
        "model": "minusface-standin",
        "standIn": True,
        "script": "models/python/minusface_standin.py",
        "command": " ".join(["/usr/bin/python3", "models/python/minusface_standin.py"] + sys.argv[1:]),
        "args": vars(a),
        "seed": a.seed,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "platform": platform.platform(),
            "threads": torch.get_num_threads(),
        },
        "data": {
            "source": f"Debian {fmnist.DEB_PACKAGE} {fmnist.DEB_VERSION}",
            "sha256": ctx.data["sha256"],
            "split": "train = official train 0..54999, test = official t10k; pixel/255, 2x2 mean 28->14, zero-pad to 16x16, RGB-replicated",
            "identities": "the 10 Fashion-MNIST classes stand in for identities (no identity-labelled face data here)",
        },
        "parameters": params,
        "verification_first2000_all_pairs": verification,
        "stages": ctx.log,
        "onnx": onnx,
    }
    (ctx.out / "minusface-standin.log.json").write_text(json.dumps(log, indent=2) + "\n")
    print(json.dumps({k: v for k, v in log.items() if k in ("parameters", "onnx")}, indent=1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=None)
    ap.add_argument("--stages", default="stage1,stage2,baseline,attack,export")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--gen-lr-mult", type=float, default=0.5, help="generator lr multiplier (paper: x0.5)")
    ap.add_argument("--weight-decay", type=float, default=1e-4, help="paper: 1e-4 (yaml: 5e-4)")
    ap.add_argument("--alpha", type=float, default=5.0)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--arc-s", type=float, default=32.0)
    ap.add_argument("--arc-m", type=float, default=0.5)
    ap.add_argument("--arc-s2", type=float, default=16.0, help="ArcFace scale for stage2 / baseline")
    ap.add_argument("--arc-m2", type=float, default=0.2, help="ArcFace margin for stage2 / baseline (after the ramp)")
    ap.add_argument("--margin-ramp", type=float, default=0.3, help="fraction of stage2/baseline steps over which m grows from 0")
    ap.add_argument("--steps1", type=int, default=700)
    ap.add_argument("--steps2", type=int, default=2500)
    ap.add_argument("--steps-baseline", type=int, default=1500)
    ap.add_argument("--steps-attack", type=int, default=100000)
    ap.add_argument("--attack-seconds", type=float, default=450.0, help="wall-clock cap of the attack's training")
    ap.add_argument("--ssim-weight", type=float, default=0.5, help="attack loss: L1 + w (1 - SSIM)")
    ap.add_argument("--reference-blur", type=float, default=1.0, help="attack_reference: Gaussian blur sigma (px) of X")
    ap.add_argument("--log", default=None, help="export_attack: the existing training log to update")
    ap.add_argument("--reference-dir", default=None, help="export_attack: where attack_reference ran (default --out)")
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    ctx = Ctx(args)
    for st in args.stages.split(","):
        t = time.time()
        if st == "stage1" and not ctx.has("stage1"):
            stage1(ctx)
        elif st == "stage2" and not ctx.has("stage2"):
            train_recognizer(ctx, "stage2", args.steps2, True)
        elif st == "baseline" and not ctx.has("baseline"):
            train_recognizer(ctx, "baseline", args.steps_baseline, False)
        elif st in ("attack", "attack_reference") and not ctx.has(st):
            attack(ctx, st)
        elif st == "export_attack":
            export_attack(ctx)
        elif st == "export":
            do_export(ctx)
        print(f"== {st} done in {time.time() - t:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
