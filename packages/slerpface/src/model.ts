/**
 * Images → templates. Two forms:
 *
 * - vector (default): detect → align → faceres 1024-d embedding (core-tensor's FacePipeline, models from
 *   `npm run models`) → a GroupLayout gathers it into groups with weights.
 * - grid: an ONNX model with the SlerpFace grid contract (see GRID_CONTRACT; `models/python/slerpface_export.py`
 *   exports the official IR-50 checkpoint to it) on a 112×112 aligned crop → 49 × 16 template + 49 weights.
 */
import {
  DisposedError,
  FacePipeline,
  InvalidArgumentError,
  ShapeError,
  checkImage,
  convertChannels,
  createSession,
  resizeImage,
  tensor,
  type AlignmentMode,
  type Device,
  type FaceDetection,
  type FacePipelineOptions,
  type Image,
  type Session,
} from '@trustvision/core-tensor';
import { contiguousLayout, templateFromEmbedding, type GroupLayout } from './layout.js';
import {
  createTemplate,
  matchScore,
  protect,
  scoreToDistance,
  type ProtectOptions,
  type ProtectParams,
  type ProtectedRecord,
  type Template,
} from './protect.js';

/** The grid model contract (inputs/outputs by name). */
export const GRID_CONTRACT = Object.freeze({
  input: 'image', // float32 [N,3,112,112], RGB, (x/255 − 0.5)/0.5
  size: 112,
  grid: 'grid', // float32 [N,16,7,7]: group_cov(x) + group_cov(flipW(x)) (the official flip TTA, not un-flipped)
  weights: 'weights', // float32 [N,49]: softmax over the 7×7 cells, row-major (h·7 + w)
});

/** Runs a grid-contract ONNX model. */
export class GridModel {
  private session: Session | undefined;
  readonly groups: number;
  readonly groupSize: number;

  private constructor(session: Session, groups: number, groupSize: number) {
    this.session = session;
    this.groups = groups;
    this.groupSize = groupSize;
  }

  /** Opens a model from a path or bytes and checks its inputs/outputs against GRID_CONTRACT. */
  static async create(model: string | Uint8Array, options: { device?: Device } = {}): Promise<GridModel> {
    const session = await createSession(model, { device: options.device ?? 'auto', name: 'slerpface grid model' });
    try {
      const inp = session.inputs.find((i) => i.name === GRID_CONTRACT.input);
      if (!inp)
        throw new InvalidArgumentError(
          'model',
          session.inputs.map((i) => i.name),
          `an input named '${GRID_CONTRACT.input}'`,
        );
      const names = session.outputs.map((o) => o.name);
      for (const n of [GRID_CONTRACT.grid, GRID_CONTRACT.weights])
        if (!names.includes(n))
          throw new InvalidArgumentError(
            'model',
            names,
            `outputs '${GRID_CONTRACT.grid}' and '${GRID_CONTRACT.weights}'`,
          );
      const g = session.outputs.find((o) => o.name === GRID_CONTRACT.grid)!.shape;
      const d = typeof g?.[1] === 'number' ? g[1] : 16;
      const cells = typeof g?.[2] === 'number' && typeof g?.[3] === 'number' ? g[2] * g[3] : 49;
      return new GridModel(session, cells, d);
    } catch (e) {
      await session.dispose();
      throw e;
    }
  }

  get device(): string {
    return this.live().device;
  }

  private live(): Session {
    if (!this.session) throw new DisposedError('GridModel');
    return this.session;
  }

