/**
 * Tiny synthetic scenes for the `discover` tests: S×S images whose four quadrants (top-left, top-right, bottom-left,
 * bottom-right) are flat colours that encode the class (classes 0–3 base, class 4 novel), and a feature model that
 * returns the global average colour of a crop.
 */
import { GraphBuilder, attr } from '@trustvision/core-tensor';

export const QUADRANT_COLOURS = [
  [230, 30, 30],
  [30, 200, 40],
  [40, 50, 220],
  [220, 210, 30],
  [200, 40, 210], // class 4: novel
];

/** pixels [B, 3, h, w] → GlobalAveragePool → Flatten → features [B, 3] */
export function avgColourModel(): Uint8Array {
  const g = new GraphBuilder('avg-colour');
  const x = g.input('pixels', 'float32', ['batch', 3, 'h', 'w']);
  const [pool] = g.op('GlobalAveragePool', [x]);
  const [flat] = g.op('Flatten', [pool], { axis: attr.i(1) });
  g.output(flat, 'float32', ['batch', 3], 'features');
  return g.toBytes();
}

/**
 * An S×S image whose quadrants have the given classes, and its label map. `textured` adds a small deterministic
 * pattern (−4..4) so that pixel colours vary inside a quadrant.
 */
export function quadrantScene(S: number, classes: number[], textured = false): { rgb: Uint8Array; gt: Uint8Array } {
  const rgb = new Uint8Array(S * S * 3);
  const gt = new Uint8Array(S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const c = classes[(y < S / 2 ? 0 : 2) + (x < S / 2 ? 0 : 1)];
      gt[y * S + x] = c;
      const colour = QUADRANT_COLOURS[c];
      rgb.set(textured ? colour.map((v) => v + ((x * 7 + y * 3) % 9) - 4) : colour, (y * S + x) * 3);
    }
  return { rgb, gt };
}
