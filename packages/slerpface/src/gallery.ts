/**
 * A gallery of protected records for 1:N search. Records are held as float32 structure-of-arrays (protected values,
 * keys, masks), so a million records of 49 × 16 take ~7 GB. Scoring a probe against every record needs the probe
 * rotated toward each record's key; it runs either as a tight typed-array loop (CPU) or as an ONNX op-graph through
 * core-tensor on the chosen device (GPU), over chunks of records.
 *
 * Per record and group, with t̂ the probe group, k̂ the key, P the protected group and M the mask, the rotated probe is
 * p = x·t̂ + y·k̂ with y = sin(aθ)/sin θ, x = cos(aθ) − y·cos θ, so the group cosine needs only six dot products:
 *   ⟨M⊙p, P⟩ = x⟨t̂,P⟩ + y⟨k̂,P⟩,  ‖M⊙p‖² = x²⟨M,t̂²⟩ + 2xy⟨M⊙t̂,k̂⟩ + y²⟨M,k̂²⟩.
 */
import {
  createSession,
  GraphBuilder,
  InvalidArgumentError,
  attr,
  tensor,
  type Device,
  type Session,
  type Tensor,
} from '@trustvision/core-tensor';
import {
  RECORD_VERSION,
  checkCompatible,
  checkRecord,
  resolveParams,
  scoreToDistance,
  type ProtectParams,
  type ProtectedRecord,
  type Template,
  type TemplateForm,
} from './protect.js';

export interface GalleryMatch {
  index: number;
  id: string;
  score: number;
  distance: number;
}

export interface GallerySearchOptions {
  /** How many best matches to return (default 5). */
  topK?: number;
  /** 'js' (typed-array loop), 'graph' (op-graph on the gallery's device) or 'auto' (graph only on a GPU device). */
  backend?: 'auto' | 'js' | 'graph';
}

export interface GalleryOptions {
  /** Device for the op-graph backend (default 'cpu'; 'auto' picks a GPU when there is one). */
  device?: Device;
  /** Records per op-graph run (default 8192). */
  chunk?: number;
  /**
   * Threads for the typed-array backend on large galleries (default: the number of CPUs, at most 8; Node only).
   * Every thread scores whole records, so results do not depend on the thread count.
   */
  threads?: number;
}

export interface GalleryHeader {
  form: TemplateForm;
  layout: string;
  groups: number;
  groupSize: number;
  params: ProtectParams;
}

type TypedCtor<T> = { new (n: number): T; new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };

/** A typed array on a SharedArrayBuffer when the platform has one (worker threads then read it without copies). */
function allocate<T>(ctor: TypedCtor<T>, n: number): T {
  return typeof SharedArrayBuffer === 'function'
    ? new ctor(new SharedArrayBuffer(n * ctor.BYTES_PER_ELEMENT))
    : new ctor(n);
}

interface WorkerLike {
  postMessage(m: unknown): void;
  once(ev: 'message' | 'error', f: (v: unknown) => void): void;
  off(ev: 'message' | 'error', f: (v: unknown) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}

type WorkerCtor = new (src: string, o: { eval: true }) => WorkerLike;

/** Node's worker_threads and CPU count (Node ≥ 20.16 exposes process.getBuiltinModule); undefined elsewhere. */
function nodeThreads(): { Worker: WorkerCtor; cpus: number } | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    const wt = proc?.getBuiltinModule?.('node:worker_threads') as { Worker: WorkerCtor } | undefined;
    const os = proc?.getBuiltinModule?.('node:os') as
      { availableParallelism?: () => number; cpus: () => unknown[] } | undefined;
    if (!wt || !os) return undefined;
    return { Worker: wt.Worker, cpus: os.availableParallelism?.() ?? os.cpus().length };
  } catch {
    return undefined;
  }
}

