/**
 * Reliability diagrams as standalone SVG strings (no DOM, no browser): the classic per-bin accuracy-versus-confidence
 * bars, and the proximity-stratified diagram (one reliability curve per proximity group), which shows the proximity
 * bias that a single diagram averages away.
 */
import { InvalidArgumentError } from '@trustvision/core-tensor';
import { quantileEdges, binIndex } from './binning.js';
import { reliabilityBins } from './metrics.js';
import { checkInt, toVector64 } from './validate.js';

export interface DiagramData {
  /** Confidence of each prediction, in [0, 1]. */
  confidence: ArrayLike<number>;
  /** Whether each prediction is right (true/false or 1/0). */
  correct: ArrayLike<number | boolean>;
}

export interface DiagramOptions {
  title?: string;
  /** Equal-width confidence bins (default 15). */
  bins?: number;
  width?: number;
  height?: number;
}

const FONT = 'font-family="Helvetica,Arial,sans-serif"';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function f(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** Confidences clamped to [0, 1] (MIR's outputs may exceed 1 by 1e-9), for drawing only. */
function unitConfidence(c: ArrayLike<number>): Float64Array {
  const v = toVector64('confidence', c);
  for (let i = 0; i < v.length; i++) v[i] = Math.min(Math.max(v[i], 0), 1);
  return v;
}

function correctness(c: ArrayLike<number | boolean>, n: number): Uint8Array {
  if (!c || c.length !== n) throw new InvalidArgumentError('correct', c, `${n} values (true/false or 1/0)`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = c[i];
    if (v === true || v === 1) out[i] = 1;
    else if (v !== false && v !== 0) throw new InvalidArgumentError(`correct[${i}]`, v, 'true, false, 1 or 0');
  }
  return out;
}

interface Frame {
  x: number;
  y: number;
  w: number;
  h: number;
}

function axes(fr: Frame, title: string, xLabel = 'confidence', yLabel = 'accuracy'): string {
  const { x, y, w, h } = fr;
  const parts: string[] = [];
  parts.push(`<rect x="${f(x)}" y="${f(y)}" width="${f(w)}" height="${f(h)}" fill="#fff" stroke="#333"/>`);
  for (let t = 0; t <= 5; t++) {
    const v = t / 5;
    const px = x + v * w;
    const py = y + h - v * h;
    parts.push(`<line x1="${f(px)}" y1="${f(y + h)}" x2="${f(px)}" y2="${f(y + h + 4)}" stroke="#333"/>`);
    parts.push(
      `<text x="${f(px)}" y="${f(y + h + 16)}" font-size="10" text-anchor="middle" ${FONT}>${v.toFixed(1)}</text>`,
    );
    parts.push(`<line x1="${f(x - 4)}" y1="${f(py)}" x2="${f(x)}" y2="${f(py)}" stroke="#333"/>`);
    parts.push(
      `<text x="${f(x - 6)}" y="${f(py + 3)}" font-size="10" text-anchor="end" ${FONT}>${v.toFixed(1)}</text>`,
    );
    if (t > 0 && t < 5) {
      parts.push(`<line x1="${f(px)}" y1="${f(y)}" x2="${f(px)}" y2="${f(y + h)}" stroke="#eee"/>`);
      parts.push(`<line x1="${f(x)}" y1="${f(py)}" x2="${f(x + w)}" y2="${f(py)}" stroke="#eee"/>`);
    }
  }
  parts.push(
    `<line x1="${f(x)}" y1="${f(y + h)}" x2="${f(x + w)}" y2="${f(y)}" stroke="#888" stroke-dasharray="4 3"/>`,
  );
  parts.push(
    `<text x="${f(x + w / 2)}" y="${f(y + h + 32)}" font-size="11" text-anchor="middle" ${FONT}>${esc(xLabel)}</text>`,
  );
  parts.push(
    `<text x="${f(x - 34)}" y="${f(y + h / 2)}" font-size="11" text-anchor="middle" transform="rotate(-90 ${f(x - 34)} ${f(y + h / 2)})" ${FONT}>${esc(yLabel)}</text>`,
  );
  parts.push(
    `<text x="${f(x + w / 2)}" y="${f(y - 8)}" font-size="12" font-weight="bold" text-anchor="middle" ${FONT}>${esc(title)}</text>`,
  );
  return parts.join('');
}

/** The body of a reliability panel inside `fr`. */
function reliabilityPanel(data: DiagramData, fr: Frame, title: string, bins: number): string {
  const conf = unitConfidence(data.confidence);
  const ok = correctness(data.correct, conf.length);
  const r = reliabilityBins(conf, ok, { bins });
  let ece = 0;
  for (let b = 0; b < bins; b++)
    if (r.count[b] > 0) ece += (r.count[b] / r.total) * Math.abs(r.accuracy[b] - r.meanConfidence[b]);
  const parts: string[] = [axes(fr, `${title} (ECE ${(100 * ece).toFixed(2)}×10⁻²)`)];
  const { x, y, w, h } = fr;
  const bw = w / bins;
  let maxCount = 0;
  for (let b = 0; b < bins; b++) maxCount = Math.max(maxCount, r.count[b]);
  for (let b = 0; b < bins; b++) {
    if (r.count[b] === 0) continue;
    const acc = r.accuracy[b];
    const mc = r.meanConfidence[b];
    const bx = x + b * bw;
    parts.push(
      `<rect x="${f(bx + 1)}" y="${f(y + h - acc * h)}" width="${f(bw - 2)}" height="${f(acc * h)}" fill="#3b6fb6" fill-opacity="0.85"><title>bin ${b}: n=${r.count[b]}, acc=${acc.toFixed(4)}, conf=${mc.toFixed(4)}</title></rect>`,
    );
    const top = Math.max(acc, mc);
    const gap = Math.abs(acc - mc);
    parts.push(
      `<rect x="${f(bx + 1)}" y="${f(y + h - top * h)}" width="${f(bw - 2)}" height="${f(gap * h)}" fill="#d9534f" fill-opacity="0.45" stroke="#d9534f" stroke-width="0.5"/>`,
    );
    // sample-count strip along the bottom
    const ch = (r.count[b] / maxCount) * h * 0.15;
    parts.push(
      `<rect x="${f(bx + 1)}" y="${f(y + h - ch)}" width="${f(bw - 2)}" height="${f(ch)}" fill="#555" fill-opacity="0.35"/>`,
    );
  }
  parts.push(
    `<g font-size="10" ${FONT}><rect x="${f(x + 8)}" y="${f(y + 8)}" width="10" height="10" fill="#3b6fb6"/><text x="${f(x + 22)}" y="${f(y + 17)}">accuracy</text>` +
      `<rect x="${f(x + 8)}" y="${f(y + 22)}" width="10" height="10" fill="#d9534f" fill-opacity="0.45"/><text x="${f(x + 22)}" y="${f(y + 31)}">gap to confidence</text>` +
      `<rect x="${f(x + 8)}" y="${f(y + 36)}" width="10" height="10" fill="#555" fill-opacity="0.35"/><text x="${f(x + 22)}" y="${f(y + 45)}">samples</text></g>`,
  );
  return parts.join('');
}

const PALETTE = [
  '#d73027',
  '#fc8d59',
  '#e6a817',
  '#91bfdb',
  '#4575b4',
  '#313695',
  '#762a83',
  '#1b7837',
  '#8c510a',
  '#01665e',
];

/** The body of a proximity-stratified panel: one reliability curve per equal-mass proximity group. */
function stratifiedPanel(
  data: DiagramData & { proximity: ArrayLike<number> },
  fr: Frame,
  title: string,
  bins: number,
  groups: number,
  curvePoints = 8,
): string {
  const conf = unitConfidence(data.confidence);
  const ok = correctness(data.correct, conf.length);
  const prox = toVector64('proximity', data.proximity, conf.length);
  const edges = quantileEdges(prox, groups);
  const ng = edges.length - 1;
  const parts: string[] = [axes(fr, title)];
  const { x, y, w, h } = fr;
  const members: number[][] = Array.from({ length: ng }, () => []);
  for (let i = 0; i < conf.length; i++) members[binIndex(edges, prox[i])].push(i);
  const legend: string[] = [];
  members.forEach((idx, g) => {
    if (idx.length === 0) return;
    const c = Float64Array.from(idx, (i) => conf[i]);
    const o = Uint8Array.from(idx, (i) => ok[i]);
    // the group's ECE over the usual equal-width bins
    const r = reliabilityBins(c, o, { bins });
    let ece = 0;
    for (let b = 0; b < bins; b++)
      if (r.count[b] > 0) ece += (r.count[b] / r.total) * Math.abs(r.accuracy[b] - r.meanConfidence[b]);
    // the curve over equal-mass confidence bins (smoother than sparse equal-width bins)
    const edges = quantileEdges(c, Math.max(1, Math.min(curvePoints, Math.floor(idx.length / 5))));
    const nb = edges.length - 1;
    const sc = new Float64Array(nb);
    const sa = new Float64Array(nb);
    const n = new Float64Array(nb);
    for (let t = 0; t < c.length; t++) {
      const b = binIndex(edges, c[t]);
      sc[b] += c[t];
      sa[b] += o[t];
      n[b]++;
    }
    const colour = PALETTE[Math.round((g * (PALETTE.length - 1)) / Math.max(ng - 1, 1))] ?? '#333';
    const pts: string[] = [];
    for (let b = 0; b < nb; b++)
      if (n[b] > 0) pts.push(`${f(x + (sc[b] / n[b]) * w)},${f(y + h - (sa[b] / n[b]) * h)}`);
    parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${colour}" stroke-width="1.8"/>`);
    for (const pnt of pts) {
      const [px, py] = pnt.split(',');
      parts.push(`<circle cx="${px}" cy="${py}" r="2.2" fill="${colour}"/>`);
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const i of idx) {
      lo = Math.min(lo, prox[i]);
      hi = Math.max(hi, prox[i]);
    }
    const ly = y + 14 + legend.length * 13;
    legend.push(
      `<line x1="${f(x + 10)}" y1="${f(ly - 3)}" x2="${f(x + 24)}" y2="${f(ly - 3)}" stroke="${colour}" stroke-width="2"/>` +
        `<text x="${f(x + 28)}" y="${f(ly)}">proximity ${lo.toFixed(3)}–${hi.toFixed(3)} (n=${idx.length}, ECE ${(100 * ece).toFixed(2)})</text>`,
    );
  });
  parts.push(
    `<g font-size="9" ${FONT}><rect x="${f(x + 4)}" y="${f(y + 4)}" width="${f(Math.min(w - 8, 230))}" height="${f(legend.length * 13 + 6)}" fill="#fff" fill-opacity="0.85" stroke="#ccc"/>${legend.join('')}</g>`,
  );
  return parts.join('');
}

function svg(width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<rect width="100%" height="100%" fill="#fff"/>${body}</svg>\n`
  );
}

/** A reliability diagram: accuracy per equal-width confidence bin, its gap to the bin's mean confidence, counts. */
export function reliabilityDiagramSvg(data: DiagramData, options: DiagramOptions = {}): string {
  const bins = checkInt('bins', options.bins ?? 15, 1);
  const width = options.width ?? 420;
  const height = options.height ?? 420;
  return svg(
    width,
    height,
    reliabilityPanel(data, { x: 56, y: 30, w: width - 76, h: height - 80 }, options.title ?? 'Reliability', bins),
  );
}

/** A proximity-stratified reliability diagram: one curve per equal-mass proximity group (default 5). */
export function proximityDiagramSvg(
  data: DiagramData & { proximity: ArrayLike<number> },
  options: DiagramOptions & { groups?: number } = {},
): string {
  const bins = checkInt('bins', options.bins ?? 15, 1);
  const groups = checkInt('groups', options.groups ?? 5, 1);
  const width = options.width ?? 420;
  const height = options.height ?? 420;
  return svg(
    width,
    height,
    stratifiedPanel(
      data,
      { x: 56, y: 30, w: width - 76, h: height - 80 },
      options.title ?? 'Reliability by proximity',
      bins,
      groups,
    ),
  );
}

/**
 * A 2 × 2 figure comparing two predictions (e.g. the base calibrator and its ProCal-calibrated output): reliability
 * diagrams on top, proximity-stratified diagrams below.
 */
export function comparisonFigureSvg(
  panels: {
    title: string;
    confidence: ArrayLike<number>;
    correct: ArrayLike<number | boolean>;
    proximity: ArrayLike<number>;
  }[],
  options: { bins?: number; groups?: number; panelSize?: number } = {},
): string {
  if (!Array.isArray(panels) || panels.length === 0)
    throw new InvalidArgumentError('panels', panels, 'at least one { title, confidence, correct, proximity }');
  const bins = checkInt('bins', options.bins ?? 15, 1);
  const groups = checkInt('groups', options.groups ?? 5, 1);
  const size = options.panelSize ?? 400;
  const body: string[] = [];
  panels.forEach((p, i) => {
    const x0 = i * size;
    body.push(reliabilityPanel(p, { x: x0 + 56, y: 30, w: size - 76, h: size - 80 }, p.title, bins));
    body.push(
      stratifiedPanel(
        p,
        { x: x0 + 56, y: size + 30, w: size - 76, h: size - 80 },
        `${p.title}: by proximity`,
        bins,
        groups,
      ),
    );
  });
  return svg(size * panels.length, size * 2, body.join(''));
}
