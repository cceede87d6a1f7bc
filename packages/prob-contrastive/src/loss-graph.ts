/**
 * The softmax losses ('infonce' and 'prob') and their analytic backward as one ONNX op-graph, run by ONNX Runtime
 * through core-tensor on the chosen device (CPU, CUDA, WebGPU …). Same formulas as `contrastiveLoss` (loss.ts), in
 * float32, with the N×N similarity and gradient matrices held by the runtime:
 *
 *   μ = z/‖z‖, C = μμᵀ, S = w ⊙ C (w_a = 1/τ or κ_a/r, per row), S̃ = S with −∞ on the diagonal,
 *   Y = Σ_terms e_a e_bᵀ / T, q = Y·1 (count_a / T),
 *   loss = Σ_a q_a·logsumexp(S̃_a) − Σ_terms S_ab / T,
 *   G = q ⊙ softmax(S̃) − Y, ∂L/∂w_a = Σ_j G_aj C_aj, ∂L/∂μ = (w ⊙ G)μ + (w ⊙ G)ᵀμ, ∂L/∂z = (I − μμᵀ)∂L/∂μ / ‖z‖.
 *
 * One graph serves every batch size (symbolic N, D); sessions are cached per device. 'scf' has no N×N work and is
 * always computed by `contrastiveLoss`. Memory: about eight N×N float32 buffers (≈ 0.5 GB at N = 4096).
 */
import { GraphBuilder, attr, createSession, tensor, type Device, type Session } from '@trustvision/core-tensor';
import { contrastiveLoss, prepareLoss, type LossInput, type LossOptions, type LossResult } from './loss.js';

let graphBytes: Uint8Array | undefined;
const sessions = new Map<string, Promise<Session>>();

/**
 * The loss + gradient graph. Inputs: z [N,D]; w [N,1] (per-row logit scale); q [N,1] (terms anchored at each row / T);
 * idx int64 [T,2] (anchor, positive) and nupd [T] (= −1/T); diag int64 [N,2] (i, i) and ninf [N] (= −∞).
 * Outputs: loss [], dz [N,D], gw [1,N] (∂L/∂w). Written to touch each N×N buffer as few times as possible: w is folded
 * into the GEMM (S = (w⊙μ)μᵀ), the diagonal is masked and the positives subtracted by ScatterND, and the backward
 * GEMMs use ∂L/∂μ = w ⊙ (Gμ) + Gᵀ(w ⊙ μ), so no N×N product with w is formed.
 */
export function lossGraphModel(): Uint8Array {
  if (graphBytes) return graphBytes;
  const g = new GraphBuilder('prob_contrastive_loss');
  const axis1 = g.constant(tensor(BigInt64Array.of(1n), [1]));
  const z = g.input('z', 'float32', ['n', 'd']);
  const w = g.input('w', 'float32', ['n', 1]);
  const q = g.input('q', 'float32', ['n', 1]);
  const idx = g.input('idx', 'int64', ['t', 2]);
  const nupd = g.input('nupd', 'float32', ['t']);
  const diag = g.input('diag', 'int64', ['n', 2]);
  const ninf = g.input('ninf', 'float32', ['n']);
  const [ss] = g.op('ReduceSumSquare', [z], { axes: attr.ints([1]), keepdims: attr.i(1) });
  const [norm] = g.op('Sqrt', [ss]);
  const [mu] = g.op('Div', [z, norm]);
  const [wmu] = g.op('Mul', [mu, w]);
  const [s] = g.op('Gemm', [wmu, mu], { transB: attr.i(1) }); // S = w ⊙ C
  const [masked] = g.op('ScatterND', [s, diag, ninf]); // −∞ on the diagonal
  const [m] = g.op('ReduceMax', [masked], { axes: attr.ints([1]), keepdims: attr.i(1) });
  const [shifted] = g.op('Sub', [masked, m]);
  const [e] = g.op('Exp', [shifted]);
  const [se] = g.op('ReduceSum', [e, axis1], { keepdims: attr.i(1) });
  const [logse] = g.op('Log', [se]);
  const [lse] = g.op('Add', [m, logse]);
  // loss = Σ_a q_a lse_a − Σ_t S[a_t, b_t] / T
  const [qlse] = g.op('Mul', [q, lse]);
  const [a] = g.op('ReduceSum', [qlse], { keepdims: attr.i(0) });
  const [spos] = g.op('GatherND', [s, idx]);
  const [b] = g.op('Mul', [spos, nupd]);
  const [bsum] = g.op('ReduceSum', [b], { keepdims: attr.i(0) });
  const [loss] = g.op('Add', [a, bsum]);
  // G = q ⊙ softmax − Y
  const [scale] = g.op('Div', [q, se]);
  const [qp] = g.op('Mul', [e, scale]);
  const [grad] = g.op('ScatterND', [qp, idx, nupd], { reduction: attr.s('add') });
  // ∂L/∂w_a = Σ_j G_aj C_aj = Σ_j G_aj S_aj / w_a (G_aa = 0, S finite)
  const [gs] = g.op('Mul', [grad, s]);
  const [gsum] = g.op('ReduceSum', [gs, axis1], { keepdims: attr.i(1) });
  const [gw2] = g.op('Div', [gsum, w]);
  const [gw] = g.op('Flatten', [gw2], { axis: attr.i(0) });
  const [gmu] = g.op('Gemm', [grad, mu]);
  const [first] = g.op('Mul', [gmu, w]);
  const [dmu] = g.op('Gemm', [grad, wmu, first], { transA: attr.i(1), beta: attr.f(1) });
  const [mdm] = g.op('Mul', [mu, dmu]);
  const [dot] = g.op('ReduceSum', [mdm, axis1], { keepdims: attr.i(1) });
  const [radial] = g.op('Mul', [mu, dot]);
  const [tangent] = g.op('Sub', [dmu, radial]);
  const [dz] = g.op('Div', [tangent, norm]);
  g.output(loss, 'float32', [], 'loss');
  g.output(dz, 'float32', ['n', 'd'], 'dz');
  g.output(gw, 'float32', [1, 'n'], 'gw');
  graphBytes = g.toBytes({ opset: 17, producerName: '@trustvision/prob-contrastive' });
  return graphBytes;
}