const WORKER_SOURCE = () => `
const { parentPort } = process.getBuiltinModule('node:worker_threads');
${scoreRange.toString()}
parentPort.on('message', (m) => {
  const out = new Float64Array(m.out);
  const part = scoreRange(new Float64Array(m.unit), new Float64Array(m.alphas), new Float32Array(m.prot),
    new Float32Array(m.keys), new Uint8Array(m.masks), m.from, m.to, m.G, m.d);
  out.set(part, m.from);
  parentPort.postMessage(0);
});`;

/** Below this many records a search stays on the calling thread. */
const PARALLEL_MIN_RECORDS = 20000;

export class Gallery {
  readonly form: TemplateForm;
  readonly layout: string;
  readonly groups: number;
  readonly groupSize: number;
  readonly params: ProtectParams;
  /** JSON-safe data saved with the gallery (the CLI keeps the vector layout here). */
  extra: Record<string, unknown> = {};
  private ids: string[] = [];
  private idIndex = new Map<string, number>();
  private prot: Float32Array;
  private keys: Float32Array;
  private masks: Uint8Array;
  private n = 0;
  private readonly options: GalleryOptions;
  private session: Promise<Session> | undefined;
  private workers: WorkerLike[] = [];

  constructor(header: GalleryHeader, options: GalleryOptions = {}) {
    if (header === null || typeof header !== 'object') throw new InvalidArgumentError('header', header, 'an object');
    if (header.form !== 'grid' && header.form !== 'vector')
      throw new InvalidArgumentError('form', header.form, "'grid' or 'vector'");
    for (const k of ['groups', 'groupSize'] as const)
      if (!Number.isInteger(header[k]) || header[k] < 1)
        throw new InvalidArgumentError(k, header[k], 'a positive integer');
    this.form = header.form;
    this.layout = header.layout;
    this.groups = header.groups;
    this.groupSize = header.groupSize;
    this.params = resolveParams(header.params);
    const chunk = options.chunk ?? 8192;
    if (!Number.isInteger(chunk) || chunk < 1) throw new InvalidArgumentError('chunk', chunk, 'a positive integer');
    const threads = options.threads ?? Math.min(8, nodeThreads()?.cpus ?? 1);
    if (!Number.isInteger(threads) || threads < 1)
      throw new InvalidArgumentError('threads', threads, 'a positive integer');
    this.options = { ...options, chunk, threads };
    const cap = 16 * header.groups * header.groupSize;
    this.prot = allocate(Float32Array, cap);
    this.keys = allocate(Float32Array, cap);
    this.masks = allocate(Uint8Array, cap);
  }

  /** A gallery whose header is taken from a record. */
  static forRecord(record: ProtectedRecord, options: GalleryOptions = {}): Gallery {
    checkRecord('record', record);
    return new Gallery(record, options);
  }

  get size(): number {
    return this.n;
  }

  get header(): GalleryHeader {
    return {
      form: this.form,
      layout: this.layout,
      groups: this.groups,
      groupSize: this.groupSize,
      params: { ...this.params },
    };
  }

  /** Record ids, in insertion order. */
  get idList(): readonly string[] {
    return this.ids;
  }

  private reserve(records: number): void {
    const per = this.groups * this.groupSize;
    const need = records * per;
    if (need <= this.prot.length) return;
    let cap = this.prot.length;
    while (cap < need) cap *= 2;
    const grow = <T extends Float32Array | Uint8Array>(a: T): T => {
      const b = allocate(a.constructor as TypedCtor<T>, cap);
      b.set(a.subarray(0, this.n * per));
      return b;
    };
    this.prot = grow(this.prot);
    this.keys = grow(this.keys);
    this.masks = grow(this.masks);
  }

  /** Adds a record under a unique id. */
  add(id: string, record: ProtectedRecord): void {
    if (typeof id !== 'string' || id === '') throw new InvalidArgumentError('id', id, 'a non-empty string');
    if (this.idIndex.has(id)) throw new InvalidArgumentError('id', id, 'an id not already in the gallery');
    checkRecord('record', record);
    this.checkHeader(record);
    this.reserve(this.n + 1);
    const per = this.groups * this.groupSize;
    this.prot.set(record.protected, this.n * per);
    this.keys.set(record.key, this.n * per);
    this.masks.set(record.mask, this.n * per);
    this.ids.push(id);
    this.idIndex.set(id, this.n);
    this.n++;
  }

