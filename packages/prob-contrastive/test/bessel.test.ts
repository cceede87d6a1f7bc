import { describe, expect, test } from '@jest/globals';
import { InvalidArgumentError, NonFiniteError } from '@trustvision/core-tensor';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  besselRatio,
  debyePolynomial,
  KAPPA_SERIES,
  logBesselI,
  logGamma,
  NU_DEBYE,
  vmfLogNormalizer,
} from '../src/index.js';
import { LOG_I, MPMATH_LOGI, RATIO, VMF_LOGC } from './fixtures/bessel_golden.js';

/** |a − b| / max(1, |b|): relative error, absolute where the value is below 1 in magnitude. */
const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

describe('logBesselI', () => {
  test(`matches log(scipy.special.ive(nu, k)) + k on the grid (${LOG_I.length} points) to 1e-12`, () => {
    let worst = 0;
    for (const [nu, k, ref] of LOG_I) {
      const err = relErr(logBesselI(nu, k), ref);
      if (err > 1e-12) throw new Error(`logBesselI(${nu}, ${k}) = ${logBesselI(nu, k)}, expected ${ref}`);
      worst = Math.max(worst, err);
    }
    expect(worst).toBeLessThan(1e-12);
  });

  test(`matches mpmath where ive under/overflows (${MPMATH_LOGI.length} points)`, () => {
    expect(MPMATH_LOGI.length).toBeGreaterThan(0);
    for (const [nu, k, ref] of MPMATH_LOGI) expect(relErr(logBesselI(nu, k), ref)).toBeLessThan(1e-12);
    // far below the double range of I itself; mpmath: log(besseli(500, 1e-3)) = -6411.781688230698252...
    expect(relErr(logBesselI(500, 1e-3), -6411.781688230698)).toBeLessThan(1e-14);
  });

  test('hand-calculated closed forms and small-argument limits', () => {
    // I_{1/2}(κ) = √(2/(πκ))·sinh κ
    for (const k of [1e-3, 0.3, 1, 7, 25, 200]) {
      const ref = 0.5 * Math.log(2 / (Math.PI * k)) + Math.log(Math.sinh(k));
      expect(relErr(logBesselI(0.5, k), ref)).toBeLessThan(1e-14);
    }
    // I_0(κ) = 1 + κ²/4 + κ⁴/64 + …: log I_0(1e-3) ≈ 2.5e-7, kept to full relative precision
    const k = 1e-3;
    const ref0 = Math.log1p((k * k) / 4 + (k * k * k * k) / 64 + k ** 6 / 2304);
    expect(Math.abs(logBesselI(0, k) - ref0) / ref0).toBeLessThan(1e-14);
    expect(logBesselI(0, 0)).toBe(0);
    expect(logBesselI(3, 0)).toBe(-Infinity);
  });

  test('satisfies I_{ν−1} − I_{ν+1} = (2ν/κ)·I_ν across the series / Debye / recurrence boundaries', () => {
    const nus = [1, 2.5, NU_DEBYE - 1, NU_DEBYE - 0.5, NU_DEBYE, NU_DEBYE + 0.5, NU_DEBYE + 1, 63, 255];
    const kappas = [0.05, KAPPA_SERIES * 0.999, KAPPA_SERIES, KAPPA_SERIES * 1.001, 40, 1e3, 1e5];
    for (const nu of nus) {
      for (const k of kappas) {
        const lm = logBesselI(nu - 1, k);
        const l0 = logBesselI(nu, k);
        const lp = logBesselI(nu + 1, k);
        // (I_{ν−1} − I_{ν+1}) / ((2ν/κ)·I_ν) − 1, in logs
        const lhs = lm + Math.log(-Math.expm1(lp - lm));
        const rhs = Math.log((2 * nu) / k) + l0;
        expect(relErr(lhs, rhs)).toBeLessThan(1e-11);
      }
    }
  });

  test('is continuous across NU_DEBYE and KAPPA_SERIES', () => {
    const e = 1e-9;
    for (const k of [0.5, 5, 50, 5000]) {
      const below = logBesselI(NU_DEBYE - e, k);
      const above = logBesselI(NU_DEBYE, k);
      expect(Math.abs(below - above)).toBeLessThan(1e-7); // |d log I/dν| ≤ ~log(2ν/κ)+…, times 1e-9
    }
    for (const nu of [0, 3.5, 19.5]) {
      expect(relErr(logBesselI(nu, KAPPA_SERIES), logBesselI(nu, KAPPA_SERIES * (1 + 1e-15)))).toBeLessThan(1e-13);
    }
  });

  test('validates its inputs with typed errors', () => {
    expect(() => logBesselI(-1, 1)).toThrow(InvalidArgumentError);
    expect(() => logBesselI(1, -1)).toThrow(InvalidArgumentError);
    expect(() => logBesselI(NaN, 1)).toThrow(NonFiniteError);
    expect(() => logBesselI(1, Infinity)).toThrow(NonFiniteError);
    expect(() => logBesselI('1' as never, 1)).toThrow(InvalidArgumentError);
  });
});

