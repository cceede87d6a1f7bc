/**
 * Server-side recognition (spec `minusface.md` §B.4 "Inference: server"): z = f_p(X_p) (ONNX), l2-normalised; match
 * by cosine similarity. The gallery is built from X_p as well (the server never sees raw faces); the same result is
 * expected for any permutation θ. Verification accuracy, ROC figures and rank-1 identification come from
 * core-tensor's metrics.
 */
import {
  InvalidArgumentError,
  ShapeError,
  eer,
  kfoldAccuracy,
  rank1,
  rocAuc,
  tarAtFar,
  tensor,
  type Tensor,
} from '@trustvision/core-tensor';
import type { RecognizerModel } from './model.js';

/** l2-normalised embeddings of protected images X_p: float32 [3K, H, W] / [B, 3K, H, W] in [0, 1]. */
export async function embed(
  recognizer: RecognizerModel,
  protectedImages: Tensor | readonly Tensor[],
  options: { batchSize?: number } = {},
): Promise<Float32Array[]> {
  if (!recognizer || typeof (recognizer as RecognizerModel).run !== 'function')
    throw new InvalidArgumentError('recognizer', recognizer, 'a RecognizerModel (RecognizerModel.create(path))');
  const bs = options.batchSize ?? 32;
  if (!Number.isInteger(bs) || bs < 1) throw new InvalidArgumentError('batchSize', bs, 'a positive integer');
  const { data, B, C, H, W } = protectedBatch(protectedImages);
  const per = C * H * W;
  const res: Float32Array[] = [];
  for (let s = 0; s < B; s += bs) {
    const n = Math.min(bs, B - s);
    const { data: e, dim } = await recognizer.run(data.subarray(s * per, (s + n) * per), n, C, H, W);
    for (let b = 0; b < n; b++) res.push(l2normalize(e.subarray(b * dim, (b + 1) * dim)));
  }
  return res;
}

function protectedBatch(images: Tensor | readonly Tensor[]) {
  const list: Tensor[] = Array.isArray(images) ? [...images] : [images as Tensor];
  if (list.length === 0) throw new InvalidArgumentError('protectedImages', images, 'at least one image');
  let dims: number[] | undefined;
  const chunks: Float32Array[] = [];
  let B = 0;
  list.forEach((t, k) => {
    const name = Array.isArray(images) ? `protectedImages[${k}]` : 'protectedImages';
    if (!t || typeof t !== 'object' || !Array.isArray(t.shape) || t.dtype !== 'float32')
      throw new InvalidArgumentError(name, t?.dtype ?? t, 'a float32 tensor [3K, H, W] or [B, 3K, H, W] in [0, 1]');
    const s = t.shape;
    if (s.length !== 3 && s.length !== 4)
      throw new ShapeError(name, `[${s.join(', ')}]`, '[3K, H, W] or [B, 3K, H, W]');
    const d = s.length === 4 ? s.slice(1) : s.slice();
    if (d[0] < 3 || d[0] % 3 !== 0) throw new ShapeError(name, `[${s.join(', ')}]`, '3K channels (K ≥ 1)');
    if (!dims) dims = d;
    else if (d.some((v, i) => v !== dims![i]))
      throw new ShapeError(name, `[${s.join(', ')}]`, `[${dims.join(', ')}] per image (as the first)`);
    const x = Float32Array.from(t.data as Float32Array);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (!(v >= 0 && v <= 1))
        throw new InvalidArgumentError(name, `element ${i} = ${v}`, 'finite values in [0, 1] (X_p from protect)');
    }
    chunks.push(x);
    B += s.length === 4 ? s[0] : 1;
  });
  const data = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.length;
  }
  const [C, H, W] = dims!;
  return { data, B, C, H, W };
}

/** A copy scaled to unit l2 norm (a zero vector stays zero). */
export function l2normalize(v: ArrayLike<number>): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const k = s > 0 ? 1 / Math.sqrt(s) : 0;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * k;
  return out;
}

