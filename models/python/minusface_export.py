#!/usr/bin/env python3
"""Export MinusFace's official architectures to the `@trustvision/minusface` ONNX contracts (TrustVision, MIT).

Written from the spec (`minusface.md` §B.5, §B.7), not copied from Tencent/TFace. No MinusFace weights were ever
released, so the usual use is `--random-init` to check the export path; `--generator-checkpoint` /
`--recognizer-checkpoint` load a state dict trained in-house with the official code (module names follow the spec's
description; a checkpoint with other names will fail to load strictly, and the error lists the mismatching keys).

Graphs (opset 17, IR version <= 10, dynamic batch):

  generator   x float32 [N,192,112,112] (raw block-DCT coefficients e(X), DC up to ~ +-1000)
              -> x_regen float32 [N,192,112,112]. The official U-Net: five ConvBlocks (3x3 conv + ReLU, twice,
              padding 1, no BN) with widths 64/128/256/512/1024 and 2x2 max-pooling (112 -> 56 -> 28 -> 14 -> 7),
              four ConvTranspose2d (k3, s2, p1, output_padding 1) with skip concatenation and ConvBlocks, a 1x1
              convolution to 192 channels. The bottleneck latent [N,1024,7,7] is not exported.
  recognizer  x_p float32 [N,3,112,112] in [0,1] (the decoder output, not re-normalised) -> embedding float32
              [N,512], un-normalised. TFace IR backbone: input layer conv3x3 3->64, BN, PReLU; BasicBlockIR stages
              (IR-50: 3/4/14/3 units, IR-18: 2/2/2/2; widths 64/128/256/512; stride 2 at each stage's first unit,
              112 -> 56 -> 28 -> 14 -> 7); output layer BN2d, Dropout 0.4, Linear 512*7*7 -> 512, BN1d (affine=False).

Usage (Debian python3-torch 1.13, CPU):
    /usr/bin/python3 models/python/minusface_export.py --random-init --out /tmp/mfx
    node packages/minusface/bench/export-check.mjs /tmp/mfx
It writes generator.onnx, recognizer.onnx and reference.npz (random inputs and PyTorch's outputs for both graphs).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from minusface_dct import DctCodec  # noqa: E402


class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True)
        )

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, cin=192, cout=192, widths=(64, 128, 256, 512, 1024)):
        super().__init__()
        self.enc = nn.ModuleList()
        prev = cin
        for w in widths:
            self.enc.append(ConvBlock(prev, w))
            prev = w
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(prev, w, 3, stride=2, padding=1, output_padding=1))
            self.dec.append(ConvBlock(2 * w, w))
            prev = w
        self.head = nn.Conv2d(prev, cout, 1)

    def forward(self, x):
        skips = []
        for i, blk in enumerate(self.enc):
            if i:
                x = F.max_pool2d(x, 2)
            x = blk(x)
            skips.append(x)
        latent = x
        for up, dec, skip in zip(self.up, self.dec, reversed(skips[:-1])):
            x = dec(torch.cat([up(x), skip], 1))
        return self.head(x), latent


class GeneratorExport(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, x):
        return self.unet(x)[0]


class BasicBlockIR(nn.Module):
    def __init__(self, cin, depth, stride):
        super().__init__()
        if cin == depth:
            self.shortcut = nn.MaxPool2d(1, stride)
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, depth, 1, stride, bias=False), nn.BatchNorm2d(depth))
        self.res = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, depth, 3, 1, 1, bias=False),
            nn.BatchNorm2d(depth),
            nn.PReLU(depth),
            nn.Conv2d(depth, depth, 3, stride, 1, bias=False),
            nn.BatchNorm2d(depth),
        )

    def forward(self, x):
        return self.res(x) + self.shortcut(x)


UNITS = {"ir50": (3, 4, 14, 3), "ir18": (2, 2, 2, 2)}


class IRBackbone(nn.Module):
    def __init__(self, cin=3, units=UNITS["ir50"], emb=512, size=112):
        super().__init__()
        self.input_layer = nn.Sequential(nn.Conv2d(cin, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))
        layers, prev = [], 64
        for depth, n in zip((64, 128, 256, 512), units):
            for i in range(n):
                layers.append(BasicBlockIR(prev, depth, 2 if i == 0 else 1))
                prev = depth
        self.body = nn.Sequential(*layers)
        cells = (size // 16) ** 2
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(512), nn.Dropout(0.4), nn.Flatten(), nn.Linear(512 * cells, emb), nn.BatchNorm1d(emb, affine=False)
        )

    def forward(self, x):
        return self.output_layer(self.body(self.input_layer(x)))


def randomise_bn(model: nn.Module, gen: torch.Generator):
    """Random BN statistics/affine (as a trained model would have), so the check covers BN folding."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            if m.affine:
                m.weight.data.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
                m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def export(model, example, inp, outp) -> bytes:
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(
        model, example, buf, input_names=[inp], output_names=[outp], dynamic_axes={inp: {0: "N"}, outp: {0: "N"}},
        opset_version=17, do_constant_folding=True,
    )
    data = buf.getvalue()
    ir = data[1] if data[0] == 0x08 else -1
    if ir > 10:
        raise RuntimeError(f"IR version {ir} > 10: ONNX Runtime 1.30 would reject it")
    return data


