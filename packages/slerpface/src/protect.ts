/**
 * SlerpFace enrolment and matching on arrays (spec `slerpface.md` §A.3–A.4), in float64.
 *
 * A template is G groups of d values (grid form: 49 × 16 from the IR-50 model; vector form: an embedding's dimensions
 * gathered into groups by a `GroupLayout`) plus G group weights m (≥ 0, Σ m = 1).
 *
 * protect:  k̂_i = K_i/‖K_i‖, K ~ N(0, I)                                  (one key per group, per template)
 *           p_i = slerp(t̂_i, k̂_i; α_i), α_i = α − m_i                   (rotation fraction from the template)
 *           M_i: weighted group dropout (groups below the weights' median lose more)
 *           P_i = m_i · (M_i ⊙ p_i) / ‖M_i ⊙ p_i‖
 * match:    q'_i = slerp(q̂_i, k̂_i; α − m^q_i) with the RECORD's key and the PROBE's weights
 *           s = Σ_i ⟨(M_i ⊙ q'_i)/‖M_i ⊙ q'_i‖, P_i⟩,   distance = arccos(s)/π
 *
 * Differences from the official code, all documented in the README: the degenerate angle (sin θ = 0) is guarded; the
 * mask is stored explicitly instead of being read back from exact zeros; the keys come from a CSPRNG unless a seed or
 * a source is given; an exact-count dropout is available beside the code's with-replacement draws.
 */
import { InvalidArgumentError, NonFiniteError, ShapeError, UnsupportedFormatError } from '@trustvision/core-tensor';
import { randomSource, type RandomOptions, type RandomSource } from './random.js';

export type TemplateForm = 'grid' | 'vector';
/** 'replacement': the official code's draws with replacement; 'exact': exactly n distinct dimensions; 'none'. */
export type DropoutMode = 'replacement' | 'exact' | 'none';

/** The record format version this library writes and reads. */
export const RECORD_VERSION = 1;

export interface ProtectParams {
  /** Base rotation fraction α in (0, 1) (default 0.9, the official scripts'). */
  alpha: number;
  /** Drop rate ρ in [0, 1) (default 0.5). d·ρ must be a whole number. */
  dropRate: number;
  /** Gap base b (default 8): low groups draw d·ρ + ⌊b·ρ⌋ dimensions, high groups d·ρ − ⌊b·ρ⌋. */
  gapBase: number;
  dropout: DropoutMode;
}

export const DEFAULT_PARAMS: Readonly<ProtectParams> = Object.freeze({
  alpha: 0.9,
  dropRate: 0.5,
  gapBase: 8,
  dropout: 'replacement',
});

/** A template: G groups of d values and G group weights. Build with `createTemplate`. */
export interface Template {
  readonly form: TemplateForm;
  /** Identifies how values were grouped; records only match probes with the same layout. */
  readonly layout: string;
  readonly groups: number;
  readonly groupSize: number;
  /** [G·d] group-major values (any norm; each group must be non-zero). */
  readonly values: Float64Array;
  /** [G] group weights, each ≥ 0, summing to 1 (createTemplate renormalises sums within WEIGHT_SUM_TOLERANCE). */
  readonly weights: Float64Array;
}

/** A protected template: what a gallery stores. */
export interface ProtectedRecord {
  readonly version: number;
  readonly form: TemplateForm;
  readonly layout: string;
  readonly groups: number;
  readonly groupSize: number;
  readonly params: ProtectParams;
  /** [G·d] protected template P (group i has norm m_i where its mask keeps a non-zero part). */
  readonly protected: Float64Array;
  /** [G·d] unit key per group. */
  readonly key: Float64Array;
  /** [G·d] 1 = kept, 0 = dropped. */
  readonly mask: Uint8Array;
}

export type FloatArrayLike = Float32Array | Float64Array | readonly number[];

/** How far Σ m may be from 1. */
export const WEIGHT_SUM_TOLERANCE = 1e-3;

function isFloatArrayLike(x: unknown): x is FloatArrayLike {
  return (
    x instanceof Float32Array ||
    x instanceof Float64Array ||
    (Array.isArray(x) && x.every((v) => typeof v === 'number'))
  );
}

