"""MinusFace's fixed DCT-domain encoder e and decoder d in PyTorch (TrustVision, MIT).

Written from the spec (`minusface.md` §B.3), not from the official code, for training the stand-in models and for
the PyTorch side of the benchmark. It is the same transform as `@trustvision/minusface`'s `DctCodec`:

e: RGB U in [0,1]^{B,3,H,W} -> E in R^{B,192,H,W}
   1. bilinear x8 upsampling, align_corners=True;  2. x255, JPEG full-range YCbCr;  3. -128 on all channels;
   4. orthonormal 8x8 DCT-II per block, E[64c + 8u + v, a, b] = coefficient (u vertical, v horizontal) of block (a, b).
d: E -> RGB in [0,1]^{B,3,H,W}: inverse block DCT, +128, YCbCr -> RGB, /255, bilinear 8H -> H (align_corners=True),
   clamp to [0, 1] (optional: clamp=False for the unclamped value).

Implemented as separable matrix products (see DctCodec); H and W may be any positive size (H, W > 1).
"""
from __future__ import annotations

import math

import torch

REP_CHANNELS = 192


def dct8() -> torch.Tensor:
    """M[u, y] = c(u) cos((2y+1) u pi / 16), c(0) = sqrt(1/8), c(u>0) = 1/2 (orthonormal DCT-II), float64."""
    m = torch.zeros(8, 8, dtype=torch.float64)
    for u in range(8):
        cu = math.sqrt(1 / 8) if u == 0 else math.sqrt(2 / 8)
        for y in range(8):
            m[u, y] = cu * math.cos((2 * y + 1) * u * math.pi / 16)
    return m


def basis(dtype=torch.float32) -> torch.Tensor:
    """[64, 1, 8, 8]: filter 8u + v is the outer product M[u, :] x M[v, :]."""
    m = dct8()
    return torch.einsum("uy,vx->uvyx", m, m).reshape(64, 1, 8, 8).to(dtype)


_RGB2YCC = torch.tensor(
    [[0.299, 0.587, 0.114], [-0.168735892, -0.331264108, 0.5], [0.5, -0.418687589, -0.081312411]], dtype=torch.float64
)
# YCbCr (with Cb, Cr already centred at 0) -> RGB
_YCC2RGB = torch.tensor([[1.0, 0.0, 1.402], [1.0, -0.344136286, -0.714136286], [1.0, 1.772, 0.0]], dtype=torch.float64)


def resample_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """[n_out, n_in]: bilinear (1-D linear) resampling with align_corners=True, output i samples i (n_in-1)/(n_out-1)."""
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    for i in range(n_out):
        src = i * scale
        lo = min(int(math.floor(src)), n_in - 1)
        hi = lo + 1 if lo < n_in - 1 else lo
        w = src - lo
        m[i, lo] += 1 - w
        m[i, hi] += w
    return m


class DctCodec(torch.nn.Module):
    """e and d as separable matrix products (the whole transform is linear per axis, apart from the colour step,
    which is per pixel and commutes with it, and the -128 level shift, which only moves the Y DC coefficients by
    8 * -128 = -1024). Per axis of length n: A = blockdiag(M) @ P_up ([8n, n]) for e, B = P_down @ blockdiag(M)^T
    ([n, 8n]) for d; rows of A are ordered (block a, frequency u). Exact in exact arithmetic; float32 by default."""

    def __init__(self, dtype=torch.float32):
        super().__init__()
        self.dtype = dtype
        self.register_buffer("rgb2ycc", _RGB2YCC.to(dtype))
        self.register_buffer("ycc2rgb", _YCC2RGB.to(dtype))
        self._cache: dict = {}

    def _mats(self, n: int):
        if n not in self._cache:
            blk = torch.block_diag(*([dct8()] * n))  # [8n, 8n]
            a = blk @ resample_matrix(n, 8 * n)  # [8n, n]
            b = resample_matrix(8 * n, n) @ blk.T  # [n, 8n]
            self._cache[n] = (a.to(self.dtype), b.to(self.dtype))
        return self._cache[n]

    def encode(self, u: torch.Tensor) -> torch.Tensor:
        bsz, c, h, w = u.shape
        assert c == 3
        ay, _ = self._mats(h)
        ax, _ = self._mats(w)
        ycc = torch.einsum("kc,bchw->bkhw", self.rgb2ycc * 255.0, u)
        t = ay @ ycc @ ax.T  # [B, 3, 8h, 8w], rows (a, u), columns (b, v)
        t = t.reshape(bsz, 3, h, 8, w, 8).permute(0, 1, 3, 5, 2, 4).reshape(bsz, REP_CHANNELS, h, w)
        shift = torch.zeros(REP_CHANNELS, 1, 1, dtype=t.dtype)
        shift[0] = -1024.0  # Y - 128 on every pixel = -1024 on each block's DC (orthonormal DC = 8 * mean)
        return t + shift

    def decode(self, e: torch.Tensor, clamp: bool = True) -> torch.Tensor:
        bsz, c, h, w = e.shape
        assert c == REP_CHANNELS
        _, by = self._mats(h)
        _, bx = self._mats(w)
        t = e.reshape(bsz, 3, 8, 8, h, w).permute(0, 1, 4, 2, 5, 3).reshape(bsz, 3, 8 * h, 8 * w)
        small = by @ t @ bx.T  # [B, 3, h, w] level-shifted YCbCr
        small = torch.cat([small[:, :1] + 128.0, small[:, 1:]], dim=1)
        rgb = torch.einsum("kc,bchw->bkhw", self.ycc2rgb / 255.0, small)
        return rgb.clamp(0.0, 1.0) if clamp else rgb


def shuffle_channels(r: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    """s(r; theta): a fresh uniformly random permutation of the 192 channels per sample, (s(r))_j = r_{pi(j)}."""
    b, c = r.shape[:2]
    perm = torch.argsort(torch.rand(b, c, generator=gen), dim=1)
    idx = perm.view(b, c, 1, 1).expand_as(r)
    return torch.gather(r, 1, idx)
