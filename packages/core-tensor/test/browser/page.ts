// Runs inside headless Chromium, bundled by run.mjs from the package's built web entry (dist/esm/web.js).
import {
  configureWebRuntime,
  createSession,
  decodePng,
  diagnose,
  OpGraphs,
  parseNpy,
  Rng,
  tensor,
} from '../../dist/esm/web.js';

declare global {
  interface Window {
    runChecks(): Promise<unknown>;
  }
}

window.runChecks = async () => {
  configureWebRuntime({ wasmPaths: '/ort/', numThreads: 1 });
  const out: Record<string, unknown> = {};
  const d = await diagnose();
  out.diagnose = {
    platform: d.platform,
    autoDevice: d.autoDevice,
    devices: d.devices.map((c) => ({ device: c.device, ok: c.ok, reason: c.reason })),
  };

  // an op-graph on wasm, against the typed-array loop in the same page
  const rng = Rng.from(42);
  const q = tensor(rng.normalFloat32(20 * 8, 0, 1), [20, 8]);
  const r = tensor(rng.normalFloat32(100 * 8, 0, 1), [100, 8]);
  const ops = await OpGraphs.create({ device: 'wasm' });
  const g = await ops.knn(q, r, { k: 3, backend: 'graph' });
  const j = await ops.knn(q, r, { k: 3, backend: 'js' });
  out.knn = {
    device: ops.device,
    graphIndices: Array.from(g.indices),
    jsIndices: Array.from(j.indices),
    maxDiff: Math.max(...Array.from(g.distances, (v, i) => Math.abs(v - j.distances[i]))),
  };
  await ops.dispose();

  // a model file fetched by URL
  const s = await createSession('/fixtures/linear.onnx', { device: 'auto' });
  const x = await (await fetch('/fixtures/x.npy')).arrayBuffer();
  const res = await s.run({ x: parseNpy(new Uint8Array(x)) });
  out.model = { device: s.device, tried: s.tried, probs: Array.from(res.probs.data as Float32Array) };
  await s.dispose();

  // same seed, same numbers as Node
  out.rng = Array.from(Rng.from('browser-check').split('a', 3).uniformArray(4));
  const png = decodePng(new Uint8Array(await (await fetch('/fixtures/tiny.png')).arrayBuffer()));
  out.png = { width: png.width, height: png.height, channels: png.channels, data: Array.from(png.data) };
  return out;
};
