#!/usr/bin/env python3
"""Export SlerpFace's IR-50 (AAAI 2025; official checkpoint `Backbone_Epoch_24_checkpoint.pth` from the
Tencent/TFace README) to the TrustVision grid contract, one ONNX graph:

    input  `image`   float32 [N, 3, 112, 112]  RGB, (x/255 - 0.5)/0.5, aligned face
    output `grid`    float32 [N, 16, 7, 7]     group_cov(body(x)) + group_cov(body(flipW(x)))  (the official flip TTA;
                                               the flipped view's grid is added WITHOUT being flipped back)
    output `weights` float32 [N, 49]           softmax over the 7x7 cells of the attention head run on `grid`,
                                               flattened row-major (cell h*7 + w), as the official code's
                                               attention map (N, 7, 7, 1) reshaped to (N, 49)
    output `embedding` float32 [N, 512]        the un-normalised 512-d vector feature (BN1d without affine) of the
                                               un-flipped view: an unprotected baseline (not used by the protection)

The network is written here from the architecture description in the spec (slerpface.md §A.2: IR-50 body of
BasicBlockIR units [3, 4, 14, 3], a 1x1 conv 512->16 + BN + PReLU grouping head, and a 3-stage conv/BN/PReLU
attention head with a softmax over cells). Module names follow the official checkpoint's state-dict keys so that
`load_state_dict(strict=True)` accepts it.

usage:
  python3 slerpface_export.py --checkpoint Backbone_Epoch_24_checkpoint.pth --out slerpface-ir50.onnx
  python3 slerpface_export.py --random-init --seed 0 --out /tmp/slerpface-random.onnx --reference /tmp/ref.npz
      (random weights: checks the export; --reference saves an input batch and PyTorch's outputs for the Node-side
       comparison `node packages/slerpface/bench/export-check.mjs MODEL REF`)
Runs on CPU (Debian python3-torch 1.13) or CUDA (--device cuda).
"""
import argparse
import sys

import numpy as np
import torch
from torch import nn


class IRUnit(nn.Module):
    """BasicBlockIR: BN - conv3x3 - BN - PReLU - conv3x3(stride) - BN, plus a shortcut (identity via a 1x1 max-pool
    with the stride when the width is unchanged, else a strided 1x1 conv + BN)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        if cin == cout:
            self.shortcut_layer = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.PReLU(cout),
            nn.Conv2d(cout, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
        )

    def forward(self, x):
        return self.res_layer(x) + self.shortcut_layer(x)


def ir_units(num_layers):
    stages = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 14, 3], 100: [3, 13, 30, 3]}[num_layers]
    widths = [(64, 64), (64, 128), (128, 256), (256, 512)]
    units = []
    for (cin, cout), n in zip(widths, stages):
        units.append(IRUnit(cin, cout, 2))
        units += [IRUnit(cout, cout, 1) for _ in range(n - 1)]
    return units


class CellAttention(nn.Module):
    """The group-weight head: conv3x3+BN+PReLU, then conv3x3+BN+PReLU, conv3x3 -> 1 + BN + PReLU, softmax over cells."""

    def __init__(self, g):
        super().__init__()
        self.embedding_net = nn.Sequential(nn.Conv2d(g, g, 3, padding=1), nn.BatchNorm2d(g), nn.PReLU())
        self.attention = nn.Sequential(
            nn.Conv2d(g, g, 3, padding=1), nn.BatchNorm2d(g), nn.PReLU(),
            nn.Conv2d(g, 1, 3, padding=1), nn.BatchNorm2d(1), nn.PReLU(),
        )

    def forward(self, grid):
        a = self.attention(self.embedding_net(grid))  # [N, 1, 7, 7]
        return torch.softmax(a.flatten(1), dim=1)  # [N, 49], cell h*7 + w


class SlerpFaceIR(nn.Module):
    def __init__(self, num_layers=50, group_size=16):
        super().__init__()
        self.input_layer = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))
        self.body = nn.Sequential(*ir_units(num_layers))
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(512), nn.Dropout(0.4), nn.Flatten(), nn.Linear(512 * 7 * 7, 512),
            nn.BatchNorm1d(512, affine=False),
        )
        self.group_cov = nn.Sequential(nn.Conv2d(512, group_size, 1, 1, 0), nn.BatchNorm2d(group_size), nn.PReLU(group_size))
        self.group_attention = CellAttention(group_size)


class GridExport(nn.Module):
    """The contract wrapper: one forward computes both views, the grid, the weights and the embedding."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        body = self.net.body(self.net.input_layer(image))
        flipped = self.net.body(self.net.input_layer(torch.flip(image, dims=[3])))
        grid = self.net.group_cov(body) + self.net.group_cov(flipped)
        return grid, self.net.group_attention(grid), self.net.output_layer(body)


def randomise(net, seed):
    """Random but well-scaled weights and BN statistics (so the check exercises every layer)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / fan_in ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
                if m.affine:
                    m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=g))
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            elif isinstance(m, nn.PReLU):
                m.weight.copy_(0.25 + 0.05 * torch.randn(m.weight.shape, generator=g))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint')
    ap.add_argument('--random-init', action='store_true')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--layers', type=int, default=50)
    ap.add_argument('--out', required=True)
    ap.add_argument('--reference', help='write input + PyTorch outputs (.npz) for the ONNX Runtime comparison')
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--opset', type=int, default=13)
    a = ap.parse_args()
    if bool(a.checkpoint) == bool(a.random_init):
        sys.exit('give exactly one of --checkpoint or --random-init')
    torch.manual_seed(a.seed)
    net = SlerpFaceIR(a.layers)
    if a.checkpoint:
        state = torch.load(a.checkpoint, map_location='cpu')
        state = state.get('state_dict', state) if isinstance(state, dict) else state
        state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
        missing, unexpected = net.load_state_dict(state, strict=False)
        if missing or unexpected:
            sys.exit(f'checkpoint does not match the IR-{a.layers} SlerpFace layout: missing {missing[:5]}, unexpected {unexpected[:5]}')
    else:
        randomise(net, a.seed)
    model = GridExport(net).eval().to(a.device)
    x = torch.from_numpy(np.random.default_rng(a.seed).uniform(-1, 1, (a.batch, 3, 112, 112)).astype(np.float32)).to(a.device)
    with torch.no_grad():
        grid, weights, emb = model(x)
        torch.onnx.export(
            model, (x,), a.out, opset_version=a.opset, input_names=['image'], output_names=['grid', 'weights', 'embedding'],
            dynamic_axes={'image': {0: 'N'}, 'grid': {0: 'N'}, 'weights': {0: 'N'}, 'embedding': {0: 'N'}},
            do_constant_folding=True,
        )
    print(f'wrote {a.out}: grid {tuple(grid.shape)}, weights {tuple(weights.shape)} (row sums {weights.sum(1).min().item():.6f}..'
          f'{weights.sum(1).max().item():.6f}), embedding {tuple(emb.shape)}')
    if a.reference:
        np.savez(a.reference, image=x.cpu().numpy(), grid=grid.cpu().numpy(), weights=weights.cpu().numpy(),
                 embedding=emb.cpu().numpy())
        print(f'wrote {a.reference}')


if __name__ == '__main__':
    main()