function toFloat64(param: string, x: unknown, length: number, expected: string): Float64Array {
  if (!isFloatArrayLike(x)) throw new InvalidArgumentError(param, x, 'a Float32Array, Float64Array or number[]');
  if (x.length !== length) throw new ShapeError(param, `[${x.length}]`, expected);
  const out = Float64Array.from(x);
  for (let i = 0; i < length; i++) if (!Number.isFinite(out[i])) throw new NonFiniteError(param, i, out[i]);
  return out;
}

function checkCount(param: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new InvalidArgumentError(param, v, 'a positive integer');
  return v;
}

export interface CreateTemplateOptions {
  groups: number;
  groupSize: number;
  form?: TemplateForm;
  /** Layout id (default `${form}-${groups}x${groupSize}`). */
  layout?: string;
  /**
   * Accept all-zero groups (default false: a typed error). A zero group has no direction; it is taken to sit at the
   * key, so it carries no identity. Embeddings of ReLU features (e.g. faceres) have such groups. An all-zero template
   * is always refused.
   */
  allowZeroGroups?: boolean;
}

/** Validates and copies values [G·d] and weights [G] into a Template (float64). */
export function createTemplate(
  values: FloatArrayLike,
  weights: FloatArrayLike,
  options: CreateTemplateOptions,
): Template {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', options, 'an object');
  const G = checkCount('groups', options.groups);
  const d = checkCount('groupSize', options.groupSize);
  if (d < 2) throw new InvalidArgumentError('groupSize', d, 'an integer ≥ 2 (a group needs a direction to rotate)');
  const form = options.form ?? 'vector';
  if (form !== 'grid' && form !== 'vector') throw new InvalidArgumentError('form', form, "'grid' or 'vector'");
  const layout = options.layout ?? `${form}-${G}x${d}`;
  if (typeof layout !== 'string' || layout === '')
    throw new InvalidArgumentError('layout', layout, 'a non-empty string');
  const v = toFloat64('template', values, G * d, `[${G * d}] (groups ${G} × group size ${d})`);
  let nonZero = 0;
  for (let i = 0; i < G; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += v[i * d + j] * v[i * d + j];
    if (s > 0) nonZero++;
    else if (!options.allowZeroGroups)
      throw new InvalidArgumentError(
        'template',
        `group ${i} is a zero vector`,
        'non-zero groups',
        'A zero group has no direction to rotate; check the feature extractor (or pass allowZeroGroups)',
      );
  }
  if (nonZero === 0) throw new InvalidArgumentError('template', 'a zero vector', 'a template with a non-zero group');
  const w = toFloat64('weights', weights, G, `[${G}] (one weight per group)`);
  let sum = 0;
  for (let i = 0; i < G; i++) {
    if (w[i] < 0) throw new InvalidArgumentError('weights', `weights[${i}] = ${w[i]}`, 'non-negative weights');
    sum += w[i];
  }
  if (!(Math.abs(sum - 1) <= WEIGHT_SUM_TOLERANCE))
    throw new InvalidArgumentError(
      'weights',
      `weights summing to ${sum}`,
      `weights summing to 1 (± ${WEIGHT_SUM_TOLERANCE})`,
      'SlerpFace weights are a softmax over groups; divide by their sum',
    );
  // renormalised so that the enrolled template scores exactly 1 (a float32 softmax sums to 1 only ± 1e-7)
  if (sum !== 1) for (let i = 0; i < G; i++) w[i] /= sum;
  return { form, layout, groups: G, groupSize: d, values: v, weights: w };
}

