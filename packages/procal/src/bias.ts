/**
 * Proximity bias index (spec §A1, paper Eq. 3): Acc(B_H) − Acc(B_L) between confidence-matched samples of the
 * highest- and lowest-proximity groups, with a Wilcoxon rank-sum test. The official repository has no code for this;
 * the procedure follows the paper's description:
 *
 * 1. sort by proximity and split into `groups` (default 5) equal-size groups; keep the highest (H) and lowest (L);
 * 2. draw `draws` (default 10,000) points from H with replacement, match each to the L point of nearest confidence;
 *    then the same from L to H;
 * 3. drop pairs whose confidences differ by more than `maxGap` (default 0.05);
 * 4. bias index = accuracy of the matched H points − accuracy of the matched L points; p-value of the two-sided
 *    rank-sum test (scipy.stats.ranksums: normal approximation, no tie correction) on their correctness.
 *
 * If no pair survives (the groups' confidences do not overlap) the paper suggests 3 groups; this function throws and
 * says so.
 */
import { InvalidArgumentError, Rng } from '@trustvision/core-tensor';
import { checkInt, checkNumber, toVector64 } from './validate.js';

export interface BiasIndexOptions {
  groups?: number;
  draws?: number;
  maxGap?: number;
  seed?: number | string;
}

export interface BiasIndexResult {
  /** Acc(B_H) − Acc(B_L) over the matched pairs. */
  biasIndex: number;
  accuracyHigh: number;
  accuracyLow: number;
  /** Matched pairs kept (both directions). */
  pairs: number;
  /** Rank-sum z statistic and two-sided p-value. */
  statistic: number;
  pValue: number;
}

/** scipy.stats.ranksums(x, y): z statistic (normal approximation, no tie correction) and two-sided p-value. */
export function rankSumTest(x: ArrayLike<number>, y: ArrayLike<number>): { statistic: number; pValue: number } {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new InvalidArgumentError(n1 === 0 ? 'x' : 'y', '[]', 'at least one value');
  const all: { v: number; g: number }[] = [];
  for (let i = 0; i < n1; i++) all.push({ v: x[i], g: 0 });
  for (let i = 0; i < n2; i++) all.push({ v: y[i], g: 1 });
  all.sort((a, b) => a.v - b.v);
  let s = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].v === all[i].v) j++;
    const rank = (i + 1 + j) / 2; // average rank of ties
    for (let t = i; t < j; t++) if (all[t].g === 0) s += rank;
    i = j;
  }
  const expected = (n1 * (n1 + n2 + 1)) / 2;
  const z = (s - expected) / Math.sqrt((n1 * n2 * (n1 + n2 + 1)) / 12);
  return { statistic: z, pValue: erfc(Math.abs(z) / Math.SQRT2) };
}

/** Complementary error function, ~1e-13 relative accuracy (series below 2, continued fraction above). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (x > 27) return 0;
  // continued fraction erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), modified Lentz
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    D = x + a * D;
    D = Math.abs(D) < tiny ? tiny : D;
    C = x + a / C;
    C = Math.abs(C) < tiny ? tiny : C;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** The proximity bias index of a model's predictions (see the module comment). */
export function biasIndex(
  input: { confidence: ArrayLike<number>; correct: ArrayLike<number | boolean>; proximity: ArrayLike<number> },
  options: BiasIndexOptions = {},
): BiasIndexResult {
  if (input === null || typeof input !== 'object')
    throw new InvalidArgumentError('input', input, '{ confidence, correct, proximity }');
  const conf = toVector64('confidence', input.confidence);
  const n = conf.length;
  const prox = toVector64('proximity', input.proximity, n);
  const okIn = input.correct;
  if (!okIn || okIn.length !== n) throw new InvalidArgumentError('correct', okIn, `${n} values (true/false or 1/0)`);
  const ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = okIn[i];
    if (v === true || v === 1) ok[i] = 1;
    else if (v !== false && v !== 0) throw new InvalidArgumentError(`correct[${i}]`, v, 'true, false, 1 or 0');
  }
  const groups = checkInt('groups', options.groups ?? 5, 2);
  const draws = checkInt('draws', options.draws ?? 10000, 1);
  const maxGap = checkNumber('maxGap', options.maxGap ?? 0.05, 0);
  if (n < 2 * groups) throw new InvalidArgumentError('confidence', `${n} samples`, `at least ${2 * groups} samples`);
  const rng = Rng.from(options.seed ?? 0);
  // equal-size groups by proximity rank (np.array_split sizes); stable order on ties
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => prox[a] - prox[b] || a - b);
  const base = Math.floor(n / groups);
  const extra = n % groups;
  const sizeOf = (g: number) => base + (g < extra ? 1 : 0);
  const low = order.slice(0, sizeOf(0));
  const high = order.slice(n - sizeOf(groups - 1));
  const hi: number[] = [];
  const lo: number[] = [];
  const matchInto = (from: number[], to: number[], fromIsHigh: boolean) => {
    const sorted = to.slice().sort((a, b) => conf[a] - conf[b] || a - b);
    const sc = Float64Array.from(sorted, (i) => conf[i]);
    const picks = rng.split(fromIsHigh ? 'high' : 'low').choice(from.length, draws, { replace: true });
    for (let t = 0; t < draws; t++) {
      const a = from[picks[t]];
      const c = conf[a];
      // nearest confidence by binary search
      let l = 0;
      let r = sc.length;
      while (l < r) {
        const m = (l + r) >>> 1;
        if (sc[m] < c) l = m + 1;
        else r = m;
      }
      let best = l;
      if (best >= sc.length || (best > 0 && Math.abs(sc[best - 1] - c) <= Math.abs(sc[best] - c))) best = best - 1;
      const b = sorted[best];
      if (Math.abs(conf[b] - c) > maxGap) continue;
      if (fromIsHigh) {
        hi.push(ok[a]);
        lo.push(ok[b]);
      } else {
        lo.push(ok[a]);
        hi.push(ok[b]);
      }
    }
  };
  matchInto(high, low, true);
  matchInto(low, high, false);
  if (hi.length === 0)
    throw new InvalidArgumentError(
      'groups',
      groups,
      'a grouping whose highest and lowest proximity groups overlap in confidence',
      `no pair was within ${maxGap} in confidence; the paper suggests groups: 3`,
    );
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const accuracyHigh = mean(hi);
  const accuracyLow = mean(lo);
  const { statistic, pValue } = rankSumTest(hi, lo);
  return { biasIndex: accuracyHigh - accuracyLow, accuracyHigh, accuracyLow, pairs: hi.length, statistic, pValue };
}
