/**
 * Closed-form stand-in models (spec `id3.md` §6, "tiny stand-ins"), built as ONNX graphs with core-tensor's
 * GraphBuilder so the samplers can be tested end to end without trained weights:
 *
 * - `analyticDenoiserModel`: the optimal ε for Gaussian data. If x_0 | (y, s) ~ N(μ(y, s), σ²I), then
 *     ε*(x_t, t) = E[ε | x_t] = √(1−ᾱ_t)·(x_t − √ᾱ_t·μ) / (ᾱ_t σ² + 1 − ᾱ_t),
 *   with μ per channel = Y·M + S·N (M [d, C], N [4, C]; Y the embedding, S the encoded attributes).
 * - `linearFrModel`: f(x) = W·vec(x) (W [d, C·H·W]); FrModel normalises it.
 * - `linearFrGradModel`: ∇_x⟨y, Wx/‖Wx‖⟩ = (Wᵀy − ⟨y, u⟩Wᵀu)/‖Wx‖, u = Wx/‖Wx‖ (closed form).
 * - `analyticGuidedModel`: the guided graph (§3.3) for the two above, with the exact chain through the denoiser:
 *   x̂_0 = (x_t − √(1−ᾱ)ε*)/√ᾱ is affine in x_t with slope c = (1 − √(1−ᾱ)·k)/√ᾱ, k = √(1−ᾱ)/(ᾱσ² + 1 − ᾱ), so
 *   ε̃ = ε* − √(1−ᾱ)·scale·c·∇_{x̂_0}⟨y, f(x̂_0)⟩.
 *
 * All carry the contract metadata (`id3.*` keys, model.ts) of their schedule and size.
 */
import { GraphBuilder, attr, tensor, type DType } from '@trustvision/core-tensor';
import { CONTRACT_KEYS, DEFAULT_ATTRIBUTE_NORMALISATION, type TConvention } from './model.js';
import { makeSchedule, type ScheduleOptions } from './schedule.js';

export interface AnalyticDenoiserSpec {
  channels: number;
  height: number;
  width: number;
  /** Embedding dimension d. */
  embeddingDim: number;
  /** [d · C] row-major: μ_c += Σ_k y_k M[k, c]. */
  M: Float32Array;
  /** [4 · C] row-major: μ_c += Σ_a s_a N[a, c]. Default zeros. */
  N?: Float32Array;
  /** Data standard deviation σ > 0. */
  sigma: number;
  schedule?: ScheduleOptions;
  /** dtype of the image/embedding/attribute inputs and the output (default float32). */
  floatType?: 'float32' | 'float16';
  /** dtype of `t` (default int64). */
  tType?: 'int64' | 'int32' | 'float32';
  tConvention?: TConvention;
  /** Extra metadata entries (override the contract ones, e.g. to build broken models for tests). */
  metadata?: Record<string, string>;
}

const f32 = (v: number[] | Float32Array, shape: number[]) => tensor(Float32Array.from(v), shape);
const i64 = (v: number[]) => tensor(BigInt64Array.from(v.map(BigInt)), [v.length]);

function contractMetadata(s: AnalyticDenoiserSpec): Record<string, string> {
  const sch = makeSchedule(s.schedule);
  return {
    [CONTRACT_KEYS.height]: String(s.height),
    [CONTRACT_KEYS.width]: String(s.width),
    [CONTRACT_KEYS.channels]: String(s.channels),
    [CONTRACT_KEYS.embeddingDim]: String(s.embeddingDim),
    [CONTRACT_KEYS.attributes]: '4',
    [CONTRACT_KEYS.attributeNormalisation]: DEFAULT_ATTRIBUTE_NORMALISATION,
    [CONTRACT_KEYS.T]: String(sch.T),
    [CONTRACT_KEYS.schedule]: sch.kind,
    [CONTRACT_KEYS.betaStart]: String(sch.options.betaStart),
    [CONTRACT_KEYS.betaEnd]: String(sch.options.betaEnd),
    [CONTRACT_KEYS.tConvention]: s.tConvention ?? 'index',
    ...(s.metadata ?? {}),
  };
}

/** Declares the float input `name`, cast to float32 inside when the model is float16. */
function floatIn(g: GraphBuilder, name: string, ft: DType, shape: (number | string)[]): string {
  g.input(name, ft, shape);
  return ft === 'float16' ? g.op('Cast', [name], { to: attr.i(1) })[0] : name;
}

