/**
 * The trainable head that sits on a frozen encoder's features x [N, F]:
 *
 *   x̂ = (x − mean) ⊙ invStd                        (feature standardisation, fixed from the training features)
 *   z  = W2ᵀ·relu(W1ᵀ·x̂ + b1) + b2                  (projection MLP, F → H → D; the raw embedding)
 *   μ  = z / ‖z‖                                   (the unit embedding)
 *   κ  = exp(min(v2·relu(V1ᵀ·x̂ + c1) + c2, log(κmax − κmin))) + κmin
 *                                                  (concentration MLP, F → K → 1, log κ output as SCF's uncertainty head)
 *
 * Forward and backward are plain Float64Array loops; `toOnnx()` writes the same function as an ONNX graph (through
 * core-tensor's GraphBuilder) with input `features` [batch, F] and outputs `embedding` [batch, D] (unit rows) and
 * `kappa` [batch, 1], so inference runs on any ONNX Runtime device.
 */
import { GraphBuilder, InvalidArgumentError, Rng, attr, tensor } from '@trustvision/core-tensor';
import { checkInt, checkNumber, toMatrix, type MatrixInput } from './validate.js';

export interface HeadShape {
  /** Input feature dimension F. */
  features: number;
  /** Hidden width H of the projection MLP (default 128). */
  hidden?: number;
  /** Embedding dimension D (default 64). */
  dim?: number;
  /** Hidden width K of the κ MLP (default 64). */
  kappaHidden?: number;
  /** Lower bound added to exp(·) (default 1e-3): κ > 0 always. */
  kappaMin?: number;
  /**
   * Upper bound of κ (default 1e5, the top of the range where the Bessel routines are validated): log κ is clipped,
   * so inputs far from the training features cannot extrapolate the exponential to absurd concentrations.
   */
  kappaMax?: number;
  /** κ at initialisation (default 10): the bias c2 is set so that κ ≈ kappaInit for typical inputs. */
  kappaInit?: number;
}

/** Serialisable parameters (plain arrays). */
export interface HeadJSON {
  format: 'trustvision.prob-contrastive.head/1';
  features: number;
  hidden: number;
  dim: number;
  kappaHidden: number;
  kappaMin: number;
  kappaMax: number;
  params: Record<ParamName, number[]>;
}

export const PARAM_NAMES = ['mean', 'invStd', 'w1', 'b1', 'w2', 'b2', 'v1', 'c1', 'v2', 'c2'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];
export type HeadParams = Record<ParamName, Float64Array>;

/** Forward activations kept for the backward pass. */
export interface HeadCache {
  n: number;
  xh: Float64Array;
  h1: Float64Array;
  k1: Float64Array;
  a: Float64Array;
}

export interface HeadOutput {
  /** Raw embedding z [N·D] (not normalised; the loss normalises). */
  z: Float64Array;
  /** Concentration κ [N]. */
  kappa: Float64Array;
  cache: HeadCache;
}

/** out[n, o] = Σ_i x[n, i] w[i, o] + b[o] */
function affine(x: Float64Array, n: number, inDim: number, w: Float64Array, b: Float64Array, outDim: number) {
  const out = new Float64Array(n * outDim);
  for (let r = 0; r < n; r++) {
    const or = r * outDim;
    for (let o = 0; o < outDim; o++) out[or + o] = b[o];
    const xr = r * inDim;
    for (let i = 0; i < inDim; i++) {
      const v = x[xr + i];
      if (v === 0) continue;
      const wi = i * outDim;
      for (let o = 0; o < outDim; o++) out[or + o] += v * w[wi + o];
    }
  }
  return out;
}

/** gw[i, o] += Σ_n x[n, i] g[n, o];  gb[o] += Σ_n g[n, o] */
function affineGradParams(
  x: Float64Array,
  g: Float64Array,
  n: number,
  inDim: number,
  outDim: number,
  gw: Float64Array,
  gb: Float64Array,
) {
  for (let r = 0; r < n; r++) {
    const gr = r * outDim;
    for (let o = 0; o < outDim; o++) gb[o] += g[gr + o];
    const xr = r * inDim;
    for (let i = 0; i < inDim; i++) {
      const v = x[xr + i];
      if (v === 0) continue;
      const wi = i * outDim;
      for (let o = 0; o < outDim; o++) gw[wi + o] += v * g[gr + o];
    }
  }
}

