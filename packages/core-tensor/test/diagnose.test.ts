import { diagnose, formatDiagnosis } from '../src/node';

test('diagnose checks every Node device and says why the failing ones fail', async () => {
  const d = await diagnose();
  expect(d.platform).toBe('node');
  expect(d.node).toBe(process.versions.node);
  expect(d.runtimes['onnxruntime-node']).toMatch(/^1\.\d+\.\d+/);
  expect(d.runtimes['onnxruntime-web']).toMatch(/^1\.\d+\.\d+/);
  expect(d.devices.map((c) => c.device)).toEqual(['cuda', 'webgpu', 'cpu', 'wasm']);
  const cpu = d.devices.find((c) => c.device === 'cpu')!;
  expect(cpu.ok).toBe(true);
  expect(cpu.maxAbsError).toBeLessThan(1e-6);
  for (const c of d.devices) if (!c.ok) expect(c.reason).toEqual(expect.any(String));
  expect(d.autoDevice).not.toBeNull();
  const text = formatDiagnosis(d);
  expect(text).toMatch(/ok {3}cpu/);
  expect(text).toMatch(/device 'auto' picks: /);
});
