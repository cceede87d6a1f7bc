#!/usr/bin/env python3
"""ID3 stand-in on Fashion-MNIST: identity-conditioned epsilon-denoiser + FR stand-in + FR-gradient graph (MIT).

A STAND-IN. ID3 (NeurIPS 2024) trains a U-Net on FFHQ conditioned on a face-recognition (FR) embedding and face
attributes (age, pitch, yaw, roll); no code, weights or face data are available here (spec id3.md section 1). This
script trains the same kind of model on what is available, so that `@trustvision/id3`'s sampler and dataset pipeline
run a real, trained model end to end:

* FR model f (frozen, "identity" source, guidance and evaluation): the committed SimCLR encoder
  models/prebuilt/contrastive-encoder.onnx (weights read from the ONNX itself, sha256-checked, and re-checked by
  recomputing the card's 20-NN accuracy), followed by a fixed whitening projection fitted here on the 55,000 training
  features: e = normalise(((feat - mu) @ V_d) / sqrt(lambda_d)), d = 32 principal directions (98 % of the feature
  variance). Whitening makes the embeddings of real images nearly isotropic on S^{d-1} (random pairs: cosine std
  0.18 vs 1/sqrt(32) = 0.177), so Tammes or random anchors are in-distribution for the denoiser.
* "Identity" of a training image = its Fashion-MNIST item (the un-augmented image): y = f(x0_clean).
* Attributes = a random similarity transform applied to x0 (stand-ins for pose / age), fed in the package's
  attribute layout [age/100, pitch/90, yaw/90, roll/90] (`encodeAttributes`):
      age   in [0, 100]   -> scale   0.8 + 0.4 * age / 100
      pitch in [-90, 90]  -> vertical shift   4 * pitch / 90 pixels (positive = down)
      yaw   in [-90, 90]  -> horizontal shift 4 * yaw / 90 pixels (positive = right)
      roll  in [-90, 90]  -> in-plane rotation of roll / 3 degrees (so +-30 degrees)
  Training draws age, pitch, yaw uniformly over their ranges and roll uniformly over [-90, 90].
  The transform fills what it uncovers with -1, the black background (bilinear sampling of x + 1 with zero padding,
  minus 1), so transformed images have black corners like real ones. (The first committed model filled with 0, i.e.
  mid-grey; it was retrained with this fill.)
  The neutral attribute (identity transform) is age = 50, pitch = yaw = roll = 0.
* Denoiser eps_theta(x_t, t, y, s): a small U-Net (28 -> 14 -> 7), the condition c = g([y; s]) (3-layer MLP,
  widths 256, 256, 128, ReLU) added to the timestep embedding, consumed by every residual block through AdaGN
  (scale/shift). Images are 3-channel (grey replicated), 28 x 28, in [-1, 1] (pixel / 127.5 - 1).
* Loss (spec section 2.3): mean-squared denoising term + lambda_id * w(t) * (1 - <y, f(clip(x0_hat))>),
  w(t) = 0.5 * (1 - sigmoid(t / T)); the one-step reconstruction term R_t has weight 0 (spec default) and the
  constant is dropped. x0_hat is clipped to [-1, 1] before f (as at sampling), so the ID term only acts where the
  one-step estimate is inside the data range.
* Schedule: T = 1000, linear beta 1e-4 .. 0.02. t convention: t is the 0-based index into beta (0 .. T-1),
  alpha_bar[t] = prod_{s<=t} (1 - beta[s]), x_t = sqrt(alpha_bar[t]) x0 + sqrt(1 - alpha_bar[t]) eps.

Exports (ONNX opset 17, IR <= 10, dynamic batch, metadata_props with H, W, T, schedule, t convention, attributes):

    id3-fmnist-denoiser.onnx   x_t f32 [B,3,28,28], t i64 [B], id_embedding f32 [B,32], attributes f32 [B,4]
                               -> eps f32 [B,3,28,28]                                       (spec section 3.1)
    id3-fmnist-fr.onnx         image f32 [B,3,28,28] in [-1,1] -> embedding f32 [B,32] (unit rows)   (3.2)
    id3-fmnist-frgrad.onnx     image f32 [B,3,28,28], id_embedding f32 [B,32]
                               -> grad f32 [B,3,28,28] = d<y, f(image)>/d image, cosine f32 [B]   (3.3 fallback)

The FR-gradient graph is an explicit backward pass (ONNX Runtime has no autograd): conv -> ConvTranspose, ReLU ->
mask, max-pool -> nearest upsampling times an argmax mask, L2 normalisation -> (y - <y,u>u) / |e|. It is checked
against torch autograd before export (max abs difference in the log).

Usage (CPU, Debian's python3-torch 1.13, 2 threads):

    /usr/bin/python3 models/python/id3_fmnist.py --out /tmp/id3 --steps 2000 --threads 2

(the committed model: the full 2,000-step schedule, 13 min of training, 15 min in all, here; checkpoints every 250
steps, resumable; a run resumed at its last step only re-exports; --stop-at N stops early, e.g. for a time budget).
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

HERE = Path(__file__).resolve().parent
ENCODER_ONNX = HERE.parent / "prebuilt" / "contrastive-encoder.onnx"
ENCODER_SHA256 = "f79fa4305784fd16443dc0521bebf17e62c7c3a650caf28ded35715164fc3483"
ENCODER_KNN20 = 0.8304
DENOISER_NAME = "id3-fmnist-denoiser"
FR_NAME = "id3-fmnist-fr"
FRGRAD_NAME = "id3-fmnist-frgrad"
LOG_NAME = "id3-fmnist.log.json"
H = W = 28
C = 3
T = 1000
BETA_START, BETA_END = 1e-4, 0.02
EMB_DIM = 32
NEUTRAL_ATTRIBUTES = (50.0, 0.0, 0.0, 0.0)  # age, pitch, yaw, roll: the identity transform
ATTRIBUTE_SEMANTICS = (
    "stand-in attributes, raw units as in @trustvision/id3 (age years, pitch/yaw/roll degrees), encoded "
    "[age/100, pitch/90, yaw/90, roll/90]: age -> scale 0.8+0.4*age/100; pitch -> vertical shift 4*pitch/90 px "
    "(+ = down); yaw -> horizontal shift 4*yaw/90 px (+ = right); roll -> in-plane rotation roll/3 degrees; "
    "neutral (identity transform) = age 50, pitch = yaw = roll = 0; trained on age U[0,100], pitch, yaw, roll U[-90,90]"
)


# ----------------------------------------------------------------------------------------------------------------
# Minimal ONNX (protobuf) reading and metadata writing, so that no `onnx` package is needed.


def _varint(b: bytes, i: int) -> tuple[int, int]:
    r, s = 0, 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def _fields(b: bytes) -> list[tuple[int, int, object]]:
    i, out = 0, []
    while i < len(b):
        key, i = _varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = _varint(b, i)
        elif w == 2:
            n, i = _varint(b, i)
            v = b[i : i + n]
            i += n
        elif w == 5:
            v = b[i : i + 4]
            i += 4
        elif w == 1:
            v = b[i : i + 8]
            i += 8
        else:
            raise ValueError(f"unsupported protobuf wire type {w}")
        out.append((f, w, v))
    return out


def onnx_initializers(data: bytes) -> dict[str, torch.Tensor]:
    """float32 initializers (raw_data) of an ONNX ModelProto: graph = field 7, initializer = GraphProto field 5."""
    graph = next(v for f, _, v in _fields(data) if f == 7)
    out = {}
    for f, _, v in _fields(graph):
        if f != 5:
            continue
        tf = _fields(v)
        dims = [x for ff, _, x in tf if ff == 1]
        name = next(bytes(x).decode() for ff, _, x in tf if ff == 8)
        dtype = next(x for ff, _, x in tf if ff == 2)
        raw = next(bytes(x) for ff, _, x in tf if ff == 9)
        if dtype != 1:
            raise ValueError(f"initializer {name}: data type {dtype}, expected float32 (1)")
        out[name] = torch.from_numpy(np.frombuffer(raw, dtype="<f4").reshape(dims).copy())
    return out


def _len_delim(field: int, payload: bytes) -> bytes:
    n, enc = len(payload), bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        enc.append(b | (0x80 if n else 0))
        if not n:
            break
    out = bytearray()
    key = (field << 3) | 2
    while True:
        b = key & 0x7F
        key >>= 7
        out.append(b | (0x80 if key else 0))
        if not key:
            break
    return bytes(out) + bytes(enc) + payload


def with_metadata(model: bytes, meta: dict[str, str]) -> bytes:
    """Appends ModelProto.metadata_props (field 14, StringStringEntryProto {1: key, 2: value}) entries."""
    extra = b"".join(
        _len_delim(14, _len_delim(1, k.encode()) + _len_delim(2, str(v).encode())) for k, v in meta.items()
    )
    return model + extra


# ----------------------------------------------------------------------------------------------------------------
# FR stand-in: frozen contrastive encoder + whitening projection, with an explicit backward.

ENC_CONVS = (("onnx::Conv_41", "onnx::Conv_42"), ("onnx::Conv_44", "onnx::Conv_45"), ("onnx::Conv_47", "onnx::Conv_48"))


class FRStandIn(nn.Module):
    """image [B,3,28,28] in [-1,1] -> unit embedding [B,d]. Grey = channel mean; encoder input = (grey + 1) / 2."""

    def __init__(self, weights: dict[str, torch.Tensor], mu: torch.Tensor, proj: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", weights["mean"].clone())
        self.register_buffer("inv_std", weights["inv_std"].clone())
        for k, (w, b) in enumerate(ENC_CONVS):
            self.register_buffer(f"w{k}", weights[w].clone())
            self.register_buffer(f"b{k}", weights[b].clone())
        self.register_buffer("fc_w", weights["fc.weight"].clone())
        self.register_buffer("fc_b", weights["fc.bias"].clone())
        self.register_buffer("mu", mu.clone())
        self.register_buffer("proj", proj.clone())

    def convs(self):
        return [(getattr(self, f"w{k}"), getattr(self, f"b{k}")) for k in range(3)]

    def features(self, p01: torch.Tensor) -> torch.Tensor:
        """The committed encoder: [B,1,28,28] in [0,1] -> ReLU features [B,128]."""
        x = (p01 - self.mean) * self.inv_std
        for w, b in self.convs():
            x = F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2)
        return F.relu(F.linear(torch.flatten(x, 1), self.fc_w, self.fc_b))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        p = (image.mean(dim=1, keepdim=True) + 1.0) * 0.5
        e = (self.features(p) - self.mu) @ self.proj
        return e / e.norm(dim=1, keepdim=True).clamp_min(1e-12)


class FRGrad(nn.Module):
    """(image, y) -> (d<y, f(image)>/d image, <y, f(image)>), written as an explicit backward pass."""

    def __init__(self, fr: FRStandIn):
        super().__init__()
        self.fr = fr

    def forward(self, image: torch.Tensor, id_embedding: torch.Tensor):
        fr = self.fr
        p = (image.mean(dim=1, keepdim=True) + 1.0) * 0.5
        x = (p - fr.mean) * fr.inv_std
        saved = []
        for w, b in fr.convs():
            a = F.conv2d(x, w, b, padding=1)
            r = F.relu(a)
            m = F.max_pool2d(r, 2)
            saved.append((x, a, r, m, w))
            x = m
        flat = torch.flatten(x, 1)
        h = F.linear(flat, fr.fc_w, fr.fc_b)
        feat = F.relu(h)
        e = (feat - fr.mu) @ fr.proj
        n = e.norm(dim=1, keepdim=True).clamp_min(1e-12)
        u = e / n
        cos = (u * id_embedding).sum(dim=1, keepdim=True)
        # backward
        g_e = (id_embedding - cos * u) / n
        g_h = (g_e @ fr.proj.t()) * (h > 0).to(h.dtype)
        g = (g_h @ fr.fc_w).reshape(x.shape)
        for x_in, a, r, m, w in reversed(saved):
            hh, ww = m.shape[2] * 2, m.shape[3] * 2
            up_m = F.interpolate(m, scale_factor=2.0, mode="nearest")
            up_g = F.interpolate(g, scale_factor=2.0, mode="nearest")
            mask = (r[:, :, :hh, :ww] == up_m).to(r.dtype)
            g_r = F.pad(up_g * mask, (0, r.shape[3] - ww, 0, r.shape[2] - hh))
            g_a = g_r * (a > 0).to(a.dtype)
            g = F.conv_transpose2d(g_a, w, padding=1)
        g_img = (g * fr.inv_std * 0.5 / image.shape[1]).expand(-1, image.shape[1], -1, -1)
        return g_img, cos.squeeze(1)


# ----------------------------------------------------------------------------------------------------------------
# Denoiser


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.to(torch.float32)[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb: int):
        super().__init__()
        self.n1 = nn.GroupNorm(8, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.e = nn.Linear(emb, 2 * cout)
        self.n2 = nn.GroupNorm(8, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.e(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.n2(h) * (1 + scale) + shift
        h = self.c2(F.silu(h))
        return self.skip(x) + h


class Denoiser(nn.Module):
    """U-Net with widths (ch/2, 2ch, 2ch) at 28, 14, 7 pixels (cheap full-resolution level: CPU training)."""

    def __init__(self, emb_dim: int = EMB_DIM, ch: int = 32, attr_dim: int = 4):
        super().__init__()
        e = 4 * ch
        c0, c1 = ch // 2, 2 * ch
        self.ch = ch
        self.temb = nn.Sequential(nn.Linear(ch, e), nn.SiLU(), nn.Linear(e, e))
        self.cond = nn.Sequential(
            nn.Linear(emb_dim + attr_dim, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, e)
        )
        self.inp = nn.Conv2d(C, c0, 3, padding=1)
        self.d0 = ResBlock(c0, c0, e)
        self.down0 = nn.Conv2d(c0, c1, 3, stride=2, padding=1)  # 28 -> 14
        self.d1 = ResBlock(c1, c1, e)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)  # 14 -> 7
        self.d2 = ResBlock(c1, c1, e)
        self.m1 = ResBlock(c1, c1, e)
        self.m2 = ResBlock(c1, c1, e)
        self.u2 = ResBlock(2 * c1, c1, e)
        self.up1 = nn.Conv2d(c1, c1, 3, padding=1)
        self.u1 = ResBlock(2 * c1, c1, e)
        self.up0 = nn.Conv2d(c1, c0, 3, padding=1)
        self.u0 = ResBlock(2 * c0, c0, e)
        self.out_n = nn.GroupNorm(8, c0)
        self.out = nn.Conv2d(c0, C, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x_t, t, id_embedding, attributes):
        emb = self.temb(timestep_embedding(t, self.ch)) + self.cond(torch.cat([id_embedding, attributes], dim=1))
        h0 = self.d0(self.inp(x_t), emb)  # 28
        h1 = self.d1(self.down0(h0), emb)  # 14
        h2 = self.d2(self.down1(h1), emb)  # 7
        m = self.m2(self.m1(h2, emb), emb)
        u = self.u2(torch.cat([m, h2], 1), emb)  # 7
        u = self.up1(F.interpolate(u, scale_factor=2.0, mode="nearest"))  # 14
        u = self.u1(torch.cat([u, h1], 1), emb)
        u = self.up0(F.interpolate(u, scale_factor=2.0, mode="nearest"))  # 28
        u = self.u0(torch.cat([u, h0], 1), emb)
        return self.out(F.silu(self.out_n(u)))


def schedule() -> dict[str, torch.Tensor]:
    betas = torch.linspace(BETA_START, BETA_END, T, dtype=torch.float64)
    ab = torch.cumprod(1 - betas, 0)
    return {"betas": betas, "alpha_bar": ab}


def id_weight(t: torch.Tensor) -> torch.Tensor:
    """w(t) = 0.5 (1 - sigmoid(t / T)) with the 1-based step t + 1 (0.25 at t = 1, 0.134 at t = T)."""
    return 0.5 * (1 - torch.sigmoid((t.to(torch.float32) + 1) / T))


def attribute_transform(x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    """Applies the stand-in attributes raw [B,4] = (age, pitch, yaw, roll) to x [B,1,28,28] (fill -1 = black)."""
    age, pitch, yaw, roll = raw.unbind(1)
    scale = 0.8 + 0.4 * age / 100.0
    ang = torch.deg2rad(roll / 3.0)
    dx = 4.0 * yaw / 90.0 * (2.0 / W)  # pixels -> normalised coordinates
    dy = 4.0 * pitch / 90.0 * (2.0 / H)
    cos, sin = torch.cos(ang), torch.sin(ang)
    # output pixel p samples the input at A^-1 (p - d), A = scale * R(ang), in affine_grid's normalised coordinates
    inv = 1.0 / scale
    theta = torch.zeros(x.shape[0], 2, 3)
    theta[:, 0, 0] = inv * cos
    theta[:, 0, 1] = inv * sin
    theta[:, 1, 0] = -inv * sin
    theta[:, 1, 1] = inv * cos
    theta[:, 0, 2] = -(theta[:, 0, 0] * dx + theta[:, 0, 1] * dy)
    theta[:, 1, 2] = -(theta[:, 1, 0] * dx + theta[:, 1, 1] * dy)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # fill with -1 (the black background): sample x + 1 with zero padding, then shift back
    return F.grid_sample(x + 1.0, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1.0


def encode_attributes(raw: torch.Tensor) -> torch.Tensor:
    return raw / torch.tensor([100.0, 90.0, 90.0, 90.0])


def sample_attributes(n: int, gen: torch.Generator) -> torch.Tensor:
    u = torch.rand(n, 4, generator=gen)
    return torch.stack([100 * u[:, 0], 180 * u[:, 1] - 90, 180 * u[:, 2] - 90, 180 * u[:, 3] - 90], dim=1)


# ----------------------------------------------------------------------------------------------------------------


def export(model: nn.Module, args: tuple, inputs: list[str], outputs: list[str], meta: dict) -> bytes:
    model.eval()
    buf = io.BytesIO()
    dyn = {n: {0: "batch"} for n in inputs + outputs}
    torch.onnx.export(
        model, args, buf, input_names=inputs, output_names=outputs, dynamic_axes=dyn, opset_version=17,
        do_constant_folding=True, export_params=True,
    )
    data = with_metadata(buf.getvalue(), meta)
    ir = onnx_ir_version(data)
    if ir > 10:
        raise RuntimeError(f"ONNX IR version {ir} > 10")
    return data


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def state_sha256(model: nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


@torch.no_grad()
def batched(fn, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    return torch.cat([fn(x[i : i + batch]) for i in range(0, x.shape[0], batch)])


def to_pm1(u8: np.ndarray) -> torch.Tensor:
    """uint8 [N,28,28] -> float32 [N,1,28,28] in [-1, 1] (pixel / 127.5 - 1)."""
    return torch.from_numpy(u8.astype(np.float32) / np.float32(127.5) - np.float32(1.0)).unsqueeze(1)


REF_ATTRIBUTES = [[0.5, 0.0, 0.0, 0.0], [0.1, -0.5, 0.3, 0.2], [0.9, 0.4, -0.6, -1.0], [0.3, 1.0, 1.0, 0.5]]


def reference_inputs() -> dict[str, torch.Tensor]:
    n = 4 * C * H * W
    x = torch.sin(0.37 * torch.arange(n, dtype=torch.float64)).float().reshape(4, C, H, W)
    y = torch.cos(0.11 * torch.arange(4 * EMB_DIM, dtype=torch.float64) + 1).reshape(4, EMB_DIM)
    y = (y / y.norm(dim=1, keepdim=True)).float()
    return {"x": x, "t": torch.tensor([0, 10, 500, 999]), "y": y, "s": torch.tensor(REF_ATTRIBUTES)}


def summary(v: torch.Tensor) -> dict:
    v = v.reshape(v.shape[0], -1).double()
    return {"head": v[:, :32].tolist(), "sum": v.sum(1).tolist(), "sumsq": (v * v).sum(1).tolist()}


@torch.no_grad()
def reference_outputs(den: nn.Module, fr: FRStandIn) -> dict:
    r = reference_inputs()
    eps = den(r["x"], r["t"], r["y"], r["s"])
    emb = fr(r["x"])
    with torch.enable_grad():
        xr = r["x"].clone().requires_grad_(True)
        (fr(xr) * r["y"]).sum().backward()
    grad, cos = FRGrad(fr)(r["x"], r["y"])
    return {
        "inputs": "x[i] = sin(0.37 i) over the flat [4,3,28,28] array; t = [0, 10, 500, 999]; "
        "y[b] = normalise(cos(0.11 (32 b + k) + 1)), k = 0..31; attributes = REF_ATTRIBUTES",
        "attributes": REF_ATTRIBUTES,
        "eps": summary(eps),
        "embedding": emb.tolist(),
        "grad": summary(grad),
        "grad_autograd": summary(xr.grad),
        "cosine": cos.tolist(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=None, help=f"Fashion-MNIST folder (default: {fmnist.default_dir()})")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lambda-id", type=float, default=0.05, help="weight of the ID term (times w(t))")
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N training images only")
    ap.add_argument("--stop-at", type=int, default=0,
                    help="stop (and export) after this many steps of the --steps schedule (time budget); resumable")
    ap.add_argument("--checkpoint-every", type=int, default=250, help="resumable: state saved every K steps")
    args = ap.parse_args(argv)

    t_start = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    enc_bytes = ENCODER_ONNX.read_bytes()
    if sha(enc_bytes) != ENCODER_SHA256:
        raise RuntimeError(f"{ENCODER_ONNX}: sha256 {sha(enc_bytes)}, expected {ENCODER_SHA256} (its card)")
    weights = onnx_initializers(enc_bytes)

    data = fmnist.load(args.data)
    train_u8, train_y = data["train"]
    test_u8, test_y = data["test"]
    if args.limit:
        train_u8, train_y = train_u8[: args.limit], train_y[: args.limit]
    x_train = to_pm1(train_u8)
    x_test = to_pm1(test_u8)

    # Frozen encoder features; the whitening projection is fitted on the (full) training split.
    probe = FRStandIn(weights, torch.zeros(128), torch.eye(128))
    t0 = time.time()
    f_train = batched(lambda x: probe.features((x + 1) * 0.5), x_train)
    f_test = batched(lambda x: probe.features((x + 1) * 0.5), x_test)
    a = F.normalize(f_train, dim=1)
    b = F.normalize(f_test, dim=1)
    ytr, yte = torch.from_numpy(train_y), torch.from_numpy(test_y)
    correct = 0
    for i in range(0, b.shape[0], 500):
        idx = (b[i : i + 500] @ a.t()).topk(20, dim=1).indices
        correct += int((F.one_hot(ytr[idx], 10).sum(1).argmax(1) == yte[i : i + 500]).sum())
    knn = correct / b.shape[0]
    if not args.limit and abs(knn - ENCODER_KNN20) > 1e-4:
        raise RuntimeError(f"re-loaded encoder: 20-NN accuracy {knn}, card says {ENCODER_KNN20}")
    mu = f_train.mean(0)
    xc = (f_train - mu).double()
    evals, evecs = torch.linalg.eigh(xc.t() @ xc / xc.shape[0])
    evals, evecs = evals.flip(0), evecs.flip(1)
    explained = float(evals[:EMB_DIM].sum() / evals.sum())
    proj = (evecs[:, :EMB_DIM] / evals[:EMB_DIM].sqrt()).float()
    # fix the eigenvector signs (largest-magnitude entry positive) so the projection is deterministic
    signs = torch.sign(proj[proj.abs().argmax(0), torch.arange(EMB_DIM)])
    proj = proj * signs
    fr = FRStandIn(weights, mu, proj).eval()
    for p_ in fr.parameters():
        p_.requires_grad_(False)
    y_train = None  # computed when there are steps left to train (not for a re-export from the last checkpoint)
    y_test = batched(fr, x_test.expand(-1, C, -1, -1))
    emb_seconds = time.time() - t0
    gen_stats = torch.Generator().manual_seed(12345)
    i1 = torch.randint(0, y_test.shape[0], (4000,), generator=gen_stats)
    i2 = torch.randint(0, y_test.shape[0], (4000,), generator=gen_stats)
    cos_pairs = (y_test[i1] * y_test[i2]).sum(1)
    same = yte[i1] == yte[i2]
    aug_raw = sample_attributes(2000, gen_stats)
    x_aug = attribute_transform(x_test[:2000], aug_raw)
    cos_aug = (batched(fr, x_aug.expand(-1, C, -1, -1)) * y_test[:2000]).sum(1)
    embedding_stats = {
        "dim": EMB_DIM,
        "explained_variance": explained,
        "test_same_class_cos_mean": float(cos_pairs[same].mean()),
        "test_diff_class_cos_mean": float(cos_pairs[~same].mean()),
        "test_random_pair_cos_std": float(cos_pairs.std()),
        "clean_vs_attribute_transformed_cos_mean": float(cos_aug.mean()),
        "clean_vs_attribute_transformed_cos_quartiles": [float(q) for q in torch.quantile(cos_aug, torch.tensor([0.25, 0.5, 0.75]))],
    }
    print(f"encoder re-loaded (20-NN {knn:.4f}); embeddings d={EMB_DIM} ({explained:.3f} of variance) in "
          f"{emb_seconds:.0f} s; {json.dumps(embedding_stats)}", flush=True)

    # FR-gradient graph vs autograd
    xg = x_test[:64].expand(-1, C, -1, -1).clone() + 0.05 * torch.randn(64, C, H, W, generator=gen_stats)
    yg = y_test[torch.randperm(y_test.shape[0], generator=gen_stats)[:64]]
    xr = xg.clone().requires_grad_(True)
    (fr(xr) * yg).sum().backward()
    g_manual, cos_manual = FRGrad(fr)(xg, yg)
    grad_check = {
        "max_abs_diff": float((g_manual - xr.grad).abs().max()),
        "max_abs_grad": float(xr.grad.abs().max()),
        "cos_max_abs_diff": float((cos_manual - (fr(xg) * yg).sum(1)).abs().max()),
    }
    print(f"FR gradient, explicit backward vs autograd: {grad_check}", flush=True)
    if grad_check["max_abs_diff"] > 1e-4 * max(1.0, grad_check["max_abs_grad"]):
        raise RuntimeError(f"explicit FR backward disagrees with autograd: {grad_check}")

    # ---- training (resumable) ----
    sch = schedule()
    ab = sch["alpha_bar"].float()
    model = Denoiser(ch=args.width)
    ema = Denoiser(ch=args.width)
    ema.load_state_dict(model.state_dict())
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    warm = 200
    lr_at = lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps))  # noqa: E731
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    gen = torch.Generator().manual_seed(args.seed)
    step, history, resumed_seconds = 0, [], 0.0
    ckpt = out / "id3-fmnist.ckpt.pt"
    if ckpt.exists():
        st = torch.load(ckpt)
        if st["args"] != {k: v for k, v in vars(args).items() if k not in ("out", "stop_at")}:
            raise RuntimeError(f"{ckpt}: written with other arguments {st['args']}; remove it to start over")
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        gen.set_state(st["gen"])
        step, history = st["step"], st["history"]
        resumed_seconds = history[-1]["seconds"] if history else 0.0
        print(f"resumed at step {step}", flush=True)
    print(f"torch {torch.__version__}, {args.threads} thread(s); denoiser {n_params} parameters; "
          f"{x_train.shape[0]} images; {args.steps} steps of batch {args.batch}", flush=True)
    t_train = time.time()
    acc = {"mse": 0.0, "id": 0.0, "cos": 0.0, "n": 0}
    last = min(args.steps, args.stop_at) if args.stop_at else args.steps
    if step > last:
        raise RuntimeError(f"{ckpt} is at step {step}, past --stop-at {last}")
    if step < last:
        y_train = batched(fr, x_train.expand(-1, C, -1, -1))
        t_train = time.time()
    while step < last:
        model.train()
        idx = torch.randint(0, x_train.shape[0], (args.batch,), generator=gen)
        raw = sample_attributes(args.batch, gen)
        x0 = attribute_transform(x_train[idx], raw).clamp(-1, 1).expand(-1, C, -1, -1)
        y = y_train[idx]
        t = torch.randint(0, T, (args.batch,), generator=gen)
        eps = torch.randn(x0.shape, generator=gen)
        sa = ab[t].sqrt()[:, None, None, None]
        s1 = (1 - ab[t]).sqrt()[:, None, None, None]
        x_t = sa * x0 + s1 * eps
        eps_hat = model(x_t, t, y, encode_attributes(raw))
        mse = F.mse_loss(eps_hat, eps)
        loss = mse
        if args.lambda_id > 0:
            x0_hat = ((x_t - s1 * eps_hat) / sa).clamp(-1, 1)
            cos = (fr(x0_hat) * y).sum(1)
            id_term = (id_weight(t) * (1 - cos)).mean()
            loss = mse + args.lambda_id * id_term
            acc["id"] += float(id_term)
            acc["cos"] += float(cos.mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        d = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm, alpha=1 - d)
        acc["mse"] += float(mse)
        acc["n"] += 1
        if step % 50 == 0 or step == last:
            row = {"step": step, "mse": acc["mse"] / acc["n"], "id_term": acc["id"] / acc["n"],
                   "cos_x0hat": acc["cos"] / acc["n"], "lr": sched.get_last_lr()[0],
                   "seconds": round(time.time() - t_train + resumed_seconds, 1)}
            history.append(row)
            print(json.dumps(row), flush=True)
            acc = {"mse": 0.0, "id": 0.0, "cos": 0.0, "n": 0}
        if step % args.checkpoint_every == 0 or step == last:
            st = {"args": {k: v for k, v in vars(args).items() if k not in ("out", "stop_at")}, "model": model.state_dict(),
                  "ema": ema.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                  "gen": gen.get_state(), "step": step, "history": history}
            tmp = ckpt.with_name(ckpt.name + ".tmp")
            torch.save(st, tmp)
            os.replace(tmp, ckpt)
    # a run resumed after the last step (e.g. to re-export) reports the training time of the run that trained
    train_seconds = history[-1]["seconds"] if history else time.time() - t_train

    # ---- export ----
    ema.eval()
    meta_common = {
        "trustvision.standIn": "true",
        "id3.height": str(H),
        "id3.width": str(W),
        "id3.channels": str(C),
        "id3.image_range": "[-1,1] = pixel/127.5-1 (grey replicated to 3 channels)",
        "id3.embedding_dim": str(EMB_DIM),
    }
    den_meta = dict(meta_common)
    den_meta.update({
        # keys read by @trustvision/id3's Denoiser adapter (model.ts CONTRACT_KEYS)
        "id3.attributes": "4",
        "id3.attribute_normalisation": "age/100,pitch/90,yaw/90,roll/90",
        "id3.T": str(T),
        "id3.schedule": "linear",
        "id3.beta_start": str(BETA_START),
        "id3.beta_end": str(BETA_END),
        "id3.t_convention": "index",
        # descriptive
        "id3.t_definition": "t int64 = 0-based index k into beta (0..T-1); alpha_bar[k] = prod_{s<=k}(1-beta[s]); "
        "x_t = sqrt(alpha_bar[k]) x0 + sqrt(1-alpha_bar[k]) eps",
        "id3.prediction": "eps",
        "id3.attribute_semantics": ATTRIBUTE_SEMANTICS,
        "id3.neutral_attributes": json.dumps(list(NEUTRAL_ATTRIBUTES)),
        "id3.fr_model": f"{FR_NAME}.onnx",
        "id3.loss": f"mse(eps) + {args.lambda_id} * w(t) * (1 - <y, f(clip(x0_hat))>), w(t) = 0.5(1 - sigmoid((k+1)/T))",
    })
    ex = (torch.zeros(2, C, H, W), torch.tensor([10, 500]), F.normalize(torch.randn(2, EMB_DIM), dim=1), torch.zeros(2, 4))
    den_bytes = export(ema, ex, ["x_t", "t", "id_embedding", "attributes"], ["eps"], den_meta)
    fr_meta = dict(meta_common)
    fr_meta.update({"id3.fr": "contrastive-encoder (sha256 " + ENCODER_SHA256[:16] + "...) + whitening to d=32, L2-normalised"})
    fr_bytes = export(fr, (torch.zeros(2, C, H, W),), ["image"], ["embedding"], fr_meta)
    frg_meta = dict(fr_meta)
    frg_meta.update({"id3.frgrad": "grad = d<id_embedding, embedding(image)>/d image (explicit backward); cosine = <id_embedding, embedding(image)>"})
    frg_bytes = export(FRGrad(fr), (torch.zeros(2, C, H, W), F.normalize(torch.randn(2, EMB_DIM), dim=1)),
                       ["image", "id_embedding"], ["grad", "cosine"], frg_meta)

    # reference outputs for the TS-side check (ONNX Runtime vs torch) on inputs defined by formulas (no data):
    # x[i] = sin(0.37 i) over the flat [4,3,28,28] array; t = 0, 10, 500, 999; y[b] = normalise(cos(0.11 (32 b + k) + 1));
    # attributes = REF_ATTRIBUTES. Stored: per sample the first 32 values, the sum and the sum of squares.
    reference = reference_outputs(ema, fr)

    files = {}
    for name, data_ in ((DENOISER_NAME, den_bytes), (FR_NAME, fr_bytes), (FRGRAD_NAME, frg_bytes)):
        write_atomic(out / f"{name}.onnx", data_)
        files[name] = {"file": f"{name}.onnx", "sha256": sha(data_), "bytes": len(data_), "ir_version": onnx_ir_version(data_), "opset": 17}
    log = {
        "model": "id3-fmnist",
        "standIn": True,
        "script": "models/python/id3_fmnist.py",
        "command": " ".join([Path(sys.executable).as_posix(), *sys.argv]) if argv is None else None,
        "args": vars(args),
        "seed": args.seed,
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                     "platform": platform.platform(), "cpu_capability": cpu_capability()},
        "data": {"source": f"Debian {fmnist.DEB_PACKAGE} {fmnist.DEB_VERSION}", "sha256": data["sha256"],
                 "split": "official train 0..54999" + (f" (first {args.limit})" if args.limit else "")
                 + "; identity = the item (un-augmented image), labels unused"},
        "encoder": {"file": "models/prebuilt/contrastive-encoder.onnx", "sha256": ENCODER_SHA256, "knn20_recomputed": knn},
        "embedding": embedding_stats,
        "frgrad_check": grad_check,
        "reference": reference,
        "contract": {"H": H, "W": W, "C": C, "T": T, "schedule": den_meta["id3.schedule"],
                     "t_convention": den_meta["id3.t_convention"], "attributes": den_meta["id3.attributes"],
                     "attribute_semantics": ATTRIBUTE_SEMANTICS, "neutral_attributes": list(NEUTRAL_ATTRIBUTES),
                     "embedding_dim": EMB_DIM},
        "architecture": f"U-Net 28->14->7, widths ({args.width // 2}, {2 * args.width}, {2 * args.width}), 8 AdaGN residual blocks, no attention; "
        "condition MLP [y; s] (36) -> 256 -> 256 -> 128 (ReLU) added to the timestep embedding",
        "parameters": n_params,
        "loss": den_meta["id3.loss"],
        "optimiser": f"AdamW lr {args.lr} (200-step warm-up, cosine), batch {args.batch}, grad-norm clip 1, EMA {args.ema} (exported)",
        "history": history,
        "weights_sha256": state_sha256(ema),
        "onnx": files,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - t_start, 1),
    }
    write_atomic(out / LOG_NAME, (json.dumps(log, indent=2) + "\n").encode())
    print(json.dumps(files), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