async function session(device: Device): Promise<Session> {
  let s = sessions.get(device);
  if (!s) {
    s = createSession(lossGraphModel(), { device, name: 'prob-contrastive loss graph' });
    sessions.set(device, s);
    s.catch(() => sessions.delete(device));
  }
  return s;
}

/**
 * `contrastiveLoss` on ONNX Runtime (float32): the same value and gradients, for large batches or a GPU.
 * `device` defaults to 'cpu'. Inputs are validated exactly as by `contrastiveLoss`.
 */
export async function contrastiveLossGraph(
  input: LossInput,
  options: LossOptions & { device?: Device } = {},
): Promise<LossResult & { device: string }> {
  const prep = prepareLoss(input, options);
  const device = options.device ?? 'cpu';
  if (prep.variant === 'scf') return { ...contrastiveLoss(input, options), device: 'js' };
  const { n, d, z, pairs, kappa, radius, tau, variant } = prep;
  // a zero row has no direction: contrastiveLoss's check, without its O(N²D) work
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += z.data[i * d + k] ** 2;
    if (!(s > 0)) return { ...contrastiveLoss(input, options), device: 'js' }; // throws the typed error
  }
  const P = pairs.length / 2;
  const T = 2 * P;
  const idx = new BigInt64Array(2 * T);
  for (let t = 0; t < T; t++) {
    idx[2 * t] = BigInt(pairs[t]);
    idx[2 * t + 1] = BigInt(pairs[t ^ 1]);
  }
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = variant === 'prob' ? kappa![i] / radius : 1 / tau;
  const q = new Float32Array(n);
  for (let k = 0; k < pairs.length; k++) q[pairs[k]] += 1 / T;
  const diag = new BigInt64Array(2 * n);
  for (let i = 0; i < n; i++) diag[2 * i] = diag[2 * i + 1] = BigInt(i);
  const sess = await session(device);
  const out = await sess.run({
    z: tensor(Float32Array.from(z.data), [n, d]),
    w: tensor(w, [n, 1]),
    q: tensor(q, [n, 1]),
    idx: tensor(idx, [T, 2]),
    nupd: tensor(new Float32Array(T).fill(-1 / T), [T]),
    diag: tensor(diag, [n, 2]),
    ninf: tensor(new Float32Array(n).fill(-Infinity), [n]),
  });
  const gw = out.gw.data as Float32Array;
  const wantGrad = options.grad ?? true;
  return {
    loss: (out.loss.data as Float32Array)[0],
    gradZ: wantGrad ? Float64Array.from(out.dz.data as Float32Array) : undefined,
    gradKappa: wantGrad
      ? variant === 'prob'
        ? Float64Array.from(gw, (v) => v / radius)
        : new Float64Array(n)
      : undefined,
    terms: T,
    n,
    d,
    device: sess.device,
  };
}

/** Releases the cached loss-graph sessions. */
export async function disposeLossGraphs(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  for (const s of all) await (await s.catch(() => undefined))?.dispose();
}