/** Resolves and checks protection parameters (defaults from DEFAULT_PARAMS). */
export function resolveParams(p: Partial<ProtectParams> = {}, groupSize?: number): ProtectParams {
  const params: ProtectParams = {
    alpha: p.alpha ?? DEFAULT_PARAMS.alpha,
    dropRate: p.dropRate ?? DEFAULT_PARAMS.dropRate,
    gapBase: p.gapBase ?? DEFAULT_PARAMS.gapBase,
    dropout: p.dropout ?? DEFAULT_PARAMS.dropout,
  };
  if (typeof params.alpha !== 'number' || !(params.alpha > 0 && params.alpha < 1))
    throw new InvalidArgumentError('alpha', params.alpha, 'a number in (0, 1) (the slerp fraction toward the key)');
  if (typeof params.dropRate !== 'number' || !(params.dropRate >= 0 && params.dropRate < 1))
    throw new InvalidArgumentError('dropRate', params.dropRate, 'a number in [0, 1)');
  if (typeof params.gapBase !== 'number' || !Number.isInteger(params.gapBase) || params.gapBase < 0)
    throw new InvalidArgumentError('gapBase', params.gapBase, 'a non-negative integer');
  if (!['replacement', 'exact', 'none'].includes(params.dropout))
    throw new InvalidArgumentError('dropout', params.dropout, "'replacement', 'exact' or 'none'");
  if (groupSize !== undefined && params.dropout !== 'none') dropCounts(params, groupSize);
  return params;
}

/** Draws per low-weight and high-weight group: d·ρ ± ⌊b·ρ⌋ (the official rule; d·ρ must be whole). */
export function dropCounts(params: ProtectParams, groupSize: number): { low: number; high: number } {
  const base = groupSize * params.dropRate;
  if (Math.abs(base - Math.round(base)) > 1e-9)
    throw new InvalidArgumentError(
      'dropRate',
      params.dropRate,
      `a rate with groupSize × dropRate whole (groupSize ${groupSize})`,
      'The official rule draws groupSize·dropRate ± gap dimensions per group',
    );
  const gap = Math.floor(params.gapBase * params.dropRate + 1e-12);
  const low = Math.round(base) + gap;
  const high = Math.round(base) - gap;
  if (high < 0) throw new InvalidArgumentError('gapBase', params.gapBase, `a gap ⌊b·ρ⌋ ≤ d·ρ = ${Math.round(base)}`);
  if (params.dropout === 'exact' && low >= groupSize)
    throw new InvalidArgumentError(
      'dropRate',
      params.dropRate,
      `a rate whose exact-count dropout keeps at least one of ${groupSize} dimensions (drops ${low})`,
    );
  return { low, high };
}

/** numpy's median: the middle value, or the mean of the two middle values. */
export function median(x: ArrayLike<number>): number {
  const s = Array.from(x).sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) throw new InvalidArgumentError('x', x, 'a non-empty array');
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Draws a key: one uniformly random unit direction per group ([G·d], float64). */
export function drawKey(groups: number, groupSize: number, rng: RandomSource, out?: Float64Array): Float64Array {
  checkCount('groups', groups);
  checkCount('groupSize', groupSize);
  const n = groups * groupSize;
  let k: Float64Array;
  if (out !== undefined) {
    if (out.length !== n) throw new ShapeError('out', `[${out.length}]`, `[${n}]`);
    k = out;
    if (rng.normalInto) rng.normalInto(k, 0, n);
    else k.set(rng.normalArray(n));
  } else k = rng.normalArray(n);
  for (let i = 0; i < groups; i++) {
    const o = i * groupSize;
    let s = 0;
    for (let j = 0; j < groupSize; j++) s += k[o + j] * k[o + j];
    if (!(s > 0)) {
      // probability zero with a Gaussian source; redraw rather than divide by zero
      k.set(drawKey(1, groupSize, rng), o);
      continue;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < groupSize; j++) k[o + j] *= inv;
  }
  return k;
}

/**
 * The weighted group dropout mask ([G·d] uint8, 1 = kept): groups whose weight is below the median draw
 * `low` dimensions to drop, the others `high`; with replacement (the official code) or exactly (distinct).
 */