  /** Templates of aligned face crops (any size; resized to 112×112). */
  async templates(crops: readonly Image[]): Promise<Template[]> {
    const s = this.live();
    if (!Array.isArray(crops) || crops.length === 0)
      throw new InvalidArgumentError('crops', crops, 'a non-empty array of images');
    const S = GRID_CONTRACT.size;
    const n = crops.length;
    const data = new Float32Array(n * 3 * S * S);
    crops.forEach((c, b) => {
      let img = checkImage(c, `crops[${b}]`);
      if (img.channels !== 3) img = convertChannels(img, 3);
      if (img.width !== S || img.height !== S) img = resizeImage(img, S, S);
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++)
          for (let ch = 0; ch < 3; ch++)
            data[((b * 3 + ch) * S + y) * S + x] = (img.data[(y * S + x) * 3 + ch] / 255 - 0.5) / 0.5;
    });
    const out = await s.run({ [GRID_CONTRACT.input]: tensor(data, [n, 3, S, S]) });
    const grid = out[GRID_CONTRACT.grid];
    const w = out[GRID_CONTRACT.weights];
    const G = this.groups;
    const d = this.groupSize;
    if (
      !grid ||
      grid.shape.length !== 4 ||
      grid.shape[0] !== n ||
      grid.shape[1] * grid.shape[2] * grid.shape[3] !== G * d
    )
      throw new ShapeError(`output '${GRID_CONTRACT.grid}'`, grid?.shape, `[${n}, ${d}, h, w] with h·w = ${G}`);
    if (!w || w.data.length !== n * G)
      throw new ShapeError(`output '${GRID_CONTRACT.weights}'`, w?.shape, `[${n}, ${G}]`);
    const gd = grid.data as Float32Array;
    const wd = w.data as Float32Array;
    const res: Template[] = [];
    for (let b = 0; b < n; b++) {
      // [d, h, w] → [(h·W + w), d]: each cell is a group, its channels the group's dimensions
      const v = new Float64Array(G * d);
      for (let c = 0; c < d; c++) for (let i = 0; i < G; i++) v[i * d + c] = gd[(b * d + c) * G + i];
      res.push(
        createTemplate(v, wd.subarray(b * G, (b + 1) * G), {
          groups: G,
          groupSize: d,
          form: 'grid',
          layout: `grid-${G}x${d}`,
        }),
      );
    }
    return res;
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await s.dispose();
  }
}

export interface SlerpFaceLoadOptions {
  device?: Device;
  /** 'vector' (default; faceres + a GroupLayout) or 'grid' (needs `gridModel`). */
  form?: 'vector' | 'grid';
  /** Vector form: how the embedding is grouped and weighted (default: contiguous groups of 16, uniform weights). */
  layout?: GroupLayout;
  /** Grid form: an ONNX model (path or bytes) with GRID_CONTRACT. */
  gridModel?: string | Uint8Array;
  /** Face detector and embedder names or paths (defaults 'blazeface', 'faceres'). */
  detector?: string;
  embedder?: string;
  alignment?: AlignmentMode;
  /**
   * Face detection settings passed to core-tensor's FacePipeline (tiles, thresholds, NMS). The default looks at the
   * whole image once, which suits portraits; group photos with small faces need tiles, e.g.
   * `{ tiles: [{ size: 128, overlap: 0.5 }, { size: 200, overlap: 0.5 }] }`.
   */
  detectorOptions?: FacePipelineOptions['detectorOptions'];
  /** Protection parameters used by `protect` (defaults: α 0.9, ρ 0.5, b 8, with-replacement dropout). */
  params?: Partial<ProtectParams>;
  /** Extra folders searched for models given by name. */
  dirs?: string[];
}

export interface FaceTemplate {
  face: FaceDetection;
  crop: Image;
  template: Template;
}

/**
 * The image-level API: `SlerpFace.load()` opens the face pipeline (and the grid model for the grid form);
 * `template(image)` gives the template of the most confident face; `protect`/`match` apply the algorithm.
 */
export class SlerpFace {
  readonly form: 'vector' | 'grid';
  readonly layout: GroupLayout | undefined;
  readonly params: Partial<ProtectParams>;
  private pipeline: FacePipeline | undefined;
  private readonly grid: GridModel | undefined;