/** Cosine similarity of two embeddings (normalised here; in [−1, 1]). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0)
    throw new ShapeError('b', `[${b.length}]`, `[${a.length}] (the dimension of a, ≥ 1)`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  if (!(aa > 0 && bb > 0)) throw new InvalidArgumentError(aa > 0 ? 'b' : 'a', 'a zero vector', 'a non-zero embedding');
  return ab / Math.sqrt(aa * bb);
}

export interface VerifyResult {
  /** Cosine similarity of the two embeddings. */
  score: number;
  threshold: number;
  /** score ≥ threshold. */
  match: boolean;
}

/** 1:1 verification of two embeddings at a threshold (accept when cosine ≥ threshold). */
export function verify(a: ArrayLike<number>, b: ArrayLike<number>, threshold: number): VerifyResult {
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < -1 || threshold > 1)
    throw new InvalidArgumentError('threshold', threshold, 'a cosine threshold in [-1, 1]');
  const score = cosine(a, b);
  return { score, threshold, match: score >= threshold };
}

export interface IdentifyResult {
  /** Index of the best gallery entry, its label and its cosine similarity. */
  index: number;
  label: number | string;
  score: number;
}

/** 1:N identification: the most similar gallery entry for each probe (lowest index among ties). */
export function identify(
  probes: readonly ArrayLike<number>[],
  gallery: readonly ArrayLike<number>[],
  galleryLabels: ArrayLike<number | string>,
): IdentifyResult[] {
  if (!Array.isArray(gallery) || gallery.length === 0)
    throw new InvalidArgumentError('gallery', gallery, 'a non-empty array of embeddings');
  if (galleryLabels.length !== gallery.length)
    throw new ShapeError('galleryLabels', `[${galleryLabels.length}]`, `[${gallery.length}] (one per gallery entry)`);
  const g = gallery.map((v) => l2normalize(v));
  return probes.map((p) => {
    const q = l2normalize(p);
    let best = -Infinity;
    let idx = 0;
    g.forEach((v, i) => {
      if (v.length !== q.length)
        throw new ShapeError(`gallery[${i}]`, `[${v.length}]`, `[${q.length}] (the probe dimension)`);
      let s = 0;
      for (let k = 0; k < q.length; k++) s += q[k] * v[k];
      if (s > best) {
        best = s;
        idx = i;
      }
    });
    return { index: idx, label: galleryLabels[idx], score: best };
  });
}

export interface VerificationReport {
  pairs: number;
  /** 10-fold (LFW-protocol) verification accuracy and its std. */
  accuracy: number;
  accuracyStd: number;
  auc: number;
  eer: number;
  eerThreshold: number;
  /** TAR at FAR = 1e-2 and 1e-3. */
  tarAt1e2: number;
  tarAt1e3: number;
}

/** Verification figures (core-tensor metrics) for cosine scores of pairs with labels 1 = same identity. */
export function verificationReport(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): VerificationReport {
  const k = kfoldAccuracy(scores, labels, { folds: 10 });
  const e = eer(scores, labels);
  const [t2, t3] = tarAtFar(scores, labels, [1e-2, 1e-3]);
  return {
    pairs: scores.length,
    accuracy: k.mean,
    accuracyStd: k.std,
    auc: rocAuc(scores, labels),
    eer: e.eer,
    eerThreshold: e.threshold,
    tarAt1e2: t2.tar,
    tarAt1e3: t3.tar,
  };
}

/** Rank-1 identification accuracy (core-tensor `rank1`) of probe embeddings against a gallery, by cosine. */
export function rank1Accuracy(
  probes: readonly ArrayLike<number>[],
  probeLabels: ArrayLike<number | string>,
  gallery: readonly ArrayLike<number>[],
  galleryLabels: ArrayLike<number | string>,
): number {
  const g = gallery.map((v) => l2normalize(v));
  const sim = new Float32Array(probes.length * g.length);
  probes.forEach((p, i) => {
    const q = l2normalize(p);
    g.forEach((v, j) => {
      let s = 0;
      for (let k = 0; k < q.length; k++) s += q[k] * v[k];
      sim[i * g.length + j] = s;
    });
  });
  return rank1(tensor(sim, [probes.length, g.length]), probeLabels, galleryLabels);
}