describe('besselRatio', () => {
  test(`matches ive(d/2, k)/ive(d/2 − 1, k) on the grid (${RATIO.length} points) to 1e-12`, () => {
    for (const [d, k, ref] of RATIO) {
      const r = besselRatio(d, k);
      if (!(Math.abs(r - ref) / ref < 1e-12)) throw new Error(`besselRatio(${d}, ${k}) = ${r}, expected ${ref}`);
    }
    expect(RATIO.length).toBeGreaterThan(300);
  });

  test('hand-calculated: A_1(κ) = tanh κ and A_3(κ) = coth κ − 1/κ (Langevin)', () => {
    for (const k of [1e-3, 0.1, 1, 3, 20, 1e3, 1e5]) {
      expect(Math.abs(besselRatio(1, k) - Math.tanh(k)) / Math.tanh(k)).toBeLessThan(1e-14);
    }
    for (const k of [0.5, 1, 3, 20, 1e3, 1e5]) {
      const langevin = 1 / Math.tanh(k) - 1 / k;
      expect(Math.abs(besselRatio(3, k) - langevin) / langevin).toBeLessThan(1e-14);
    }
  });

  test('agrees with exp(log I_{d/2} − log I_{d/2−1}) and stays in [0, 1)', () => {
    for (const d of [2, 3, 16, 42, 128, 512, 1000]) {
      for (const k of [1e-3, 1, 10, 64, 1e3, 1e5]) {
        const r = besselRatio(d, k);
        expect(r).toBeGreaterThan(0);
        expect(r).toBeLessThan(1);
        const viaLog = Math.exp(logBesselI(d / 2, k) - logBesselI(d / 2 - 1, k));
        expect(Math.abs(r - viaLog) / r).toBeLessThan(1e-9); // the log difference loses digits when log I is large
      }
    }
    expect(besselRatio(512, 0)).toBe(0);
  });

  test('validates its inputs with typed errors', () => {
    expect(() => besselRatio(0.5, 1)).toThrow(InvalidArgumentError);
    expect(() => besselRatio(3, -1)).toThrow(InvalidArgumentError);
    expect(() => besselRatio(Infinity, 1)).toThrow(NonFiniteError);
    expect(() => besselRatio(3, NaN)).toThrow(NonFiniteError);
  });
});

describe('vmfLogNormalizer', () => {
  test(`matches mpmath (50 digits) on d ∈ [2, 1000], κ ∈ {0} ∪ [1e-3, 1e5] (${VMF_LOGC.length} points) to 1e-12`, () => {
    let worst = 0;
    for (const [d, k, ref] of VMF_LOGC) {
      const v = vmfLogNormalizer(d, k);
      const err = relErr(v, ref);
      if (!(err < 1e-12)) throw new Error(`vmfLogNormalizer(${d}, ${k}) = ${v}, expected ${ref}`);
      worst = Math.max(worst, err);
    }
    expect(VMF_LOGC.length).toBeGreaterThan(100);
    expect(worst).toBeLessThan(1e-12);
  });

  test('hand-calculated: d = 3 gives κ / (4π sinh κ); κ = 0 gives 1 / |S^{d−1}|', () => {
    for (const k of [1e-3, 0.5, 2, 30, 500]) {
      const ref = Math.log(k) - Math.log(4 * Math.PI) - (k + Math.log(-Math.expm1(-2 * k)) - Math.LN2);
      expect(relErr(vmfLogNormalizer(3, k), ref)).toBeLessThan(1e-14);
    }
    expect(relErr(vmfLogNormalizer(3, 0), -Math.log(4 * Math.PI))).toBeLessThan(1e-15);
    expect(relErr(vmfLogNormalizer(2, 0), -Math.log(2 * Math.PI))).toBeLessThan(1e-15);
    // continuous at κ → 0
    expect(relErr(vmfLogNormalizer(512, 1e-9), vmfLogNormalizer(512, 0))).toBeLessThan(1e-14);
  });

  test('its derivative is −A_d(κ) (central differences in the series, recurrence and Debye regimes)', () => {
    for (const d of [3, 10, 41, 42, 128, 512]) {
      for (const k of [0.2, 5, KAPPA_SERIES * 1.5, 80, 2000]) {
        const h = 1e-5 * k;
        const fd = (vmfLogNormalizer(d, k + h) - vmfLogNormalizer(d, k - h)) / (2 * h);
        expect(Math.abs(fd + besselRatio(d, k))).toBeLessThan(1e-7);
      }
    }
  });

  test('equals its definition (d/2 − 1)·log κ − (d/2)·log 2π − log I_{d/2−1}(κ) where that does not cancel', () => {
    for (const d of [4, 50, 300])
      for (const k of [20, 400, 9e4]) {
        const def = (d / 2 - 1) * Math.log(k) - (d / 2) * Math.log(2 * Math.PI) - logBesselI(d / 2 - 1, k);
        expect(relErr(vmfLogNormalizer(d, k), def)).toBeLessThan(1e-12);
      }
  });

  test('bad input: typed errors naming the parameter', () => {
    expectThrows(() => vmfLogNormalizer(1, 1), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'd');
    expectThrows(() => vmfLogNormalizer(NaN, 1), NonFiniteError, 'E_NON_FINITE', 'd');
    expectThrows(() => vmfLogNormalizer(8, -1), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'kappa');
    expectThrows(() => vmfLogNormalizer(8, Infinity), NonFiniteError, 'E_NON_FINITE', 'kappa');
    const e = expectThrows(() => vmfLogNormalizer('8' as never, 1), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'd');
    expect(e.message).toMatch(/'d' must be a finite number >= 2/);
  });
});