  private constructor(
    pipeline: FacePipeline,
    grid: GridModel | undefined,
    layout: GroupLayout | undefined,
    params: Partial<ProtectParams>,
  ) {
    this.pipeline = pipeline;
    this.grid = grid;
    this.layout = layout;
    this.form = grid ? 'grid' : 'vector';
    this.params = params;
  }

  static async load(options: SlerpFaceLoadOptions = {}): Promise<SlerpFace> {
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError('options', options, 'an object');
    const form = options.form ?? 'vector';
    if (form !== 'vector' && form !== 'grid') throw new InvalidArgumentError('form', form, "'vector' or 'grid'");
    if (form === 'grid' && options.gridModel === undefined)
      throw new InvalidArgumentError(
        'gridModel',
        undefined,
        'an ONNX model path or bytes for the grid form',
        'Export one with models/python/slerpface_export.py',
      );
    const pipeline = await FacePipeline.create({
      device: options.device,
      detector: options.detector ?? 'blazeface',
      embedder: options.embedder ?? 'faceres',
      alignment: options.alignment ?? 'similarity',
      detectorOptions: options.detectorOptions,
      dirs: options.dirs,
    });
    let grid: GridModel | undefined;
    try {
      if (form === 'grid') grid = await GridModel.create(options.gridModel!, { device: options.device });
    } catch (e) {
      await pipeline.dispose();
      throw e;
    }
    const layout = form === 'vector' ? options.layout : undefined;
    return new SlerpFace(pipeline, grid, layout, options.params ?? {});
  }

  private live(): FacePipeline {
    if (!this.pipeline) throw new DisposedError('SlerpFace');
    return this.pipeline;
  }

  /** Every face in the image with its template, most confident first. */
  async faces(image: Image): Promise<FaceTemplate[]> {
    const p = this.live();
    if (this.grid) {
      const faces = await p.detect(image);
      if (faces.length === 0) return [];
      const crops = faces.map((f) => p.align(image, f, GRID_CONTRACT.size));
      const t = await this.grid.templates(crops);
      return faces.map((f, i) => ({ face: f, crop: crops[i], template: t[i] }));
    }
    const faces = await p.process(image);
    return faces.map((f) => {
      const layout = this.layoutFor(f.embedding.length);
      return { face: f, crop: f.crop, template: templateFromEmbedding(f.embedding, layout) };
    });
  }

  private defaultLayout: GroupLayout | undefined;
  private layoutFor(dim: number): GroupLayout {
    if (this.layout) return this.layout;
    if (!this.defaultLayout || this.defaultLayout.dim !== dim) this.defaultLayout = contiguousLayout(dim, 16);
    return this.defaultLayout;
  }

  /** The template of the most confident face; throws when the image has none. */
  async template(image: Image): Promise<Template> {
    const f = await this.faces(image);
    if (f.length === 0)
      throw new InvalidArgumentError(
        'image',
        `${image.width}×${image.height} image`,
        'an image with a detectable face',
      );
    return f[0].template;
  }

  /** Templates of already aligned / cropped faces (skips detection). */
  async templatesOfCrops(crops: readonly Image[]): Promise<Template[]> {
    const p = this.live();
    if (this.grid) return this.grid.templates(crops);
    const e = await p.embed(crops);
    const D = e.shape[1];
    const layout = this.layoutFor(D);
    return crops.map((_, i) => templateFromEmbedding((e.data as Float32Array).subarray(i * D, (i + 1) * D), layout));
  }

  protect(template: Template, options: ProtectOptions = {}): ProtectedRecord {
    return protect(template, { ...this.params, ...options });
  }

  match(record: ProtectedRecord, probe: Template): { score: number; distance: number } {
    const score = matchScore(record, probe);
    return { score, distance: scoreToDistance(score) };
  }

  async dispose(): Promise<void> {
    const p = this.pipeline;
    this.pipeline = undefined;
    if (p) await p.dispose();
    if (this.grid) await this.grid.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
