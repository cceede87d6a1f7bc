/**
 * Training the head from TypeScript: Adam on mini-batches of positive pairs drawn from features of a frozen encoder.
 *
 * Data: features x [N, F] (float32/float64) and positive pairs [P, 2] (row indices; typically the two augmented
 * views of one image). Each step takes `batchSize` pairs (a seeded permutation per epoch, the last partial batch
 * dropped), gathers their 2·batchSize rows, runs the head, the loss and its analytic backward, and applies Adam.
 *
 * Objectives (`objective`):
 * - 'prob'    the probabilistic loss (`contrastiveLoss` variant 'prob', radius r) trains projection and κ head jointly;
 * - 'infonce' the deterministic baseline (temperature τ); the κ head is not trained (its output stays at kappaInit);
 * - 'scf'     InfoNCE(τ) for the embedding + scfWeight · SCF KL loss for κ, with the embedding detached in the SCF
 *             term (SCF learns confidence on a frozen embedding; here the embedding is trained by InfoNCE alongside).
 */
import { InvalidArgumentError, Rng } from '@trustvision/core-tensor';
import { ProbHead, type HeadParams, type HeadShape, type ParamName } from './head.js';
import { contrastiveLoss } from './loss.js';
import { checkInt, checkNumber, checkOneOf, toMatrix, toPairs, type MatrixInput, type PairsInput } from './validate.js';

export const OBJECTIVES = ['prob', 'infonce', 'scf'] as const;
export type Objective = (typeof OBJECTIVES)[number];

export interface TrainOptions extends Omit<HeadShape, 'features'> {
  objective?: Objective;
  /** Pairs per step (default 128, i.e. 256 rows). */
  batchSize?: number;
  /** Passes over the pairs (default 10). */
  epochs?: number;
  /** Stop after this many steps in total (default: no limit). */
  maxSteps?: number;
  /** Adam learning rate (default 1e-3), β1 0.9, β2 0.999, ε 1e-8. */
  lr?: number;
  /** Decoupled weight decay on weight matrices (AdamW; default 1e-4). */
  weightDecay?: number;
  /** InfoNCE temperature (default 0.1). */
  tau?: number;
  /** Radius r of the 'prob' and 'scf' losses (default 1). */
  radius?: number;
  /** Weight of the SCF term in the 'scf' objective (default 0.01). */
  scfWeight?: number;
  seed?: number | string;
  /** Called every `progressEvery` steps (default 50) and after the last. */
  onProgress?: (p: TrainProgress) => void;
  progressEvery?: number;
}

export interface TrainProgress {
  step: number;
  steps: number;
  epoch: number;
  /** Mean loss over the steps since the last report. */
  loss: number;
  /** Mean κ of the last batch. */
  meanKappa: number;
  ms: number;
}

export interface TrainResult {
  head: ProbHead;
  history: TrainProgress[];
  steps: number;
  options: Required<Omit<TrainOptions, 'onProgress' | 'maxSteps'>> & { maxSteps?: number };
}