def load_state(model: nn.Module, path: str):
    sd = torch.load(path, map_location="cpu")
    for key in ("state_dict", "model", "backbone", "generator"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    sd = {k[7:] if k.startswith("module.") else k: v for k, v in sd.items()}
    model.load_state_dict(sd, strict=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--random-init", action="store_true")
    ap.add_argument("--generator-checkpoint")
    ap.add_argument("--recognizer-checkpoint")
    ap.add_argument("--backbone", choices=sorted(UNITS), default="ir50", help="paper: IR-50; train.yaml default: IR-18")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if not args.random_init and not (args.generator_checkpoint and args.recognizer_checkpoint):
        ap.error("no MinusFace weights were released: pass --random-init, or both checkpoints")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    unet = UNet()
    fp = IRBackbone(units=UNITS[args.backbone])
    if args.generator_checkpoint:
        load_state(unet, args.generator_checkpoint)
    if args.recognizer_checkpoint:
        load_state(fp, args.recognizer_checkpoint)
    if args.random_init:
        randomise_bn(fp, gen)
    g = GeneratorExport(unet).eval()
    fp.eval()

    # inputs: real e(X) of random smooth images (the raw DCT scale the contract specifies), X_p in [0,1]
    codec = DctCodec()
    u = F.interpolate(torch.rand(args.batch, 3, 14, 14, generator=gen), size=(112, 112), mode="bilinear", align_corners=True)
    t0 = time.time()
    with torch.no_grad():
        x = codec.encode(u)
        x_regen = g(x)
        x_p = torch.rand(args.batch, 3, 112, 112, generator=gen)
        emb = fp(x_p)
    torch_s = time.time() - t0
    files = {"generator.onnx": export(g, x[:1], "x", "x_regen"), "recognizer.onnx": export(fp, x_p[:1], "x_p", "embedding")}
    info = {}
    for name, data in files.items():
        (out / name).write_bytes(data)
        info[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    np.savez(out / "reference.npz", x=x.numpy(), x_regen=x_regen.numpy(), x_p=x_p.numpy(), embedding=emb.numpy())
    params = {
        "generator": sum(p.numel() for p in unet.parameters()),
        "recognizer": sum(p.numel() for p in fp.parameters()),
    }
    summary = {
        "random_init": args.random_init,
        "backbone": args.backbone,
        "batch": args.batch,
        "torch": torch.__version__,
        "threads": args.threads,
        "parameters": params,
        "torch_forward_seconds": round(torch_s, 2),
        "files": info,
    }
    (out / "export.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