export function drawMask(
  weights: FloatArrayLike,
  groupSize: number,
  params: ProtectParams,
  rng: RandomSource,
  out?: Uint8Array,
): Uint8Array {
  const G = weights.length;
  const d = groupSize;
  if (out !== undefined && out.length !== G * d) throw new ShapeError('out', `[${out.length}]`, `[${G * d}]`);
  const mask = (out ?? new Uint8Array(G * d)).fill(1);
  if (params.dropout === 'none') return mask;
  const { low, high } = dropCounts(params, d);
  const med = median(weights);
  const idx = new Int32Array(d);
  for (let i = 0; i < G; i++) {
    const n = weights[i] < med ? low : high;
    const o = i * d;
    if (params.dropout === 'replacement') {
      for (let j = 0; j < n; j++) mask[o + rng.int(d)] = 0;
    } else {
      // partial Fisher–Yates: n distinct positions
      for (let j = 0; j < d; j++) idx[j] = j;
      for (let j = 0; j < n; j++) {
        const r = j + rng.int(d - j);
        const t = idx[j];
        idx[j] = idx[r];
        idx[r] = t;
        mask[o + idx[j]] = 0;
      }
    }
  }
  return mask;
}

/**
 * Rotates group `t` (any non-zero norm) a fraction `a` of the way toward the unit group `key` along the great circle:
 * out = cos(aθ)·t̂ + sin(aθ)·u, u = (k̂ − cos θ·t̂)/‖·‖ — the spec's [sin((1−a)θ)t̂ + sin(aθ)k̂]/sin θ without the
 * division by sin θ. θ ≈ 0 gives t̂; θ ≈ π (t̂ = −k̂) rotates toward the coordinate axis least aligned with t̂.
 */
export function rotateGroup(
  t: ArrayLike<number>,
  to: number,
  key: ArrayLike<number>,
  ko: number,
  a: number,
  d: number,
  out: Float64Array,
  oo: number,
): void {
  let tt = 0;
  let tk = 0;
  for (let j = 0; j < d; j++) {
    const x = t[to + j];
    tt += x * x;
    tk += x * key[ko + j];
  }
  if (tt === 0) {
    // a zero group has no direction: by convention it sits at the key (vector-form embeddings with ReLU features
    // have such groups; createTemplate refuses them unless allowZeroGroups)
    for (let j = 0; j < d; j++) out[oo + j] = key[ko + j];
    return;
  }
  const inv = 1 / Math.sqrt(tt);
  const c = tk * inv; // cos θ (key groups are unit)
  // ‖k̂ − c·t̂‖² computed directly (not as 1 − c², which loses precision near θ = 0 and π)
  let ss = 0;
  for (let j = 0; j < d; j++) {
    const w = key[ko + j] - c * t[to + j] * inv;
    ss += w * w;
  }
  const s = Math.sqrt(ss);
  if (s <= 1e-12) {
    if (c > 0) {
      for (let j = 0; j < d; j++) out[oo + j] = t[to + j] * inv;
      return;
    }
    // antipodal: θ = π, toward a fixed axis orthogonal to t̂
    let jm = 0;
    for (let j = 1; j < d; j++) if (Math.abs(t[to + j]) < Math.abs(t[to + jm])) jm = j;
    const tj = t[to + jm] * inv;
    let n2 = 0;
    for (let j = 0; j < d; j++) {
      const w = (j === jm ? 1 : 0) - tj * t[to + j] * inv;
      n2 += w * w;
    }
    const nw = Math.sqrt(n2);
    const ca = Math.cos(a * Math.PI);
    const sa = Math.sin(a * Math.PI);
    for (let j = 0; j < d; j++) {
      const th = t[to + j] * inv;
      out[oo + j] = ca * th + (sa * ((j === jm ? 1 : 0) - tj * th)) / nw;
    }
    return;
  }
  const theta = Math.atan2(s, c);
  const sa = Math.sin(a * theta) / s;
  // out = cos(aθ)·t̂ + sa·(k̂ − c·t̂) = x·t + sa·k̂ with x = (cos(aθ) − sa·c)/‖t‖
  const x = (Math.cos(a * theta) - sa * c) * inv;
  for (let j = 0; j < d; j++) out[oo + j] = x * t[to + j] + sa * key[ko + j];
}

/** Slerps every group of `values` toward the matching key group with fraction α − m_i ([G·d]). */
export function slerpGroups(
  values: ArrayLike<number>,
  key: ArrayLike<number>,
  weights: ArrayLike<number>,
  alpha: number,
  groupSize: number,
): Float64Array {
  const G = weights.length;
  const d = groupSize;
  const out = new Float64Array(G * d);
  for (let i = 0; i < G; i++) rotateGroup(values, i * d, key, i * d, alpha - weights[i], d, out, i * d);
  return out;
}