function floatOutput(g: GraphBuilder, v: string, ft: DType, shape: (number | string)[], name: string): void {
  const o = ft === 'float16' ? g.op('Cast', [v], { to: attr.i(10) })[0] : v;
  g.output(o, ft, shape, name);
}

interface DenoiserParts {
  x: string;
  y: string;
  eps: string;
  ab: string; // [B,1,1,1]
  sab: string;
  s1a: string;
  k: string;
}

function denoiserBody(g: GraphBuilder, s: AnalyticDenoiserSpec, ft: DType): DenoiserParts {
  const { channels: C, height: H, width: W, embeddingDim: d } = s;
  const sch = makeSchedule(s.schedule);
  const x = floatIn(g, 'x_t', ft, ['B', C, H, W]);
  const tt = s.tType ?? 'int64';
  g.input('t', tt, ['B']);
  const y = floatIn(g, 'id_embedding', ft, ['B', d]);
  const a = floatIn(g, 'attributes', ft, ['B', 4]);
  // step index k (0-based) as int64
  let k = tt === 'int64' ? 't' : g.op('Cast', ['t'], { to: attr.i(7) })[0];
  if ((s.tConvention ?? 'index') === 'step') k = g.op('Sub', [k, g.constant(i64([1]))])[0];
  const table = g.constant(
    f32(
      Array.from(sch.alphaBars, (v) => Math.fround(v)),
      [sch.T],
    ),
  );
  const abB = g.op('Gather', [table, k], { axis: attr.i(0) })[0];
  const ab = g.op('Reshape', [abB, g.constant(i64([-1, 1, 1, 1]))])[0];
  const one = g.constant(f32([1], [1]));
  const sab = g.op('Sqrt', [ab])[0];
  const oma = g.op('Sub', [one, ab])[0];
  const s1a = g.op('Sqrt', [oma])[0];
  const den = g.op('Add', [g.op('Mul', [ab, g.constant(f32([s.sigma * s.sigma], [1]))])[0], oma])[0];
  const kk = g.op('Div', [s1a, den])[0];
  const muY = g.op('MatMul', [y, g.constant(f32(s.M, [d, C]))])[0];
  const muA = g.op('MatMul', [a, g.constant(f32(s.N ?? new Float32Array(4 * C), [4, C]))])[0];
  const mu = g.op('Reshape', [g.op('Add', [muY, muA])[0], g.constant(i64([-1, C, 1, 1]))])[0];
  const centred = g.op('Sub', [x, g.op('Mul', [sab, mu])[0]])[0];
  const eps = g.op('Mul', [kk, centred])[0];
  return { x, y, eps, ab, sab, s1a, k: kk };
}

/** The analytic Gaussian denoiser as ONNX bytes (see the module comment). */
export function analyticDenoiserModel(s: AnalyticDenoiserSpec): Uint8Array {
  const ft = s.floatType ?? 'float32';
  const g = new GraphBuilder('id3_analytic_denoiser');
  const p = denoiserBody(g, s, ft);
  floatOutput(g, p.eps, ft, ['B', s.channels, s.height, s.width], 'eps');
  return g.toBytes({ metadata: contractMetadata(s), docString: 'id3 analytic Gaussian denoiser (test stand-in)' });
}

/** ∇_x⟨y, Wx/‖Wx‖⟩ for x [B, C, H, W] (flattened inside), y [B, d]; returns the [B, C, H, W] value name. */
function linearFrGradBody(g: GraphBuilder, x: string, y: string, Wname: string, shape: number[]): string {
  const flat = g.op('Flatten', [x], { axis: attr.i(1) })[0]; // [B, n]
  const e = g.op('MatMul', [flat, g.op('Transpose', [Wname], { perm: attr.ints([1, 0]) })[0]])[0]; // [B, d]
  const nrm = g.op('Sqrt', [g.op('ReduceSumSquare', [e], { axes: attr.ints([1]), keepdims: attr.i(1) })[0]])[0]; // [B,1]
  const u = g.op('Div', [e, nrm])[0];
  const yu = g.op('ReduceSum', [g.op('Mul', [y, u])[0], g.constant(i64([1]))], { keepdims: attr.i(1) })[0]; // [B,1]
  const v = g.op('Sub', [y, g.op('Mul', [yu, u])[0]])[0]; // y − ⟨y,u⟩u  [B, d]
  const back = g.op('Div', [g.op('MatMul', [v, Wname])[0], nrm])[0]; // [B, n]
  return g.op('Reshape', [back, g.constant(i64([-1, ...shape]))])[0];
}