/** gx[n, i] = Σ_o g[n, o] w[i, o] */
function affineGradInput(g: Float64Array, n: number, w: Float64Array, inDim: number, outDim: number) {
  const gx = new Float64Array(n * inDim);
  for (let r = 0; r < n; r++) {
    const gr = r * outDim;
    const xr = r * inDim;
    for (let i = 0; i < inDim; i++) {
      const wi = i * outDim;
      let s = 0;
      for (let o = 0; o < outDim; o++) s += g[gr + o] * w[wi + o];
      gx[xr + i] = s;
    }
  }
  return gx;
}

export class ProbHead {
  readonly features: number;
  readonly hidden: number;
  readonly dim: number;
  readonly kappaHidden: number;
  readonly kappaMin: number;
  readonly kappaMax: number;
  readonly params: HeadParams;
  private readonly logSpan: number;

  private constructor(shape: Required<Omit<HeadShape, 'kappaInit'>>, params: HeadParams) {
    this.features = shape.features;
    this.hidden = shape.hidden;
    this.dim = shape.dim;
    this.kappaHidden = shape.kappaHidden;
    this.kappaMin = shape.kappaMin;
    this.kappaMax = shape.kappaMax;
    this.logSpan = Math.log(shape.kappaMax - shape.kappaMin);
    this.params = params;
  }

  /**
   * A freshly initialised head (He-normal weights from the seeded Philox generator, zero biases). `stats` are the
   * training features: their per-dimension mean and standard deviation become the fixed standardisation.
   */
  static init(shape: HeadShape, options: { seed?: number | string; stats?: MatrixInput } = {}): ProbHead {
    if (shape === null || typeof shape !== 'object') throw new InvalidArgumentError('shape', shape, 'a HeadShape');
    const F = checkInt('features', shape.features, 1);
    const H = checkInt('hidden', shape.hidden ?? 128, 1);
    const D = checkInt('dim', shape.dim ?? 64, 2);
    const K = checkInt('kappaHidden', shape.kappaHidden ?? 64, 1);
    const kappaMin = checkNumber('kappaMin', shape.kappaMin ?? 1e-3, 0, Infinity, true);
    const kappaMax = checkNumber('kappaMax', shape.kappaMax ?? 1e5, kappaMin);
    const kappaInit = checkNumber('kappaInit', shape.kappaInit ?? 10, kappaMin, kappaMax);
    const rng = Rng.from(options.seed ?? 0);
    const he = (fanIn: number, count: number) => rng.normalArray(count, 0, Math.sqrt(2 / fanIn));
    const mean = new Float64Array(F);
    const invStd = new Float64Array(F).fill(1);
    if (options.stats !== undefined) {
      const x = toMatrix('stats', options.stats, { cols: F });
      for (let i = 0; i < x.rows; i++) for (let f = 0; f < F; f++) mean[f] += x.data[i * F + f];
      for (let f = 0; f < F; f++) mean[f] /= x.rows;
      const v = new Float64Array(F);
      for (let i = 0; i < x.rows; i++)
        for (let f = 0; f < F; f++) {
          const d = x.data[i * F + f] - mean[f];
          v[f] += d * d;
        }
      for (let f = 0; f < F; f++) invStd[f] = 1 / Math.sqrt(v[f] / x.rows + 1e-6);
    }
    const v2 = rng.normalArray(K, 0, Math.sqrt(1 / K) * 0.02); // small: κ starts near kappaInit
    const c2 = Float64Array.of(Math.log(kappaInit - kappaMin));
    const params: HeadParams = {
      mean,
      invStd,
      w1: he(F, F * H),
      b1: new Float64Array(H),
      w2: rng.normalArray(H * D, 0, Math.sqrt(1 / H)),
      b2: new Float64Array(D),
      v1: he(F, F * K),
      c1: new Float64Array(K),
      v2,
      c2,
    };
    return new ProbHead({ features: F, hidden: H, dim: D, kappaHidden: K, kappaMin, kappaMax }, params);
  }

  /** Number of trainable parameters (the standardisation is fixed). */
  get parameterCount(): number {
    const { features: F, hidden: H, dim: D, kappaHidden: K } = this;
    return F * H + H + H * D + D + F * K + K + K + 1;
  }