export interface ProtectOptions extends Partial<ProtectParams>, RandomOptions {
  /** An explicit key [G·d] (normalised per group; e.g. from a key store). Drawn from the source when absent. */
  key?: FloatArrayLike;
  /** An explicit mask [G·d] (1 = keep). Drawn by the weighted-dropout rule when absent. */
  mask?: Uint8Array | readonly number[];
}

function checkKey(key: FloatArrayLike, G: number, d: number): Float64Array {
  const k = toFloat64('key', key, G * d, `[${G * d}] (groups ${G} × group size ${d})`);
  for (let i = 0; i < G; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += k[i * d + j] ** 2;
    if (s === 0) throw new InvalidArgumentError('key', `group ${i} is a zero vector`, 'a non-zero key per group');
    const n = Math.sqrt(s);
    for (let j = 0; j < d; j++) k[i * d + j] /= n;
  }
  return k;
}

function checkMask(mask: Uint8Array | readonly number[], G: number, d: number): Uint8Array {
  if (!(mask instanceof Uint8Array) && !Array.isArray(mask))
    throw new InvalidArgumentError('mask', mask, 'a Uint8Array or number[] of 0/1');
  if (mask.length !== G * d)
    throw new ShapeError('mask', `[${mask.length}]`, `[${G * d}] (groups ${G} × group size ${d})`);
  const m = Uint8Array.from(mask);
  for (let i = 0; i < G; i++) {
    let kept = 0;
    for (let j = 0; j < d; j++) {
      const v = m[i * d + j];
      if (v !== 0 && v !== 1)
        throw new InvalidArgumentError('mask', `mask[${i * d + j}] = ${mask[i * d + j]}`, '0 or 1');
      kept += v;
    }
    if (kept === 0)
      throw new InvalidArgumentError('mask', `group ${i} keeps no dimension`, 'at least one kept dimension per group');
  }
  return m;
}

function checkTemplate(param: string, t: Template): void {
  if (
    t === null ||
    typeof t !== 'object' ||
    !(t.values instanceof Float64Array) ||
    !(t.weights instanceof Float64Array)
  )
    throw new InvalidArgumentError(param, t, 'a Template (see createTemplate)');
  if (t.values.length !== t.groups * t.groupSize || t.weights.length !== t.groups)
    throw new ShapeError(
      param,
      `values [${t.values.length}], weights [${t.weights.length}]`,
      `[${t.groups * t.groupSize}] and [${t.groups}]`,
    );
}

/** Protects a template: key, slerp, weighted dropout, re-normalisation and weighting. */
export function protect(template: Template, options: ProtectOptions = {}): ProtectedRecord {
  checkTemplate('template', template);
  const { groups: G, groupSize: d } = template;
  const params = resolveParams(options, d);
  const rng = options.key === undefined || options.mask === undefined ? randomSource(options) : undefined;
  // one allocation for the record's three arrays (large typed arrays are allocated off the JS heap, one by one)
  const n = G * d;
  const buf = new ArrayBuffer(n * 17);
  const key =
    options.key !== undefined ? checkKey(options.key, G, d) : drawKey(G, d, rng!, new Float64Array(buf, 0, n));
  const mask =
    options.mask !== undefined
      ? checkMask(options.mask, G, d)
      : drawMask(template.weights, d, params, rng!, new Uint8Array(buf, 16 * n, n));
  // rotate into `out`, then mask, re-normalise and weight each group in place
  const out = new Float64Array(buf, 8 * n, n);
  for (let i = 0; i < G; i++) {
    const o = i * d;
    rotateGroup(template.values, o, key, o, params.alpha - template.weights[i], d, out, o);
    let s = 0;
    for (let j = 0; j < d; j++) if (mask[o + j]) s += out[o + j] * out[o + j];
    // s = 0: the kept part of the rotated group vanished (measure zero); the group is stored as 0 and scores 0
    const f = s > 0 ? template.weights[i] / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) out[o + j] = mask[o + j] ? out[o + j] * f : 0;
  }
  return {
    version: RECORD_VERSION,
    form: template.form,
    layout: template.layout,
    groups: G,
    groupSize: d,
    params,
    protected: out,
    key,
    mask,
  };
}