  /** Adds many records at once from raw float32 arrays ([n·G·d] each) — for bulk loading. */
  addRaw(ids: readonly string[], prot: Float32Array, keys: Float32Array, masks: Uint8Array): void {
    const per = this.groups * this.groupSize;
    const m = ids.length;
    if (prot.length !== m * per || keys.length !== m * per || masks.length !== m * per)
      throw new InvalidArgumentError(
        'prot/keys/masks',
        `${prot.length}/${keys.length}/${masks.length}`,
        `${m * per} each`,
      );
    for (const id of ids) {
      if (typeof id !== 'string' || id === '' || this.idIndex.has(id))
        throw new InvalidArgumentError('ids', id, 'unique non-empty strings not already in the gallery');
    }
    this.reserve(this.n + m);
    this.prot.set(prot, this.n * per);
    this.keys.set(keys, this.n * per);
    this.masks.set(masks, this.n * per);
    for (const id of ids) {
      this.idIndex.set(id, this.n);
      this.ids.push(id);
      this.n++;
    }
  }

  /** Removes a record (revocation). Returns false when the id is unknown. */
  remove(id: string): boolean {
    const i = this.idIndex.get(id);
    if (i === undefined) return false;
    const per = this.groups * this.groupSize;
    this.prot.copyWithin(i * per, (i + 1) * per, this.n * per);
    this.keys.copyWithin(i * per, (i + 1) * per, this.n * per);
    this.masks.copyWithin(i * per, (i + 1) * per, this.n * per);
    this.ids.splice(i, 1);
    this.n--;
    this.idIndex = new Map(this.ids.map((x, j) => [x, j]));
    return true;
  }

  /** The stored record at `index` (float32 values widened to float64). */
  record(index: number): ProtectedRecord {
    if (!Number.isInteger(index) || index < 0 || index >= this.n)
      throw new InvalidArgumentError('index', index, `an integer in [0, ${this.n})`);
    const per = this.groups * this.groupSize;
    const s = index * per;
    return {
      version: RECORD_VERSION,
      ...this.header,
      protected: Float64Array.from(this.prot.subarray(s, s + per)),
      key: Float64Array.from(this.keys.subarray(s, s + per)),
      mask: this.masks.slice(s, s + per),
    };
  }

  /** Raw float32 views of the stored arrays ([size·G·d]); for serialisation. */
  raw(): { protected: Float32Array; key: Float32Array; mask: Uint8Array } {
    const m = this.n * this.groups * this.groupSize;
    return { protected: this.prot.subarray(0, m), key: this.keys.subarray(0, m), mask: this.masks.subarray(0, m) };
  }

  private checkHeader(r: {
    form: TemplateForm;
    layout: string;
    groups: number;
    groupSize: number;
    params: ProtectParams;
  }): void {
    if (r.form !== this.form || r.layout !== this.layout || r.groups !== this.groups || r.groupSize !== this.groupSize)
      throw new InvalidArgumentError(
        'record',
        `${r.form} ${r.layout} ${r.groups}×${r.groupSize}`,
        `a record of this gallery's form and layout (${this.form} ${this.layout} ${this.groups}×${this.groupSize})`,
      );
    if (r.params.alpha !== this.params.alpha)
      throw new InvalidArgumentError('record.params.alpha', r.params.alpha, `${this.params.alpha} (the gallery's α)`);
  }

  private checkProbe(probe: Template): void {
    checkCompatible(
      {
        version: RECORD_VERSION,
        ...this.header,
        protected: new Float64Array(this.groups * this.groupSize),
        key: new Float64Array(this.groups * this.groupSize),
        mask: new Uint8Array(this.groups * this.groupSize),
      },
      probe,
    );
  }