  /** The trainable parameter names (everything but the standardisation). */
  static readonly TRAINABLE: readonly ParamName[] = ['w1', 'b1', 'w2', 'b2', 'v1', 'c1', 'v2', 'c2'];

  /** Forward pass on features [N, F] (validated); keeps the activations for `backward`. */
  forward(features: MatrixInput): HeadOutput {
    const x = toMatrix('features', features, { cols: this.features });
    return this.forwardRaw(x.data, x.rows);
  }

  /** Forward pass on a trusted float64 buffer [n·F]. */
  forwardRaw(x: Float64Array, n: number): HeadOutput {
    const { features: F, hidden: H, dim: D, kappaHidden: K, params: p } = this;
    const xh = new Float64Array(n * F);
    for (let r = 0; r < n; r++) for (let f = 0; f < F; f++) xh[r * F + f] = (x[r * F + f] - p.mean[f]) * p.invStd[f];
    const h1 = affine(xh, n, F, p.w1, p.b1, H);
    for (let i = 0; i < h1.length; i++) if (h1[i] < 0) h1[i] = 0;
    const z = affine(h1, n, H, p.w2, p.b2, D);
    const k1 = affine(xh, n, F, p.v1, p.c1, K);
    for (let i = 0; i < k1.length; i++) if (k1[i] < 0) k1[i] = 0;
    const a = new Float64Array(n);
    const kappa = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let s = p.c2[0];
      for (let k = 0; k < K; k++) s += k1[r * K + k] * p.v2[k];
      a[r] = s;
      kappa[r] = Math.exp(Math.min(s, this.logSpan)) + this.kappaMin;
    }
    return { z, kappa, cache: { n, xh, h1, k1, a } };
  }

  /** Gradients of the parameters given ∂L/∂z [n·D] and ∂L/∂κ [n] (either may be omitted). */
  backward(cache: HeadCache, gradZ?: Float64Array, gradKappa?: Float64Array): HeadParams {
    const { features: F, hidden: H, dim: D, kappaHidden: K, params: p } = this;
    const { n, xh, h1, k1, a } = cache;
    const g: HeadParams = {
      mean: new Float64Array(F),
      invStd: new Float64Array(F),
      w1: new Float64Array(F * H),
      b1: new Float64Array(H),
      w2: new Float64Array(H * D),
      b2: new Float64Array(D),
      v1: new Float64Array(F * K),
      c1: new Float64Array(K),
      v2: new Float64Array(K),
      c2: new Float64Array(1),
    };
    if (gradZ) {
      affineGradParams(h1, gradZ, n, H, D, g.w2, g.b2);
      const gh = affineGradInput(gradZ, n, p.w2, H, D);
      for (let i = 0; i < gh.length; i++) if (h1[i] <= 0) gh[i] = 0;
      affineGradParams(xh, gh, n, F, H, g.w1, g.b1);
    }
    if (gradKappa) {
      const ga = new Float64Array(n);
      for (let r = 0; r < n; r++) ga[r] = a[r] > this.logSpan ? 0 : gradKappa[r] * Math.exp(a[r]);
      const gk = new Float64Array(n * K);
      for (let r = 0; r < n; r++) {
        g.c2[0] += ga[r];
        for (let k = 0; k < K; k++) {
          const hv = k1[r * K + k];
          g.v2[k] += ga[r] * hv;
          gk[r * K + k] = hv > 0 ? ga[r] * p.v2[k] : 0;
        }
      }
      affineGradParams(xh, gk, n, F, K, g.v1, g.c1);
    }
    return g;
  }

  /** Unit embeddings μ [N·D] and κ [N] for features [N, F] (float32 results, as the ONNX export gives). */
  embed(features: MatrixInput): { embedding: Float32Array; kappa: Float32Array; n: number; d: number } {
    const { z, kappa, cache } = this.forward(features);
    const n = cache.n;
    const D = this.dim;
    const emb = new Float32Array(n * D);
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += z[r * D + k] * z[r * D + k];
      const inv = 1 / Math.sqrt(s);
      for (let k = 0; k < D; k++) emb[r * D + k] = z[r * D + k] * inv;
    }
    return { embedding: emb, kappa: Float32Array.from(kappa), n, d: D };
  }

  toJSON(): HeadJSON {
    const params = {} as Record<ParamName, number[]>;
    for (const k of PARAM_NAMES) params[k] = Array.from(this.params[k]);
    return {
      format: 'trustvision.prob-contrastive.head/1',
      features: this.features,
      hidden: this.hidden,
      dim: this.dim,
      kappaHidden: this.kappaHidden,
      kappaMin: this.kappaMin,
      kappaMax: this.kappaMax,
      params,
    };
  }

  static fromJSON(json: HeadJSON): ProbHead {
    if (json === null || typeof json !== 'object' || json.format !== 'trustvision.prob-contrastive.head/1')
      throw new InvalidArgumentError(
        'json',
        json,
        "a head saved by ProbHead.toJSON (format 'trustvision.prob-contrastive.head/1')",
      );
    const F = checkInt('features', json.features, 1);
    const H = checkInt('hidden', json.hidden, 1);
    const D = checkInt('dim', json.dim, 2);
    const K = checkInt('kappaHidden', json.kappaHidden, 1);
    const kappaMin = checkNumber('kappaMin', json.kappaMin, 0, Infinity, true);
    const kappaMax = checkNumber('kappaMax', json.kappaMax ?? 1e5, kappaMin);
    const sizes: Record<ParamName, number> = {
      mean: F,
      invStd: F,
      w1: F * H,
      b1: H,
      w2: H * D,
      b2: D,
      v1: F * K,
      c1: K,
      v2: K,
      c2: 1,
    };
    const params = {} as HeadParams;
    for (const k of PARAM_NAMES) {
      const v = json.params?.[k];
      if (!Array.isArray(v) || v.length !== sizes[k])
        throw new InvalidArgumentError(
          `params.${k}`,
          v === undefined ? undefined : `length ${v?.length}`,
          `${sizes[k]} numbers`,
        );
      params[k] = Float64Array.from(v);
    }
    return new ProbHead({ features: F, hidden: H, dim: D, kappaHidden: K, kappaMin, kappaMax }, params);
  }

  /**
   * The head as an ONNX model (opset 17): input `features` float32 [batch, F]; outputs `embedding` float32
   * [batch, D] (unit rows) and `kappa` float32 [batch, 1]. Parameters are stored as float32 initialisers.
   */
  toOnnx(metadata: Record<string, string> = {}): Uint8Array {
    const { features: F, hidden: H, dim: D, kappaHidden: K, params: p } = this;
    const g = new GraphBuilder('prob_contrastive_head');
    const f32 = (a: Float64Array, shape: number[]) => g.initializer(tensor(Float32Array.from(a), shape));
    const x = g.input('features', 'float32', ['batch', F]);
    const [centred] = g.op('Sub', [x, f32(p.mean, [F])]);
    const [xh] = g.op('Mul', [centred, f32(p.invStd, [F])]);
    const [h1pre] = g.op('Gemm', [xh, f32(p.w1, [F, H]), f32(p.b1, [H])]);
    const [h1] = g.op('Relu', [h1pre]);
    const [z] = g.op('Gemm', [h1, f32(p.w2, [H, D]), f32(p.b2, [D])]);
    const [norm] = g.op('ReduceL2', [z], { axes: attr.ints([1]), keepdims: attr.i(1) });
    const [mu] = g.op('Div', [z, norm]);
    g.output(mu, 'float32', ['batch', D], 'embedding');
    const [k1pre] = g.op('Gemm', [xh, f32(p.v1, [F, K]), f32(p.c1, [K])]);
    const [k1] = g.op('Relu', [k1pre]);
    const [a] = g.op('Gemm', [k1, f32(p.v2, [K, 1]), f32(p.c2, [1])]);
    const [clipped] = g.op('Min', [a, g.initializer(tensor(Float32Array.of(this.logSpan), [1]))]);
    const [sp] = g.op('Exp', [clipped]);
    const [kappa] = g.op('Add', [sp, g.initializer(tensor(Float32Array.of(this.kappaMin), [1]))]);
    g.output(kappa, 'float32', ['batch', 1], 'kappa');
    return g.toBytes({
      opset: 17,
      producerName: '@trustvision/prob-contrastive',
      docString: 'prob-contrastive head: features -> unit embedding + vMF concentration kappa',
      metadata: { features: String(F), dim: String(D), hidden: String(H), kappaHidden: String(K), ...metadata },
    });
  }
}
