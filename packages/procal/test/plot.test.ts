import { describe, expect, test } from '@jest/globals';
import { InvalidArgumentError } from '@trustvision/core-tensor';
import { comparisonFigureSvg, proximityDiagramSvg, reliabilityDiagramSvg } from '../src/index.js';
import { expectThrows } from './helpers.js';

const conf = [0.95, 0.95, 0.95, 0.95, 0.55, 0.55, 0.3, 1];
const correct = [1, 1, 1, 0, 1, 0, 0, 1];
const proximity = [0.9, 0.8, 0.7, 0.2, 0.6, 0.1, 0.15, 0.5];

function wellFormed(svg: string) {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.trim().endsWith('</svg>')).toBe(true);
  // every opened element is closed or self-closing
  const tags = svg.match(/<(rect|line|text|polyline|circle|g|title)\b[^>]*>/g) ?? [];
  const open = tags.filter((t) => !t.endsWith('/>')).length;
  const close = (svg.match(/<\/(rect|line|text|polyline|circle|g|title)>/g) ?? []).length;
  expect(open).toBe(close);
  expect(svg).not.toMatch(/NaN|undefined|Infinity/);
}

describe('SVG diagrams', () => {
  test('reliability diagram: one bar per non-empty bin, the ECE in the title, escaped text', () => {
    const svg = reliabilityDiagramSvg({ confidence: conf, correct }, { title: 'a < b & "c"' });
    wellFormed(svg);
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot; (ECE 15.00×10⁻²)');
    expect((svg.match(/<title>bin /g) ?? []).length).toBe(3);
    expect(svg).toContain('<title>bin 14: n=5, acc=0.8000, conf=0.9600</title>');
  });

  test('proximity diagram: one curve per proximity group, with its range and ECE', () => {
    const svg = proximityDiagramSvg({ confidence: conf, correct, proximity }, { groups: 2 });
    wellFormed(svg);
    expect((svg.match(/<polyline/g) ?? []).length).toBe(2);
    expect(svg).toContain('proximity 0.100–0.500 (n=4');
  });

  test('comparison figure: panels side by side; MIR-like confidences slightly above 1 are drawn clamped', () => {
    const svg = comparisonFigureSvg([
      { title: 'base', confidence: conf, correct, proximity },
      { title: 'calibrated', confidence: conf.map((c) => c + 1e-9), correct, proximity },
    ]);
    wellFormed(svg);
    expect(svg).toMatch(/width="800" height="800"/);
    expect(svg).toContain('calibrated: by proximity');
  });

  test('bad input', () => {
    expectThrows(
      () => reliabilityDiagramSvg({ confidence: conf, correct: [1] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'correct',
    );
    expectThrows(
      () => reliabilityDiagramSvg({ confidence: conf, correct }, { bins: 0 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'bins',
    );
    expectThrows(() => comparisonFigureSvg([]), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'panels');
  });
});
