#!/usr/bin/env python3
"""Export an ID3-style conditional U-Net and the FR-gradient graph to the contracts of spec id3.md §3 (packages/id3).

ID3's code and weights are unreleased (spec §1), so the network is written here from the spec's description
(§2.2, §3.1): a projection MLP g([y; s]) with layer widths 512 -> 256 -> 768 and ReLU [READ], whose 768-d output
conditions a small U-Net [how is unknown, spec §7 Q4; here: added to the timestep embedding, which drives AdaGN
scale/shift in every residual block].

Graphs (ONNX opset 17, dynamic batch B, float32):

  (and id3_unet.pt / fr.pt, the state dicts, for the PyTorch side of packages/id3/bench/sampler.mjs)
  id3_eps.onnx     x_t [B,C,H,W], t int64 [B] (step index k = t-1 in 0..T-1), id_embedding [B,d], attributes [B,4]
                   -> eps [B,C,H,W]
  fr.onnx          image [B,C,H,W] in [-1,1] -> embedding [B,d]  (a small conv FR net, the "supported layer set")
  fr_grad.onnx     image [B,C,H,W], id_embedding [B,d] -> grad [B,C,H,W] = d<y, f(x)/|f(x)|>/dx
                   ONNX Runtime has no autograd, so the backward pass is written out explicitly as forward ops
                   (ConvTranspose for the convolutions' input gradient, masks for ReLU, the per-channel scale for the
                   folded BatchNorm, MatMul for the linear layer, the normalisation's projection) and checked here
                   against torch.autograd on the same network.

The contract metadata (`id3.height`, `id3.width`, `id3.channels`, `id3.embedding_dim`, `id3.attributes`,
`id3.attribute_normalisation`, `id3.T`, `id3.schedule`, `id3.beta_start`, `id3.beta_end`, `id3.t_convention`) is
appended to the ModelProto's metadata_props (field 14) by hand: Debian has no python3-onnx.

The exact guided graph (§3.3: the gradient through the U-Net as well) is NOT exported: torch 1.13's TorchScript
exporter cannot trace torch.autograd.grad, and writing the U-Net's backward by hand is out of scope; the samplers use
the Jacobian-free chain with fr_grad.onnx (spec §2.5) instead.

usage:
  python3 id3_export.py --random-init --seed 0 --size 32 --out-dir /tmp/id3x --reference /tmp/id3x/ref.npz
  node packages/id3/bench/export-check.mjs /tmp/id3x
  python3 id3_export.py --checkpoint unet.pt --fr-checkpoint fr.pt --out-dir DIR   (state dicts of these classes)
Runs on CPU (Debian python3-torch 1.13); a GPU check of these exports was not possible here.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------------------------
# Conditional U-Net (spec §3.1)


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    a = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(a), torch.cos(a)], dim=1)


class ResBlock(nn.Module):
    """GroupNorm - SiLU - conv3x3 - AdaGN(emb) - SiLU - conv3x3, plus a 1x1 shortcut when the width changes."""

    def __init__(self, cin, cout, emb, groups=8):
        super().__init__()
        self.n1 = nn.GroupNorm(groups, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb, 2 * cout)
        self.n2 = nn.GroupNorm(groups, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.emb(F.silu(e))[:, :, None, None].chunk(2, dim=1)
        h = self.n2(h) * (1 + scale) + shift
        h = self.c2(F.silu(h))
        return h + self.skip(x)


class ID3UNet(nn.Module):
    def __init__(self, channels=3, base=32, mults=(1, 2, 2), emb_dim=512, attr_dim=4, time_dim=128):
        super().__init__()
        # projection MLP g([y; s]): 516 -> 512 -> 256 -> 768, ReLU (spec §2.2 [READ]: widths 512, 256, 768)
        self.proj = nn.Sequential(
            nn.Linear(emb_dim + attr_dim, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 768)
        )
        self.time_dim = time_dim
        e = 4 * base
        self.temb = nn.Sequential(nn.Linear(time_dim, e), nn.SiLU(), nn.Linear(e, e))
        self.cemb = nn.Linear(768, e)
        self.inp = nn.Conv2d(channels, base, 3, padding=1)
        widths = [base * m for m in mults]
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        c = base
        skips = []
        for i, w in enumerate(widths):
            self.down.append(ResBlock(c, w, e))
            skips.append(w)
            c = w
            self.pool.append(nn.Conv2d(c, c, 3, stride=2, padding=1) if i < len(widths) - 1 else nn.Identity())
        self.mid = ResBlock(c, c, e)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, w in reversed(list(enumerate(widths))):
            self.up.append(ResBlock(c + skips[i], w, e))
            c = w
            self.upsample.append(nn.Conv2d(c, c, 3, padding=1) if i > 0 else nn.Identity())
        self.out = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, channels, 3, padding=1))

    def forward(self, x_t, t, id_embedding, attributes):
        c = self.proj(torch.cat([id_embedding, attributes], dim=1))
        e = self.temb(timestep_embedding(t, self.time_dim)) + self.cemb(c)
        h = self.inp(x_t)
        hs = []
        for block, pool in zip(self.down, self.pool):
            h = block(h, e)
            hs.append(h)
            h = pool(h)
        h = self.mid(h, e)
        for k, (block, ups) in enumerate(zip(self.up, self.upsample)):
            skip = hs[len(hs) - 1 - k]
            if h.shape[-1] != skip.shape[-1]:
                h = F.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = block(torch.cat([h, skip], dim=1), e)
            h = ups(h)
        return self.out(h)


# ----------------------------------------------------------------------------------------------------------------
# FR network and its explicit gradient


class SmallFR(nn.Module):
    """The supported layer set: [Conv2d (stride s) -> folded BatchNorm (per-channel affine) -> ReLU] x L, flatten,
    Linear -> embedding."""

    def __init__(self, channels=3, size=32, widths=(16, 32, 64), strides=(2, 2, 2), dim=512):
        super().__init__()
        self.convs = nn.ModuleList()
        self.scale = nn.ParameterList()
        self.shift = nn.ParameterList()
        c, s = channels, size
        self.sizes = [size]  # spatial size entering each conv (static, for the explicit backward's output_padding)
        for w, st in zip(widths, strides):
            self.convs.append(nn.Conv2d(c, w, 3, stride=st, padding=1, bias=False))
            self.scale.append(nn.Parameter(torch.ones(w)))
            self.shift.append(nn.Parameter(torch.zeros(w)))
            c, s = w, (s + 2 - 3) // st + 1
            self.sizes.append(s)
        self.fc = nn.Linear(c * s * s, dim)

    def forward(self, image):
        h = image
        for conv, a, b in zip(self.convs, self.scale, self.shift):
            h = F.relu(conv(h) * a[None, :, None, None] + b[None, :, None, None])
        return self.fc(h.flatten(1))


class FRGrad(nn.Module):
    """d<y, f(x)/|f(x)|>/dx with the backward pass written as forward ops (see the module docstring)."""

    def __init__(self, fr):
        super().__init__()
        self.fr = fr

    def forward(self, image, id_embedding):
        fr = self.fr
        h = image
        inputs, masks = [], []
        for conv, a, b in zip(fr.convs, fr.scale, fr.shift):
            inputs.append(h)
            pre = conv(h) * a[None, :, None, None] + b[None, :, None, None]
            masks.append((pre > 0).float())
            h = F.relu(pre)
        shape = h.shape
        e = fr.fc(h.flatten(1))
        n = torch.sqrt((e * e).sum(dim=1, keepdim=True))
        u = e / n
        g = (id_embedding - (id_embedding * u).sum(dim=1, keepdim=True) * u) / n  # d/de of <y, e/|e|>
        g = (g @ fr.fc.weight).reshape(shape)  # Linear backward
        for k in reversed(range(len(fr.convs))):
            conv, a = fr.convs[k], fr.scale[k]
            g = g * masks[k] * a[None, :, None, None]  # ReLU mask, BatchNorm scale
            st, pad = conv.stride[0], conv.padding[0]
            # output_padding restores the input size lost by the strided convolution's floor
            op = fr.sizes[k] - ((fr.sizes[k + 1] - 1) * st - 2 * pad + conv.kernel_size[0])
            g = F.conv_transpose2d(g, conv.weight, stride=st, padding=pad, output_padding=op)
        return g


# ----------------------------------------------------------------------------------------------------------------
# export helpers


def add_metadata(path, meta):
    """Appends metadata_props entries (ModelProto field 14, StringStringEntryProto {1: key, 2: value}) to a file."""

    def varint(n):
        out = b""
        while True:
            b = n & 0x7F
            n >>= 7
            out += bytes([b | (0x80 if n else 0)])
            if not n:
                return out

    def ld(field, payload):
        return varint((field << 3) | 2) + varint(len(payload)) + payload

    extra = b"".join(ld(14, ld(1, k.encode()) + ld(2, v.encode())) for k, v in meta.items())
    with open(path, "ab") as f:
        f.write(extra)


def contract_metadata(args):
    return {
        "id3.height": str(args.size),
        "id3.width": str(args.size),
        "id3.channels": str(args.channels),
        "id3.embedding_dim": str(args.dim),
        "id3.attributes": "4",
        "id3.attribute_normalisation": "age/100,pitch/90,yaw/90,roll/90",
        "id3.T": str(args.T),
        "id3.schedule": "linear",
        "id3.beta_start": "0.0001",
        "id3.beta_end": "0.02",
        "id3.t_convention": "index",
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random-init", action="store_true")
    ap.add_argument("--checkpoint", help="U-Net state dict (ID3UNet)")
    ap.add_argument("--fr-checkpoint", help="FR state dict (SmallFR)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--base", type=int, default=32)
    ap.add_argument("--T", type=int, default=1000)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--reference", help="write an input batch and PyTorch's outputs here (.npz)")
    ap.add_argument("--batch", type=int, default=4)
    args = ap.parse_args()
    if not args.random_init and not args.checkpoint:
        ap.error("give --checkpoint (and --fr-checkpoint) or --random-init")
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    unet = ID3UNet(channels=args.channels, base=args.base, emb_dim=args.dim).eval()
    fr = SmallFR(channels=args.channels, size=args.size, dim=args.dim).eval()
    if args.checkpoint:
        unet.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    if args.fr_checkpoint:
        fr.load_state_dict(torch.load(args.fr_checkpoint, map_location="cpu"))
    if args.random_init:
        with torch.no_grad():  # a non-trivial folded BatchNorm
            for a, b in zip(fr.scale, fr.shift):
                a.uniform_(0.5, 1.5)
                b.uniform_(-0.1, 0.1)
    B, C, S, D = args.batch, args.channels, args.size, args.dim
    g = torch.Generator().manual_seed(args.seed + 1)
    x = torch.randn(B, C, S, S, generator=g)
    t = torch.randint(0, args.T, (B,), generator=g)
    y = F.normalize(torch.randn(B, D, generator=g), dim=1)
    s = torch.rand(B, 4, generator=g) * torch.tensor([1.0, 2, 2, 2]) - torch.tensor([0.0, 1, 1, 1])
    img = torch.tanh(torch.randn(B, C, S, S, generator=g))
    dyn = {0: "B"}
    paths = {k: os.path.join(args.out_dir, k) for k in ("id3_eps.onnx", "fr.onnx", "fr_grad.onnx")}
    torch.onnx.export(
        unet, (x, t, y, s), paths["id3_eps.onnx"], opset_version=17, input_names=["x_t", "t", "id_embedding", "attributes"],
        output_names=["eps"], dynamic_axes={"x_t": dyn, "t": dyn, "id_embedding": dyn, "attributes": dyn, "eps": dyn},
    )
    add_metadata(paths["id3_eps.onnx"], contract_metadata(args))
    torch.onnx.export(fr, (img,), paths["fr.onnx"], opset_version=17, input_names=["image"], output_names=["embedding"],
                      dynamic_axes={"image": dyn, "embedding": dyn})
    frg = FRGrad(fr).eval()
    torch.onnx.export(frg, (img, y), paths["fr_grad.onnx"], opset_version=17, input_names=["image", "id_embedding"],
                      output_names=["grad"], dynamic_axes={"image": dyn, "id_embedding": dyn, "grad": dyn})
    # explicit backward against autograd
    xi = img.clone().requires_grad_(True)
    score = (y * F.normalize(fr(xi), dim=1)).sum()
    (auto,) = torch.autograd.grad(score, xi)
    with torch.no_grad():
        explicit = frg(img, y)
        eps = unet(x, t, y, s)
        emb = fr(img)
    rel = (explicit - auto).abs().max().item() / auto.abs().max().item()
    params = sum(p.numel() for p in unet.parameters())
    print(f"U-Net: {params} parameters, eps {tuple(eps.shape)}; FR: {sum(p.numel() for p in fr.parameters())} parameters")
    print(f"explicit FR gradient vs torch.autograd: max relative difference {rel:.2e}")
    torch.save(unet.state_dict(), os.path.join(args.out_dir, "id3_unet.pt"))
    torch.save(fr.state_dict(), os.path.join(args.out_dir, "fr.pt"))
    for k, p in paths.items():
        print(f"wrote {p} ({os.path.getsize(p)} bytes)")
    if args.reference:
        # CPU timing of the U-Net at this batch, for the benchmark's PyTorch column
        with torch.no_grad():
            unet(x, t, y, s)
            t0 = time.perf_counter()
            reps = 10
            for _ in range(reps):
                unet(x, t, y, s)
            ms = (time.perf_counter() - t0) / reps * 1000
        np.savez(
            args.reference, x_t=x.numpy(), t=t.numpy(), id_embedding=y.numpy(), attributes=s.numpy(), eps=eps.numpy(),
            image=img.numpy(), embedding=emb.numpy(), grad=explicit.numpy(), grad_autograd=auto.numpy(),
            torch_ms_per_batch=np.array(ms), torch_threads=np.array(torch.get_num_threads()),
        )
        print(f"wrote {args.reference}; PyTorch CPU U-Net forward at batch {B}: {ms:.1f} ms (1 thread)")
    if rel > 1e-4:
        print("explicit gradient does not match autograd", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
