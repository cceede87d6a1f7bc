#!/usr/bin/env python3
"""Recogniser training + real-pair verification for the ID3 Fashion-MNIST claim (bench/claim.mjs calls this).

Subcommands (Debian /usr/bin/python3: numpy, torch 1.13, PIL; 1 thread):

  pairs  --out PAIRS.json [--seed 0]
      The fixed verification pair list on the REAL Fashion-MNIST test split (official t10k): 10 folds of 300 genuine
      pairs (two different images of the same class) + 300 impostor pairs (images of two different classes), 6,000
      pairs in all, drawn with numpy's default_rng(seed). Committed as bench/fmnist-pairs.json.

  train  (--dataset DIR | --real N_IMAGES | --teacher) --pairs PAIRS.json --out RESULT.json [--steps 1000] [--seed 0]
      --dataset: an id3 dataset folder (manifest.jsonl + PNGs): one class per synthetic identity.
      --real:    N_IMAGES real training images (official train 0..54999, seeded choice), their 10 class labels as
                 identities (the reference row: real data, same image count and the same training budget).
      --teacher: no training; the FR stand-in itself (models/python/id3_fmnist.py: frozen contrastive encoder +
                 whitening, d = 32) embeds the pairs (the identity source every synthetic set was conditioned on).
      The recogniser (the FR stand-in's own trunk size, trained from scratch): 3 x [conv3x3-BN-ReLU-maxpool2]
      (16, 32, 64 channels; 28 -> 14 -> 7 -> 3), flatten -> Linear 128 -> BatchNorm1d = the embedding; CosFace head (s = 16, m = 0.2) over the training classes;
      AdamW lr 2e-3 with cosine decay, batch 64, a fixed number of steps; augmentation: horizontal flip and shifts of
      up to 2 pixels. Input: grey = channel mean, pixel / 255.
      Evaluation (spec id3.md section 5.1): cosine of the two embeddings of each pair; 10-fold accuracy, each fold's
      threshold is the one maximising accuracy on the other nine folds; mean and standard deviation over folds.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "models" / "python"))
import fmnist  # noqa: E402


def write_json_atomic(path: Path, obj, indent=1) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=indent) + "\n")
    os.replace(tmp, path)


def make_pairs(test_y: np.ndarray, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(test_y == c) for c in range(10)]
    folds = []
    for _ in range(10):
        pairs = []
        for _ in range(300):
            c = int(rng.integers(10))
            a, b = rng.choice(by_class[c], 2, replace=False)
            pairs.append([int(a), int(b), 1])
        for _ in range(300):
            c1, c2 = rng.choice(10, 2, replace=False)
            pairs.append([int(rng.choice(by_class[c1])), int(rng.choice(by_class[c2])), 0])
        folds.append(pairs)
    return {
        "description": "Fashion-MNIST official test split (t10k) verification pairs: 10 folds x (300 genuine = same "
        "class, two different images; 300 impostor = different classes); [indexA, indexB, genuine]",
        "seed": seed,
        "generator": "numpy.random.default_rng",
        "folds": folds,
    }


def ten_fold(scores: np.ndarray, labels: np.ndarray, fold: np.ndarray) -> dict:
    accs, thresholds = [], []
    for k in range(10):
        tr, te = fold != k, fold == k
        s, l = scores[tr], labels[tr]
        order = np.argsort(s)
        s_sorted, l_sorted = s[order], l[order]
        # threshold between consecutive sorted scores; predict genuine when score > th
        cand = np.concatenate([[s_sorted[0] - 1e-6], (s_sorted[:-1] + s_sorted[1:]) / 2, [s_sorted[-1] + 1e-6]])
        # accuracy for threshold between i-1 and i: impostors among the first i + genuine among the rest
        neg_below = np.concatenate([[0], np.cumsum(l_sorted == 0)])
        pos_above = (l_sorted == 1).sum() - np.concatenate([[0], np.cumsum(l_sorted == 1)])
        acc = (neg_below + pos_above) / len(s)
        th = cand[int(np.argmax(acc))]
        thresholds.append(float(th))
        accs.append(float(((scores[te] > th) == (labels[te] == 1)).mean()))
    return {"mean": float(np.mean(accs)), "std": float(np.std(accs)), "folds": accs, "thresholds": thresholds}


class Recogniser(nn.Module):
    def __init__(self, classes: int, dim: int = 128):
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.body = nn.Sequential(block(1, 16), block(16, 32), block(32, 64))
        self.fc = nn.Linear(64 * 3 * 3, dim)
        self.bn = nn.BatchNorm1d(dim)
        self.head = nn.Parameter(torch.randn(classes, dim) * 0.01)

    def embed(self, x):
        return self.bn(self.fc(torch.flatten(self.body(x), 1)))

    def cosface(self, x, y, s=16.0, m=0.2):
        cos = F.normalize(self.embed(x), dim=1) @ F.normalize(self.head, dim=1).t()
        return F.cross_entropy(s * (cos - m * F.one_hot(y, cos.shape[1])), y)


def augment(x: torch.Tensor, gen: torch.Generator, shift: int = 2) -> torch.Tensor:
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    offs = torch.randint(0, 2 * shift + 1, (n, 2), generator=gen)
    padded = F.pad(x, (shift, shift, shift, shift))
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = int(offs[i, 0]), int(offs[i, 1])
        out[i] = padded[i, :, dy : dy + 28, dx : dx + 28]
    return out


def load_dataset(d: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    rows = [json.loads(line) for line in (d / "manifest.jsonl").read_text().splitlines() if line.strip()]
    imgs = np.zeros((len(rows), 28, 28), dtype=np.uint8)
    labels = np.zeros(len(rows), dtype=np.int64)
    for k, r in enumerate(rows):
        a = np.asarray(Image.open(d / r["file"]))
        imgs[k] = np.rint(a.mean(axis=2)) if a.ndim == 3 else a
        labels[k] = r["identity"]
    return imgs, labels


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pairs")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None)
    t = sub.add_parser("train")
    g = t.add_mutually_exclusive_group(required=True)
    g.add_argument("--dataset")
    g.add_argument("--real", type=int)
    g.add_argument("--teacher", action="store_true")
    t.add_argument("--pairs", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--steps", type=int, default=1000)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--data", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(getattr(args, "threads", 1))
    data = fmnist.load(args.data)
    if args.cmd == "pairs":
        write_json_atomic(Path(args.out), make_pairs(data["test"][1], args.seed), indent=None)
        return 0

    t0 = time.time()
    torch.manual_seed(args.seed)
    pairs = json.loads(Path(args.pairs).read_text())
    flat = np.array([(a, b, l, k) for k, fold in enumerate(pairs["folds"]) for a, b, l in fold], dtype=np.int64)
    test_u8 = data["test"][0]
    x_test = torch.from_numpy(test_u8.astype(np.float32) / np.float32(255)).unsqueeze(1)
    result = {"args": {k: v for k, v in vars(args).items()}, "pairs": str(args.pairs), "pairs_seed": pairs["seed"]}

    if args.teacher:
        from id3_fmnist import ENCODER_ONNX, EMB_DIM, FRStandIn, onnx_initializers  # noqa: E402

        weights = onnx_initializers(ENCODER_ONNX.read_bytes())
        probe = FRStandIn(weights, torch.zeros(128), torch.eye(128))
        with torch.no_grad():
            x_train = torch.from_numpy(data["train"][0].astype(np.float32) / np.float32(255)).unsqueeze(1)
            f_train = torch.cat([probe.features(x_train[i : i + 1000]) for i in range(0, len(x_train), 1000)])
            mu = f_train.mean(0)
            xc = (f_train - mu).double()
            ev, V = torch.linalg.eigh(xc.t() @ xc / xc.shape[0])
            ev, V = ev.flip(0), V.flip(1)
            proj = (V[:, :EMB_DIM] / ev[:EMB_DIM].sqrt()).float()
            e = F.normalize((probe.features(x_test) - mu) @ proj, dim=1).numpy()
        result["model"] = "FR stand-in (contrastive encoder + whitening, d = 32), no training"
    else:
        if args.dataset:
            imgs, labels = load_dataset(Path(args.dataset))
            result["train_set"] = {"kind": "synthetic", "dir": args.dataset}
        else:
            rng = np.random.default_rng(args.seed)
            idx = np.sort(rng.choice(data["train"][0].shape[0], args.real, replace=False))
            imgs, labels = data["train"][0][idx], data["train"][1][idx]
            result["train_set"] = {"kind": "real", "images": int(args.real), "classes": 10}
        classes = int(labels.max()) + 1
        result["train_set"].update({"images": int(len(labels)), "classes": classes})
        x = torch.from_numpy(imgs.astype(np.float32) / np.float32(255)).unsqueeze(1)
        y = torch.from_numpy(labels)
        model = Recogniser(classes)
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
        gen = torch.Generator().manual_seed(args.seed)
        losses = []
        model.train()
        for step in range(args.steps):
            idx = torch.randint(0, x.shape[0], (args.batch,), generator=gen)
            loss = model.cosface(augment(x[idx], gen), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss))
        model.eval()
        with torch.no_grad():
            e = F.normalize(torch.cat([model.embed(x_test[i : i + 1000]) for i in range(0, 10000, 1000)]), dim=1).numpy()
            train_acc = float((F.normalize(model.embed(x), dim=1) @ F.normalize(model.head, dim=1).t()).argmax(1).eq(y).float().mean())
        result["model"] = "CNN 3 x conv-BN-ReLU-pool (16, 32, 64) -> 128-d, CosFace s=16 m=0.2"
        result["train"] = {"steps": args.steps, "batch": args.batch, "final_loss": float(np.mean(losses[-50:])), "train_accuracy": train_acc}
    scores = (e[flat[:, 0]] * e[flat[:, 1]]).sum(1)
    result["verification"] = ten_fold(scores, flat[:, 2], flat[:, 3])
    result["seconds"] = round(time.time() - t0, 1)
    write_json_atomic(Path(args.out), result)
    print(json.dumps({"out": args.out, "accuracy": result["verification"]["mean"], "std": result["verification"]["std"], "seconds": result["seconds"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