describe('the 1e-10 accuracy contract over the whole documented range', () => {
  test('log I_ν(κ) for ν ∈ [0, 500], κ ∈ [1e-3, 1e5] is within 1e-10 of the goldens (and 1e-12 in fact)', () => {
    const all = [...LOG_I, ...MPMATH_LOGI];
    const nus = new Set(all.map((r) => r[0]));
    const ks = new Set(all.map((r) => r[1]));
    expect(Math.max(...nus)).toBeGreaterThanOrEqual(500);
    expect(Math.min(...ks)).toBeLessThanOrEqual(1e-3);
    expect(Math.max(...ks)).toBeGreaterThanOrEqual(1e5);
    for (const [nu, k, ref] of all) expect(relErr(logBesselI(nu, k), ref)).toBeLessThan(1e-10);
  });

  test('large orders and concentrations beyond the range stay finite and monotone', () => {
    // log I_ν(κ) decreases in ν and increases in κ
    for (const k of [1e-3, 1, 1e3, 1e6]) {
      let prev = Infinity;
      for (const nu of [0, 10, 100, 1000, 1e4]) {
        const v = logBesselI(nu, k);
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeLessThan(prev);
        prev = v;
      }
    }
    expect(relErr(logBesselI(1e4, 1e-3), -158117.95243223515)).toBeLessThan(1e-12); // mpmath, 40 digits
    for (const d of [2, 100, 2000]) {
      let prev = 0;
      for (const k of [1e-3, 1, 1e2, 1e4, 1e6]) {
        const a = besselRatio(d, k);
        expect(a).toBeGreaterThan(prev);
        expect(a).toBeLessThan(1);
        prev = a;
      }
    }
  });
});

describe('helpers', () => {
  test('Debye polynomials U_1…U_3 match their closed forms', () => {
    expect(Array.from(debyePolynomial(0))).toEqual([1]);
    const u1 = debyePolynomial(1);
    [0, 1 / 8, 0, -5 / 24].forEach((c, j) => expect(u1[j]).toBeCloseTo(c, 16));
    const u2 = debyePolynomial(2);
    [0, 0, 9 / 128, 0, -77 / 192, 0, 385 / 1152].forEach((c, j) => expect(u2[j]).toBeCloseTo(c, 16));
    const u3 = debyePolynomial(3); // (30375p³ − 369603p⁵ + 765765p⁷ − 425425p⁹) / 414720
    [0, 0, 0, 30375, 0, -369603, 0, 765765, 0, -425425].forEach((c, j) =>
      expect(Math.abs(u3[j] - c / 414720)).toBeLessThan(1e-15),
    );
    expect(() => debyePolynomial(17)).toThrow(InvalidArgumentError);
    // U_k has only the powers p^k, p^{k+2}, …, p^{3k} (what the evaluation in p² relies on)
    for (let k = 0; k <= 16; k++) {
      const c = debyePolynomial(k);
      c.forEach((v, j) => {
        if (j < k || j > 3 * k || (j - k) % 2 !== 0) expect(v).toBe(0);
      });
      expect(c[3 * k]).not.toBe(0);
    }
  });

  test('logGamma matches mpmath.loggamma', () => {
    // python3 -c "import mpmath as mp; mp.mp.dps = 30; print([mp.loggamma(x) for x in (100.5, 0.5, 3.7, 1e-5)])"
    expect(relErr(logGamma(100.5), 361.4355404677776)).toBeLessThan(4e-15);
    expect(relErr(logGamma(0.5), 0.5723649429247001)).toBeLessThan(4e-15);
    expect(relErr(logGamma(3.7), 1.4280723266653881)).toBeLessThan(4e-15);
    expect(relErr(logGamma(1e-5), 11.512919692895826)).toBeLessThan(4e-15);
    expect(logGamma(1)).toBe(0);
    expect(logGamma(2)).toBe(0);
    expect(relErr(logGamma(11), Math.log(3628800))).toBeLessThan(1e-15);
    expect(() => logGamma(0)).toThrow(InvalidArgumentError);
  });
});