/** Adam(W) state over the head's trainable parameters. */
export class Adam {
  private readonly m: Partial<HeadParams> = {};
  private readonly v: Partial<HeadParams> = {};
  private t = 0;
  constructor(
    readonly lr = 1e-3,
    readonly weightDecay = 0,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {}

  step(params: HeadParams, grads: HeadParams, names: readonly ParamName[]): void {
    this.t++;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    for (const k of names) {
      const p = params[k];
      const g = grads[k];
      const m = (this.m[k] ??= new Float64Array(p.length));
      const v = (this.v[k] ??= new Float64Array(p.length));
      const decay = k === 'w1' || k === 'w2' || k === 'v1' ? this.lr * this.weightDecay : 0;
      for (let i = 0; i < p.length; i++) {
        m[i] = this.beta1 * m[i] + (1 - this.beta1) * g[i];
        v[i] = this.beta2 * v[i] + (1 - this.beta2) * g[i] * g[i];
        p[i] -= (this.lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + this.eps) + decay * p[i];
      }
    }
  }
}

/** Trains a head on features + positive pairs; deterministic for a given seed. */
export function trainHead(data: { features: MatrixInput; pairs: PairsInput }, options: TrainOptions = {}): TrainResult {
  if (data === null || typeof data !== 'object')
    throw new InvalidArgumentError('data', data, 'an object { features, pairs }');
  const x = toMatrix('features', data.features, { minRows: 2 });
  const pairs = toPairs('pairs', data.pairs, x.rows);
  const P = pairs.length / 2;
  const objective = checkOneOf('objective', options.objective ?? 'prob', OBJECTIVES);
  const batchSize = checkInt('batchSize', options.batchSize ?? 128, 1);
  if (batchSize > P) throw new InvalidArgumentError('batchSize', batchSize, `at most the number of pairs (${P})`);
  const epochs = checkInt('epochs', options.epochs ?? 10, 1);
  const maxSteps = options.maxSteps === undefined ? undefined : checkInt('maxSteps', options.maxSteps, 1);
  const lr = checkNumber('lr', options.lr ?? 1e-3, 0);
  const weightDecay = checkNumber('weightDecay', options.weightDecay ?? 1e-4, 0, Infinity, true);
  const tau = checkNumber('tau', options.tau ?? 0.1, 0);
  const radius = checkNumber('radius', options.radius ?? 1, 0);
  const scfWeight = checkNumber('scfWeight', options.scfWeight ?? 0.01, 0, Infinity, true);
  const progressEvery = checkInt('progressEvery', options.progressEvery ?? 50, 1);
  const seed = options.seed ?? 0;
  const shape: HeadShape = {
    features: x.cols,
    hidden: options.hidden,
    dim: options.dim,
    kappaHidden: options.kappaHidden,
    kappaMin: options.kappaMin,
    kappaMax: options.kappaMax,
    kappaInit: options.kappaInit ?? (objective === 'prob' ? radius / tau : 10),
  };
  const rng = Rng.from(seed);
  const head = ProbHead.init(shape, { seed: `${seed}/init`, stats: { data: x.data, shape: [x.rows, x.cols] } });
  const adam = new Adam(lr, weightDecay);
  const trainable = objective === 'infonce' ? (['w1', 'b1', 'w2', 'b2'] as const) : ProbHead.TRAINABLE;
  const F = x.cols;
  const B = 2 * batchSize;
  const xb = new Float64Array(B * F);
  const batchPairs = new Int32Array(2 * batchSize);
  for (let i = 0; i < batchSize; i++) {
    batchPairs[2 * i] = 2 * i;
    batchPairs[2 * i + 1] = 2 * i + 1;
  }
  const pairsT = { data: batchPairs, shape: [batchSize, 2] };
  const stepsPerEpoch = Math.floor(P / batchSize);
  const total = Math.min(stepsPerEpoch * epochs, maxSteps ?? Infinity);
  const history: TrainProgress[] = [];
  let step = 0;
  let lossSum = 0;
  let lossCount = 0;
  const t0 = Date.now();
  outer: for (let epoch = 1; epoch <= epochs; epoch++) {
    const perm = rng.split('epoch', epoch).permutation(P);
    for (let s = 0; s < stepsPerEpoch; s++) {
      if (step >= total) break outer;
      for (let i = 0; i < batchSize; i++) {
        const q = perm[s * batchSize + i];
        xb.set(x.data.subarray(pairs[2 * q] * F, pairs[2 * q] * F + F), 2 * i * F);
        xb.set(x.data.subarray(pairs[2 * q + 1] * F, pairs[2 * q + 1] * F + F), (2 * i + 1) * F);
      }
      const out = head.forwardRaw(xb, B);
      const zT = { data: out.z, shape: [B, head.dim] };
      let loss: number;
      let gz: Float64Array;
      let gk: Float64Array | undefined;
      if (objective === 'prob') {
        const r = contrastiveLoss({ z: zT, kappa: out.kappa, pairs: pairsT }, { variant: 'prob', radius });
        loss = r.loss;
        gz = r.gradZ!;
        gk = r.gradKappa!;
      } else {
        const r = contrastiveLoss({ z: zT, pairs: pairsT }, { variant: 'infonce', tau });
        loss = r.loss;
        gz = r.gradZ!;
        if (objective === 'scf') {
          const sc = contrastiveLoss({ z: zT, kappa: out.kappa, pairs: pairsT }, { variant: 'scf', radius });
          loss += scfWeight * sc.loss;
          gk = sc.gradKappa!;
          for (let i = 0; i < gk.length; i++) gk[i] *= scfWeight;
        }
      }
      const grads = head.backward(out.cache, gz, gk);
      adam.step(head.params, grads, trainable);
      step++;
      lossSum += loss;
      lossCount++;
      if (step % progressEvery === 0 || step === total) {
        let mk = 0;
        for (let i = 0; i < B; i++) mk += out.kappa[i];
        const p: TrainProgress = {
          step,
          steps: total,
          epoch,
          loss: lossSum / lossCount,
          meanKappa: mk / B,
          ms: Date.now() - t0,
        };
        history.push(p);
        options.onProgress?.(p);
        lossSum = 0;
        lossCount = 0;
      }
    }
  }
  return {
    head,
    history,
    steps: step,
    options: {
      objective,
      batchSize,
      epochs,
      maxSteps,
      lr,
      weightDecay,
      tau,
      radius,
      scfWeight,
      seed,
      progressEvery,
      hidden: head.hidden,
      dim: head.dim,
      kappaHidden: head.kappaHidden,
      kappaMin: head.kappaMin,
      kappaMax: head.kappaMax,
      kappaInit: shape.kappaInit!,
    },
  };
}
