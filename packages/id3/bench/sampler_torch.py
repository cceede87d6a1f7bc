"""PyTorch side of bench/sampler.mjs: DDIM (eta = 0) with the exported ID3-style U-Net (models/python/id3_export.py,
the same weights as the ONNX file), the linear schedule, S steps spread as the TS sampler spreads them, batch B, one
thread. Writes x_T, the condition, the final images and the time to an .npz.

    /usr/bin/python3 packages/id3/bench/sampler_torch.py --state DIR/id3_unet.pt --size 32 --batch 8 --steps 20 --out DIR/torch.npz
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "models", "python"))
from id3_export import ID3UNet  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--state", required=True)
ap.add_argument("--size", type=int, default=32)
ap.add_argument("--base", type=int, default=32)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--steps", type=int, default=20)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--seed", type=int, default=3)
ap.add_argument("--out", required=True)
a = ap.parse_args()
torch.set_num_threads(a.threads)
net = ID3UNet(base=a.base).eval()
net.load_state_dict(torch.load(a.state, map_location="cpu"))
T = 1000
betas = np.linspace(1e-4, 0.02, T)
ab = np.cumprod(1 - betas)
S = a.steps
ks = [T - 1] if S == 1 else [int(math.floor(j * (T - 1) / (S - 1) + 0.5)) for j in range(S - 1, -1, -1)]
g = torch.Generator().manual_seed(a.seed)
B = a.batch
xT = torch.randn(B, 3, a.size, a.size, generator=g)
y = torch.nn.functional.normalize(torch.randn(B, 512, generator=g), dim=1)
s = torch.rand(B, 4, generator=g) * 2 - 1


def run():
    x = xT.double()
    with torch.no_grad():
        for i, k in enumerate(ks):
            a_t = ab[k]
            a_p = ab[ks[i + 1]] if i + 1 < len(ks) else 1.0
            eps = net(x.float(), torch.full((B,), k, dtype=torch.int64), y, s).double()
            x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
            x = math.sqrt(a_p) * x0 + math.sqrt(1 - a_p) * eps
    return x.float()


run()  # warm-up
t0 = time.perf_counter()
out = run()
sec = time.perf_counter() - t0
np.savez(a.out, xT=xT.numpy(), id_embedding=y.numpy(), attributes=s.numpy(), images=out.numpy(), seconds=np.array(sec),
         threads=np.array(a.threads))
print(f"PyTorch {torch.__version__} CPU ({a.threads} thread): {B} images x {S} DDIM steps in {sec:.2f} s = {B / sec:.2f} images/s")
