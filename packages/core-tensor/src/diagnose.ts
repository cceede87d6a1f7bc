/**
 * `diagnose()`: which ONNX Runtime is installed, and which devices work here (and why not).
 * Each device is checked by compiling and running a small op-graph on it and comparing the result with the CPU.
 */
import { GraphBuilder, attr } from './onnx/graph.js';
import { getRuntime, type ConcreteDevice } from './runtime.js';
import { createSession } from './session.js';
import { tensor } from './tensor.js';

export interface DeviceCheck {
  device: ConcreteDevice;
  ok: boolean;
  runtime: string;
  /** Why it failed. */
  reason?: string;
  /** Session creation + first run, in ms. */
  ms?: number;
  /** Max abs difference of the check graph's output from the exact value. */
  maxAbsError?: number;
}

export interface Diagnosis {
  platform: string;
  os: string;
  arch: string;
  node?: string;
  userAgent?: string;
  runtimes: Record<string, string | null>;
  devices: DeviceCheck[];
  /** What `device: 'auto'` picks here. */
  autoDevice: ConcreteDevice | null;
}

function checkGraph(): Uint8Array {
  const g = new GraphBuilder('diagnose');
  const a = g.input('a', 'float32', [4, 3]);
  const b = g.input('b', 'float32', [3, 2]);
  const [y] = g.op('MatMul', [a, b]);
  const [z] = g.op('Relu', [y], {});
  const axes = g.constant(tensor(new BigInt64Array([1n]), [1]));
  const [s] = g.op('ReduceSum', [z, axes], { keepdims: attr.i(0) });
  g.output(s, 'float32', [4], 'y');
  return g.toBytes();
}

/** Checks every device of this platform. Never throws for a failing device: it records why. */
export async function diagnose(): Promise<Diagnosis> {
  const rt = getRuntime();
  const proc = (globalThis as { process?: { versions?: Record<string, string>; platform?: string; arch?: string } })
    .process;
  const nav = (globalThis as { navigator?: { userAgent?: string } }).navigator;
  const runtimes: Record<string, string | null> = {};
  const bytes = checkGraph();
  const a = tensor(new Float32Array([1, 2, 3, -1, -2, -3, 0.5, 0, 1, 2, 2, 2]), [4, 3]);
  const b = tensor(new Float32Array([1, -1, 0, 1, 2, 0]), [3, 2]);
  const exact = [8, 0, 2.5, 6]; // relu(a·b) summed per row, by hand
  const devices: DeviceCheck[] = [];
  for (const device of rt.devices) {
    const runtime = rt.runtimeName(device);
    const check: DeviceCheck = { device, ok: false, runtime };
    try {
      const ort = await rt.load(device);
      runtimes[runtime] = ort.env.versions?.common ?? ort.env.versions?.node ?? ort.env.versions?.web ?? 'unknown';
    } catch (e) {
      runtimes[runtime] ??= null;
      check.reason = (e as Error).message;
      devices.push(check);
      continue;
    }
    const t0 = Date.now();
    try {
      const s = await createSession(bytes, {
        device,
        name: `diagnose(${device})`,
        sessionOptions: { logSeverityLevel: 4 },
      });
      const out = (await s.run({ a, b })).y.data as Float32Array;
      await s.dispose();
      check.ms = Date.now() - t0;
      check.maxAbsError = Math.max(...exact.map((v, i) => Math.abs(v - out[i])));
      check.ok = check.maxAbsError < 1e-4;
      if (!check.ok) check.reason = `wrong result (max abs error ${check.maxAbsError})`;
    } catch (e) {
      const err = e as Error & { tried?: { reason?: string }[] };
      check.reason = err.tried?.[0]?.reason ?? err.message;
    }
    devices.push(check);
  }
  const autoDevice = rt.autoOrder.find((d) => devices.find((c) => c.device === d)?.ok) ?? null;
  return {
    platform: rt.platform,
    os: proc?.platform ?? 'browser',
    arch: proc?.arch ?? 'unknown',
    ...(proc?.versions?.node ? { node: proc.versions.node } : {}),
    ...(nav?.userAgent && !proc?.versions?.node ? { userAgent: nav.userAgent } : {}),
    runtimes,
    devices,
    autoDevice,
  };
}

/** Human-readable report. */
export function formatDiagnosis(d: Diagnosis): string {
  const lines = [
    `platform: ${d.platform} (${d.os}/${d.arch}${d.node ? `, Node ${d.node}` : ''})`,
    ...Object.entries(d.runtimes).map(([k, v]) => `${k}: ${v ?? 'not installed'}`),
    'devices:',
    ...d.devices.map((c) =>
      `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.device.padEnd(7)} ${c.ok ? `${c.ms} ms` : (c.reason ?? '')}`.trimEnd(),
    ),
    `device 'auto' picks: ${d.autoDevice ?? 'nothing (no device works)'}`,
  ];
  return lines.join('\n');
}