  /** Scores of `probe` against every record (float64 [size]), in insertion order. */
  async scores(probe: Template, options: GallerySearchOptions = {}): Promise<Float64Array> {
    this.checkProbe(probe);
    const backend = options.backend ?? 'auto';
    if (!['auto', 'js', 'graph'].includes(backend))
      throw new InvalidArgumentError('backend', backend, "'auto', 'js' or 'graph'");
    const device = this.options.device ?? 'cpu';
    const useGraph = backend === 'graph' || (backend === 'auto' && device !== 'cpu' && device !== 'wasm' && this.n > 0);
    const { unit, alphas } = probeParts(probe, this.params.alpha);
    if (useGraph) return this.graphScores(unit, alphas);
    return this.loopScores(unit, alphas);
  }

  /** The `topK` best records for `probe`, best first. */
  async search(probe: Template, options: GallerySearchOptions = {}): Promise<GalleryMatch[]> {
    const k = options.topK ?? 5;
    if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError('topK', k, 'a positive integer');
    const s = await this.scores(probe, options);
    // one pass keeping the k best (sorted, best first; ties by index)
    const best: number[] = [];
    for (let i = 0; i < s.length; i++) {
      if (best.length === k && !(s[i] > s[best[k - 1]])) continue;
      let j = best.length < k ? best.length : k - 1;
      best[j] = i;
      while (j > 0 && s[best[j]] > s[best[j - 1]]) {
        [best[j], best[j - 1]] = [best[j - 1], best[j]];
        j--;
      }
    }
    return best.map((i) => ({ index: i, id: this.ids[i], score: s[i], distance: scoreToDistance(s[i]) }));
  }

  /** The device the op-graph backend runs on (after its first use). */
  async graphDevice(): Promise<string> {
    return (await this.graph()).device;
  }

  private graph(): Promise<Session> {
    if (!this.session) {
      this.session = createSession(buildMatchGraph(), {
        device: this.options.device ?? 'cpu',
        name: "op-graph 'slerpface-match'",
      });
      this.session.catch(() => (this.session = undefined));
    }
    return this.session;
  }

  private async graphScores(unit: Float64Array, alphas: Float64Array): Promise<Float64Array> {
    const sess = await this.graph();
    const G = this.groups;
    const d = this.groupSize;
    const per = G * d;
    const out = new Float64Array(this.n);
    const q = tensor(Float32Array.from(unit), [G, d]);
    const a = tensor(Float32Array.from(alphas), [G]);
    const chunk = this.options.chunk!;
    for (let s = 0; s < this.n; s += chunk) {
      const e = Math.min(this.n, s + chunk);
      const m = e - s;
      // ONNX Runtime does not accept views of a SharedArrayBuffer: such chunks are copied (slice) first
      const view = <T extends Float32Array | Uint8Array>(x: T): T =>
        (x.buffer instanceof ArrayBuffer ? x.subarray(s * per, e * per) : x.slice(s * per, e * per)) as T;
      const feeds: Record<string, Tensor> = {
        q,
        a,
        k: tensor(view(this.keys), [m, G, d]),
        p: tensor(view(this.prot), [m, G, d]),
        m: tensor(view(this.masks), [m, G, d]),
      };
      const res = await sess.run(feeds);
      const y = res.score.data as Float32Array;
      for (let i = 0; i < m; i++) out[s + i] = Math.min(1, Math.max(-1, y[i]));
    }
    return out;
  }

