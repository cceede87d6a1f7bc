#!/usr/bin/env python3
"""Export a DINOv2 model to the GCDSS feature contract (packages/gcdss `maskFeatures`, spec gcdss.md §8.2):

    input  `pixel_values` float32 [B, 3, 224, 224]  RGB masked crop, /255, ImageNet mean/std (done in TypeScript)
    output `logits`   float32 [B, 1000]  for the `*_lc` hub models (ImageNet linear head; the paper's default is
                                          dinov2_vitg14_lc), or
           `features` float32 [B, D]     for the backbones (class token; D = 384 / 768 / 1024 / 1536 for S / B / L / g)

B is a dynamic axis; `maskFeatures` L2-normalises whatever [B, D] it gets.

The wrapper only fixes names, the input size and the batch axis; the model is DINOv2's own torch.hub entry point,
loaded from the network cache or a local clone of facebookresearch/dinov2 (--hub-dir; weights download on first use).
--random-init exports a tiny random-weight ViT with the same call signature instead (TinyDino), to check the export
and the contract without DINOv2.

usage:
  python3 gcdss_export_dinov2.py --model dinov2_vits14_lc --out dinov2-vits14-lc.onnx   # small default (see README)
  python3 gcdss_export_dinov2.py --model dinov2_vitg14_lc --out dinov2-vitg14-lc.onnx   # the paper's (~4.5 GB fp32:
      written with ONNX external data; impractical for onnxruntime-web)
  python3 gcdss_export_dinov2.py --random-init --out /tmp/dino.onnx --reference /tmp/dino-ref.npz
      (then `node packages/gcdss/bench/export-check.mjs dinov2 /tmp/dino.onnx /tmp/dino-ref.npz`)
Runs on CPU (Debian python3-torch 1.13) or CUDA (--device cuda).
"""
import argparse
import os
import sys

import numpy as np
import torch
from torch import nn


class FeatureContract(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model(pixel_values)


class TinyBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, 2, batch_first=True)
        self.norm2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h)[0]
        return x + self.mlp(self.norm2(x))


class TinyDino(nn.Module):
    """Patch-14 ViT (2 blocks, width 32) with a `_lc`-style head on [class token, mean patch token]."""

    def __init__(self, d=32, classes=1000, size=224):
        super().__init__()
        n = (size // 14) ** 2
        self.patch = nn.Conv2d(3, d, 14, 14)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, n + 1, d) * 0.02)
        self.blocks = nn.ModuleList([TinyBlock(d) for _ in range(2)])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(2 * d, classes) if classes else None

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], 1) + self.pos
        for b in self.blocks:
            t = b(t)
        t = self.norm(t)
        feat = torch.cat([t[:, 0], t[:, 1:].mean(1)], -1)
        return self.head(feat) if self.head is not None else t[:, 0]


def load(args):
    if args.random_init:
        torch.manual_seed(args.seed)
        return TinyDino(classes=0 if args.backbone_standin else 1000, size=args.size)
    if args.hub_dir:
        return torch.hub.load(args.hub_dir, args.model, source='local')
    try:
        return torch.hub.load('facebookresearch/dinov2', args.model)
    except Exception as e:  # noqa: BLE001
        sys.exit(f'cannot load {args.model} through torch.hub ({e}); clone facebookresearch/dinov2 and pass --hub-dir')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', default='dinov2_vits14_lc', help='a DINOv2 hub entry point (dinov2_vit{s,b,l,g}14[_lc])')
    p.add_argument('--hub-dir', help='a local clone of facebookresearch/dinov2')
    p.add_argument('--random-init', action='store_true', help='a tiny random-weight stand-in instead of DINOv2')
    p.add_argument('--backbone-standin', action='store_true', help='stand-in without the head ([B, D] class token)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--out', required=True)
    p.add_argument('--opset', type=int, default=17)
    p.add_argument('--device', default='cpu')
    p.add_argument('--reference', help='save an .npz with an input batch and PyTorch outputs')
    args = p.parse_args()
    torch.set_num_threads(1)
    model = FeatureContract(load(args)).to(args.device).eval()
    g = torch.Generator().manual_seed(args.seed + 1)
    x = torch.randn(3, 3, args.size, args.size, generator=g).to(args.device)
    with torch.no_grad():
        y = model(x)
    name = 'logits' if y.shape[1] == 1000 else 'features'
    torch.onnx.export(model, (x,), args.out, input_names=['pixel_values'], output_names=[name],
                      dynamic_axes={'pixel_values': {0: 'B'}, name: {0: 'B'}}, opset_version=args.opset,
                      do_constant_folding=True)
    print(f'wrote {args.out} ({os.path.getsize(args.out)} bytes): pixel_values [B, 3, {args.size}, {args.size}] -> '
          f'{name} [B, {y.shape[1]}]')
    if args.reference:
        x2 = torch.randn(5, 3, args.size, args.size, generator=g).to(args.device)
        with torch.no_grad():
            y2 = model(x2)
        np.savez(args.reference, pixel_values=x2.cpu().numpy(), output=y2.cpu().numpy())
        print(f'wrote {args.reference} (a batch of 5, another size than the traced batch of 3)')


if __name__ == '__main__':
    main()