export interface LinearFrSpec {
  channels: number;
  height: number;
  width: number;
  /** [d · C·H·W] row-major. */
  W: Float32Array;
  embeddingDim: number;
  floatType?: 'float32' | 'float16';
}

/** f(x) = W·vec(x): input `image` [B, C, H, W], output `embedding` [B, d] (not normalised). */
export function linearFrModel(s: LinearFrSpec): Uint8Array {
  const ft = s.floatType ?? 'float32';
  const g = new GraphBuilder('id3_linear_fr');
  const x = floatIn(g, 'image', ft, ['B', s.channels, s.height, s.width]);
  const n = s.channels * s.height * s.width;
  const W = g.constant(f32(s.W, [s.embeddingDim, n]));
  const flat = g.op('Flatten', [x], { axis: attr.i(1) })[0];
  const e = g.op('MatMul', [flat, g.op('Transpose', [W], { perm: attr.ints([1, 0]) })[0]])[0];
  floatOutput(g, e, ft, ['B', s.embeddingDim], 'embedding');
  return g.toBytes({ docString: 'id3 linear FR stand-in' });
}

/** `fr_grad.onnx` for the linear FR: inputs `image`, `id_embedding`; output `grad` (closed form). */
export function linearFrGradModel(s: LinearFrSpec): Uint8Array {
  const ft = s.floatType ?? 'float32';
  const g = new GraphBuilder('id3_linear_fr_grad');
  const x = floatIn(g, 'image', ft, ['B', s.channels, s.height, s.width]);
  const y = floatIn(g, 'id_embedding', ft, ['B', s.embeddingDim]);
  const W = g.constant(f32(s.W, [s.embeddingDim, s.channels * s.height * s.width]));
  const grad = linearFrGradBody(g, x, y, W, [s.channels, s.height, s.width]);
  floatOutput(g, grad, ft, ['B', s.channels, s.height, s.width], 'grad');
  return g.toBytes({ docString: 'id3 linear FR gradient stand-in' });
}

/** The guided graph (§3.3) of the analytic denoiser and the linear FR, exact chain (see the module comment). */
export function analyticGuidedModel(s: AnalyticDenoiserSpec, fr: { W: Float32Array }): Uint8Array {
  const ft = s.floatType ?? 'float32';
  const g = new GraphBuilder('id3_analytic_guided');
  const p = denoiserBody(g, s, ft);
  // alpha_bar_t is an input of the contract; the analytic graph takes ᾱ from its own table (they agree) but
  // checks nothing, so it is only consumed to keep the input
  const abIn = floatIn(g, 'alpha_bar_t', ft, ['B']);
  const scaleIn = floatIn(g, 'scale', ft, ['B']);
  const shape = [s.channels, s.height, s.width];
  const sab = g.op('Sqrt', [g.op('Reshape', [abIn, g.constant(i64([-1, 1, 1, 1]))])[0]])[0];
  const x0 = g.op('Div', [g.op('Sub', [p.x, g.op('Mul', [p.s1a, p.eps])[0]])[0], sab])[0];
  const W = g.constant(f32(fr.W, [s.embeddingDim, s.channels * s.height * s.width]));
  const grad = linearFrGradBody(g, x0, p.y, W, shape);
  const one = g.constant(f32([1], [1]));
  const cSlope = g.op('Div', [g.op('Sub', [one, g.op('Mul', [p.s1a, p.k])[0]])[0], sab])[0];
  const sc = g.op('Reshape', [scaleIn, g.constant(i64([-1, 1, 1, 1]))])[0];
  const coef = g.op('Mul', [g.op('Mul', [p.s1a, sc])[0], cSlope])[0];
  const out = g.op('Sub', [p.eps, g.op('Mul', [coef, grad])[0]])[0];
  floatOutput(g, out, ft, ['B', ...shape], 'eps_tilde');
  return g.toBytes({ metadata: contractMetadata(s), docString: 'id3 analytic guided denoiser (test stand-in)' });
}