  /** The typed-array backend, split over worker threads for large galleries (shared memory, no copies). */
  private async loopScores(unit: Float64Array, alphas: Float64Array): Promise<Float64Array> {
    const G = this.groups;
    const d = this.groupSize;
    const threads = this.options.threads!;
    const nt = nodeThreads();
    const sharedOk = this.prot.buffer instanceof (globalThis.SharedArrayBuffer ?? Object);
    if (threads <= 1 || this.n < PARALLEL_MIN_RECORDS || !nt || !sharedOk)
      return scoreRange(unit, alphas, this.prot, this.keys, this.masks, 0, this.n, G, d);
    const parts = Math.min(threads, Math.ceil(this.n / 1000));
    const outBuf = new SharedArrayBuffer(8 * this.n);
    const out = new Float64Array(outBuf);
    try {
      while (this.workers.length < parts - 1) {
        const w = new nt.Worker(WORKER_SOURCE(), { eval: true });
        w.unref();
        this.workers.push(w);
      }
      const jobs: Promise<unknown>[] = [];
      for (let k = 0; k < parts; k++) {
        const from = Math.floor((k * this.n) / parts);
        const to = Math.floor(((k + 1) * this.n) / parts);
        if (k === parts - 1) {
          // the calling thread takes the last slice
          out.set(scoreRange(unit, alphas, this.prot, this.keys, this.masks, from, to, G, d), from);
          continue;
        }
        const w = this.workers[k];
        jobs.push(
          new Promise((resolve, reject) => {
            const onMessage = (v: unknown) => {
              w.off('error', onError);
              resolve(v);
            };
            const onError = (e: unknown) => {
              w.off('message', onMessage);
              reject(e);
            };
            w.once('message', onMessage);
            w.once('error', onError);
            w.postMessage({
              unit: unit.buffer,
              alphas: alphas.buffer,
              prot: this.prot.buffer,
              keys: this.keys.buffer,
              masks: this.masks.buffer,
              out: outBuf,
              from,
              to,
              G,
              d,
            });
          }),
        );
      }
      await Promise.all(jobs);
      return Float64Array.from(out);
    } catch {
      // a worker could not start or run (restricted environment): score everything here instead
      await this.stopWorkers();
      return scoreRange(unit, alphas, this.prot, this.keys, this.masks, 0, this.n, G, d);
    }
  }

