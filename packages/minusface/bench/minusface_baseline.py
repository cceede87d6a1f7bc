#!/usr/bin/env python3
"""PyTorch baseline for bench/minusface.mjs: MinusFace protection throughput on CPU with Debian torch.

The same exported generator: its weights are read straight out of the ONNX file (a ~40-line protobuf reader, no
`onnx` package; torch.onnx.export keeps the parameter names) into the stand-in's PyTorch module
(models/python/minusface_standin.py), and the output is checked against ONNX Runtime's reference first. The transform
is models/python/minusface_dct.py (separable matrix products, float32), the shuffle a per-sample argsort permutation.

    /usr/bin/python3 packages/minusface/bench/minusface_baseline.py --generator models/prebuilt/minusface-generator.onnx \
        --size 16 --count 512 --batch 64 --threads 1
Prints one JSON line: {"images_per_s": ..., ...}.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "models" / "python"))
from minusface_dct import DctCodec, shuffle_channels  # noqa: E402
from minusface_standin import Generator  # noqa: E402


def varint(b, i):
    v = s = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << s
        s += 7
        if not x & 0x80:
            return v, i


def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i)
            v = b[i : i + n]
            i += n
        elif wt == 5:
            v, i = b[i : i + 4], i + 4
        elif wt == 1:
            v, i = b[i : i + 8], i + 8
        else:
            raise ValueError(f"wire type {wt}")
        yield f, wt, v


def onnx_initializers(path):
    """name -> float32 ndarray for every initializer of ModelProto.graph (field 7, initializer = field 5)."""
    b = memoryview(open(path, "rb").read())
    graph = next(v for f, _, v in fields(b) if f == 7)
    out = {}
    for f, _, v in fields(graph):
        if f != 5:
            continue
        dims, name, raw, dtype = [], None, None, None
        for g, w, x in fields(v):
            if g == 1:
                if w == 0:
                    dims.append(x)
                else:
                    j = 0
                    while j < len(x):
                        d, j = varint(x, j)
                        dims.append(d)
            elif g == 2:
                dtype = x
            elif g == 8:
                name = bytes(x).decode()
            elif g == 9:
                raw = bytes(x)
        if dtype == 1 and raw is not None:
            out[name] = np.frombuffer(raw, dtype="<f4").reshape(dims).copy()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--generator", required=True)
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--count", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--images", help=".npy float32 [count,3,size,size] (default: torch.rand)")
    ap.add_argument("--dump-regen", help="write g(e(X)) of the first 2 images here (.npy) for the ORT comparison")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    init = onnx_initializers(args.generator)
    g = Generator(torch.from_numpy(init["scale"]).reshape(-1))
    g.load_state_dict({k: torch.from_numpy(v) for k, v in init.items()}, strict=True)
    g.eval()
    codec = DctCodec()
    gen = torch.Generator().manual_seed(args.seed)
    if args.images:
        u = torch.from_numpy(np.load(args.images)).float()
        args.count, args.size = u.shape[0], u.shape[2]
    else:
        u = torch.rand(args.count, 3, args.size, args.size, generator=gen)
    with torch.no_grad():
        x = codec.encode(u[:2])
        check = g(x)
        if args.dump_regen:
            np.save(args.dump_regen, check.numpy())
        # warm-up
        codec.decode(shuffle_channels(x - check, gen))
        t0 = time.perf_counter()
        outs = []
        for i in range(0, args.count, args.batch):
            xb = codec.encode(u[i : i + args.batch])
            r = xb - g(xb)
            outs.append(codec.decode(shuffle_channels(r, gen)))
        dt = time.perf_counter() - t0
    xp = torch.cat(outs)
    assert xp.shape == (args.count, 3, args.size, args.size) and float(xp.min()) >= 0 and float(xp.max()) <= 1
    print(
        json.dumps(
            {
                "images_per_s": args.count / dt,
                "seconds": dt,
                "count": args.count,
                "size": args.size,
                "batch": args.batch,
                "threads": args.threads,
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
