import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface Golden {
  nerg: {
    M: number;
    D: number;
    B: number;
    k: number;
    P: number;
    features: number[];
    areas: number[];
    labels: number[];
    gt: number[];
    unlabelled: number[];
    neighbors: number[];
    phaseA: number[];
    iterations: number;
    unreached: number;
    flippedInPhaseB: number;
    candidates: number[];
    kmeansLabels: number[];
    kmeansInertia: number;
    assignments: number[];
    rankWeights10: number[];
  };
  baseline: { init: number[]; assignments: number[]; inertia: number };
  miou: {
    width: number;
    height: number;
    base: number[];
    novel: number[];
    gt: number[][];
    pred: number[][];
    matching: Record<string, number | null>;
    perImage: Report;
    dataset: Report;
  };
}
interface Report {
  perClass: Record<string, number>;
  miou: number;
  miouBase: number;
  miouNovel: number;
}

let cache: Golden | undefined;
/** Values from test/fixtures/gcdss_ref.py (numpy / scipy / scikit-learn). */
export function golden(): Golden {
  cache ??= JSON.parse(readFileSync(path.join(__dirname, 'fixtures/gcdss_golden.json'), 'utf8')) as Golden;
  return cache;
}

/** The golden mask set as a MaskSet. */
export function goldenMasks() {
  const g = golden().nerg;
  return {
    features: { data: Float32Array.from(g.features), shape: [g.M, g.D] },
    areas: Float32Array.from(g.areas),
    labels: BigInt64Array.from(g.labels, (v) => BigInt(v)),
    gt: BigInt64Array.from(g.gt, (v) => BigInt(v)),
  };
}

/** Same-partition check: a and b induce the same grouping (labels may be permuted). */
export function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((ab.get(a[i]) ?? b[i]) !== b[i] || (ba.get(b[i]) ?? a[i]) !== a[i]) return false;
    ab.set(a[i], b[i]);
    ba.set(b[i], a[i]);
  }
  return true;
}