  private async stopWorkers(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await this.stopWorkers();
    if (s) await (await s).dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/** The probe's unit groups and rotation fractions α − m^q_i. */
export function probeParts(probe: Template, alpha: number): { unit: Float64Array; alphas: Float64Array } {
  const G = probe.groups;
  const d = probe.groupSize;
  const unit = new Float64Array(G * d);
  const alphas = new Float64Array(G);
  for (let i = 0; i < G; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += probe.values[i * d + j] ** 2;
    const n = Math.sqrt(s);
    // a zero group stays zero: the scoring then rotates it onto the key, as rotateGroup does
    if (n > 0) for (let j = 0; j < d; j++) unit[i * d + j] = probe.values[i * d + j] / n;
    alphas[i] = alpha - probe.weights[i];
  }
  return { unit, alphas };
}

/**
 * Scores records [from, to) of float32 SoA arrays against a probe (unit groups + fractions): the six-dot form in the
 * module comment, float64 accumulation. Self-contained: its source also runs in worker threads.
 */
export function scoreRange(
  unit: Float64Array,
  alphas: Float64Array,
  prot: Float32Array,
  keys: Float32Array,
  masks: Uint8Array,
  from: number,
  to: number,
  G: number,
  d: number,
): Float64Array {
  const out = new Float64Array(to - from);
  const per = G * d;
  for (let r = from; r < to; r++) {
    let score = 0;
    const base = r * per;
    for (let i = 0; i < G; i++) {
      const o = base + i * d;
      const u = i * d;
      let tk = 0;
      let tp = 0;
      let kp = 0;
      let mtt = 0;
      let mtk = 0;
      let mkk = 0;
      let kk = 0;
      for (let j = 0; j < d; j++) {
        const t = unit[u + j];
        const k = keys[o + j];
        const p = prot[o + j];
        tk += t * k;
        tp += t * p;
        kp += k * p;
        kk += k * k;
        if (masks[o + j]) {
          mtt += t * t;
          mtk += t * k;
          mkk += k * k;
        }
      }
      // float32 keys are unit only to ~1e-7: use the stored key's own norm
      const nk = Math.sqrt(kk);
      const c = tk / nk;
      const s2 = 1 - c * c;
      const s = s2 > 0 ? Math.sqrt(s2) : 0;
      let x: number;
      let y: number;
      if (s <= 1e-7) {
        // θ ≈ 0: the rotated probe is t̂ (θ ≈ π, measure zero with random keys, is treated the same way)
        x = 1;
        y = 0;
      } else {
        const th = Math.atan2(s, c);
        y = Math.sin(alphas[i] * th) / s / nk;
        x = Math.cos(alphas[i] * th) - y * tk;
      }
      const num = x * tp + y * kp;
      const den2 = x * x * mtt + 2 * x * y * mtk + y * y * mkk;
      if (den2 > 1e-24) score += num / Math.sqrt(den2);
    }
    out[r - from] = score > 1 ? 1 : score < -1 ? -1 : score;
  }
  return out;
}

/**
 * The match op-graph: q [G,d] unit probe groups, a [G] fractions, k/p [n,G,d] float32 keys and protected values,
 * m [n,G,d] uint8 masks → score [n]. The same six-dot form as `scoreRange`.
 */
export function buildMatchGraph(): Uint8Array {
  const g = new GraphBuilder('slerpface-match');
  const q = g.input('q', 'float32', ['G', 'd']);
  const a = g.input('a', 'float32', ['G']);
  const k = g.input('k', 'float32', ['n', 'G', 'd']);
  const p = g.input('p', 'float32', ['n', 'G', 'd']);
  const m = g.input('m', 'uint8', ['n', 'G', 'd']);
  const c = (v: number) => g.constant(tensor(new Float32Array([v]), []));
  const ax2 = g.constant(tensor(BigInt64Array.from([2n]), [1]));
  const ax1 = g.constant(tensor(BigInt64Array.from([1n]), [1]));
  const mul = (x: string, y: string) => g.op('Mul', [x, y])[0];
  const sum2 = (x: string) => g.op('ReduceSum', [x, ax2], { keepdims: attr.i(0) })[0];
  const [mf] = g.op('Cast', [m], { to: attr.i(1) });
  const kk = sum2(mul(k, k));
  const [nk] = g.op('Sqrt', [kk]);
  const tk = sum2(mul(k, q));
  const tp = sum2(mul(p, q));
  const kp = sum2(mul(k, p));
  const mq = mul(mf, q);
  const mtt = sum2(mul(mq, q));
  const mtk = sum2(mul(mq, k));
  const mkk = sum2(mul(mul(mf, k), k));
  const [cos] = g.op('Div', [tk, nk]);
  const [c2] = g.op('Mul', [cos, cos]);
  const [s2] = g.op('Sub', [c(1), c2]);
  const [s] = g.op('Sqrt', [g.op('Max', [s2, c(0)])[0]]);
  const [theta] = g.op('Acos', [g.op('Clip', [cos, c(-1), c(1)])[0]]);
  const [at] = g.op('Mul', [theta, a]);
  const [sden] = g.op('Mul', [g.op('Max', [s, c(1e-7)])[0], nk]);
  const [y] = g.op('Div', [g.op('Sin', [at])[0], sden]);
  const [x] = g.op('Sub', [g.op('Cos', [at])[0], mul(y, tk)]);
  const [num] = g.op('Add', [mul(x, tp), mul(y, kp)]);
  const [d2a] = g.op('Mul', [mul(x, x), mtt]);
  const [d2b] = g.op('Mul', [mul(c(2), mul(x, y)), mtk]);
  const [d2c] = g.op('Mul', [mul(y, y), mkk]);
  const [den2] = g.op('Add', [g.op('Add', [d2a, d2b])[0], d2c]);
  const [den] = g.op('Sqrt', [g.op('Max', [den2, c(1e-24)])[0]]);
  const [cosg] = g.op('Div', [num, den]);
  const [score] = g.op('ReduceSum', [cosg, ax1], { keepdims: attr.i(0) }, ['score']);
  g.output(score, 'float32', ['n']);
  return g.toBytes({ opset: 17 });
}