/** Checks that `record` is a record this version reads and that `probe` has its form and layout. */
export function checkCompatible(record: ProtectedRecord, probe: Template): void {
  checkRecord('record', record);
  checkTemplate('probe', probe);
  if (probe.form !== record.form)
    throw new InvalidArgumentError(
      'probe',
      `a ${probe.form}-form template`,
      `a ${record.form}-form template (the record's form)`,
    );
  if (probe.layout !== record.layout)
    throw new InvalidArgumentError(
      'probe',
      `layout '${probe.layout}'`,
      `layout '${record.layout}' (the record's)`,
      'Probe and record must group the template the same way',
    );
  if (probe.groups !== record.groups || probe.groupSize !== record.groupSize)
    throw new ShapeError('probe', `${probe.groups} × ${probe.groupSize}`, `${record.groups} × ${record.groupSize}`);
}

/** Checks a record's version, shapes and parameters. */
export function checkRecord(param: string, r: ProtectedRecord): void {
  if (r === null || typeof r !== 'object') throw new InvalidArgumentError(param, r, 'a ProtectedRecord');
  if (r.version !== RECORD_VERSION)
    throw new UnsupportedFormatError(`${param}.version`, r.version, `record version ${RECORD_VERSION}`);
  if (r.form !== 'grid' && r.form !== 'vector')
    throw new InvalidArgumentError(`${param}.form`, r.form, "'grid' or 'vector'");
  const n = r.groups * r.groupSize;
  if (!(r.protected instanceof Float64Array) || r.protected.length !== n)
    throw new ShapeError(`${param}.protected`, r.protected?.length, `[${n}] float64`);
  if (!(r.key instanceof Float64Array) || r.key.length !== n)
    throw new ShapeError(`${param}.key`, r.key?.length, `[${n}] float64`);
  if (!(r.mask instanceof Uint8Array) || r.mask.length !== n)
    throw new ShapeError(`${param}.mask`, r.mask?.length, `[${n}] uint8`);
  resolveParams(r.params);
}

/**
 * The official matching score of a probe against a record, in [−1, 1] (1 for the enrolled template itself):
 * the probe is slerped toward the record's key with its own weights, the record's mask applied, and the
 * per-group cosines summed with the record's weights (carried as the norms of its groups).
 */
export function matchScore(record: ProtectedRecord, probe: Template): number {
  checkCompatible(record, probe);
  const { groups: G, groupSize: d } = record;
  const alpha = record.params.alpha;
  const q = new Float64Array(d);
  let score = 0;
  for (let i = 0; i < G; i++) {
    const o = i * d;
    rotateGroup(probe.values, o, record.key, o, alpha - probe.weights[i], d, q, 0);
    let num = 0;
    let den = 0;
    for (let j = 0; j < d; j++) {
      if (!record.mask[o + j]) continue;
      num += q[j] * record.protected[o + j];
      den += q[j] * q[j];
    }
    if (den > 0) score += num / Math.sqrt(den);
  }
  return Math.min(1, Math.max(-1, score));
}

/** The evaluation script's distance: arccos(s)/π in [0, 1] (0 = identical). */
export function scoreToDistance(score: number): number {
  if (typeof score !== 'number' || Number.isNaN(score))
    throw new InvalidArgumentError('score', score, 'a number in [-1, 1]');
  return Math.acos(Math.min(1, Math.max(-1, score))) / Math.PI;
}

/** Renewal: a fresh record of the same template under a new key and mask (the old record should be deleted). */
export function renew(template: Template, options: ProtectOptions = {}): ProtectedRecord {
  if (options.key !== undefined || options.mask !== undefined)
    throw new InvalidArgumentError('options', 'an explicit key or mask', 'no key/mask: renewal draws fresh ones');
  return protect(template, options);
}
