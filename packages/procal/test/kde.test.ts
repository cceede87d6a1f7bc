import { describe, expect, test } from '@jest/globals';
import { Rng } from '@trustvision/core-tensor';
import { DensityRatioCalibrator, ProductGaussianKde2D, fastExpNeg, normalReferenceBandwidth } from '../src/index.js';

describe('KDE kernel sums', () => {
  test('the table-driven exp(−t) is within 1e-14 of Math.exp over [0, 700]', () => {
    const rng = Rng.from('exp');
    let worst = 0;
    for (let i = 0; i < 200000; i++) {
      const t = i < 1000 ? i * 0.7 : rng.uniform() * 700;
      worst = Math.max(worst, Math.abs(fastExpNeg(t) - Math.exp(-t)) / Math.exp(-t));
    }
    expect(worst).toBeLessThan(1e-14);
    expect(fastExpNeg(0)).toBe(1);
    expect(fastExpNeg(1e6)).toBeLessThan(1e-300);
  });

  test('direct sums agree with a Math.exp reference to 1e-13, also far from the data', () => {
    const rng = Rng.from('kde');
    const x = rng.uniformArray(500, 0.5, 1);
    const y = rng.uniformArray(500, 0, 1);
    const kde = new ProductGaussianKde2D(x, y, [normalReferenceBandwidth(x), normalReferenceBandwidth(y)]);
    const qx = Float64Array.of(...rng.uniformArray(50, 0, 1.2), 3, -2);
    const qy = Float64Array.of(...rng.uniformArray(50, -0.2, 1.2), 0.5, 0.5);
    const f = kde.pdf(qx, qy);
    const [hx, hy] = kde.bandwidth;
    for (let j = 0; j < qx.length; j++) {
      let s = 0;
      for (let i = 0; i < x.length; i++)
        s += Math.exp(-((qx[j] - x[i]) ** 2) / (2 * hx * hx) - (qy[j] - y[i]) ** 2 / (2 * hy * hy));
      const ref = s / (2 * Math.PI * hx * hy * x.length);
      expect(Math.abs(f[j] - ref)).toBeLessThanOrEqual(1e-13 * ref + 1e-300);
    }
  });

  test('pdfAsync on worker threads is bit-identical to pdf; DR predictAsync to predict', async () => {
    const rng = Rng.from('kde-threads');
    const n = 800;
    const conf = rng.uniformArray(n, 0.5, 1);
    const prox = rng.uniformArray(n, 0, 1);
    const kde = new ProductGaussianKde2D(conf, prox, [0.03, 0.06]);
    const qx = rng.uniformArray(301, 0.4, 1);
    const qy = rng.uniformArray(301, 0, 1);
    const one = kde.pdf(qx, qy);
    for (const threads of [2, 3]) {
      const par = await kde.pdfAsync(qx, qy, { threads, minParallelWork: 0 });
      expect(Array.from(par)).toEqual(Array.from(one));
    }
    const probs = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) [probs[2 * i], probs[2 * i + 1]] = [conf[i], 1 - conf[i]];
    const labels = Int32Array.from(conf, (c) => (rng.uniform() < c ? 0 : 1));
    const dr = DensityRatioCalibrator.fit({ probs: { data: probs, shape: [n, 2] }, labels, proximity: prox });
    const input = { probs: { data: probs, shape: [n, 2] }, proximity: prox };
    expect(Array.from(await dr.predictAsync(input, { threads: 2, minParallelWork: 0 }))).toEqual(
      Array.from(dr.predict(input)),
    );
  });
});
