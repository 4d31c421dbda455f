/**
 * bench/structure/arms.ts: the `+sz:<p0>[:a[:b]]` option scales the nm() strengths with
 * the layer size (α·(p0/p)^a, λ·(p0/p)^b), checked against the formula in float64.
 */
import { describe, expect, it } from 'vitest';
import { parseArm } from '../bench/structure/arms.js';

type Reg = { getConfig(): { alpha: number; l1: number }; dispose?: () => void };

function strengths(spec: string, p: number): { alpha: number; l1: number } {
  const arm = parseArm(spec);
  if (arm.reg === 'oracle') throw new Error('oracle');
  const reg = arm.reg(p) as unknown as Reg;
  const { alpha, l1 } = reg.getConfig();
  reg.dispose?.();
  return { alpha, l1 };
}

describe('bench structure arms: +sz', () => {
  it('scales α by (p0/p)^a and λ by (p0/p)^b (defaults a = 1, b = 0.5)', () => {
    for (const p of [30, 100, 300]) {
      const s = strengths('excess:1e-1+prox+every:1+l1:0.02+sz:30', p);
      expect(s.alpha).toBeCloseTo(0.1 * (30 / p), 12);
      expect(s.l1).toBeCloseTo(0.02 * Math.sqrt(30 / p), 12);
      const t = strengths('excess:1e-1+prox+l1:0.02+sz:100:2:1', p);
      expect(t.alpha).toBeCloseTo(0.1 * (100 / p) ** 2, 12);
      expect(t.l1).toBeCloseTo(0.02 * (100 / p), 12);
    }
  });

  it('is setting A exactly at p = p0 and leaves arms without +sz unscaled', () => {
    expect(strengths('excess:1e-1+prox+every:1+l1:0.02+sz:30', 30)).toEqual({ alpha: 0.1, l1: 0.02 });
    expect(strengths('excess:1e-1+prox+every:1+l1:0.02', 300)).toEqual({ alpha: 0.1, l1: 0.02 });
  });

  it('rejects a non-numeric size and +sz without an nm() form', () => {
    expect(() => parseArm('excess:1e-1+prox+sz:abc')).toThrow(/'abc' is not a number/);
    expect(() => parseArm('l1:0.05+prox+sz:30')).toThrow(/\+sz needs an nm\(\) form/);
  });
});

describe('bench structure arms: the diagnostic options', () => {
  it('parses +out:<θ>, +am[:<f>] and +from:teacher, and leaves them off by default', () => {
    const base = parseArm('excess:1e-1+prox+every:1');
    expect([base.outThreshold, base.outFrom, base.adamMetric, base.fromTeacher]).toEqual([0, 0, null, false]);
    const arm = parseArm('excess:1e-1+prox+every:1+out:0.3+am:1+from:teacher');
    expect([arm.outThreshold, arm.outFrom, arm.adamMetric, arm.fromTeacher]).toEqual([0.3, 0, 1, true]);
    expect(parseArm('excess:1e-1+prox+out:0.3:0.5').outFrom).toBe(0.5);
    expect(parseArm('excess:1e-1+prox+out:0.3:0.5').outTo).toBeNull();
    const ramp = parseArm('excess:1e-1+prox+out:0.3:0.5:1');
    expect([ramp.outThreshold, ramp.outFrom, ramp.outTo]).toEqual([0.3, 0.5, 1]);
    expect(parseArm('excess:1e-1+prox+am').adamMetric).toBe(0);
  });

  it("parses the density factor (1 by default, +x2, +x:<f>), Adam's ε (+eps:<ε>), the graph's SGD rate (+gsgd) prune-and-regrow (+rigl) and the replication gate (+gate)", () => {
    expect(parseArm('excess:1e-1+prox').densityFactor).toBe(1);
    expect(parseArm('excess:1e-1+prox+x2').densityFactor).toBe(2);
    expect(parseArm('excess:1e-1+prox+x:1.3').densityFactor).toBe(1.3);
    expect(() => parseArm('excess:1e-1+prox+x:y')).toThrow(/'y' is not a number/);
    expect(parseArm('excess:1e-1+prox').adamEpsilon).toBeNull();
    expect(parseArm('excess:1e-1+prox+eps:1e-3').adamEpsilon).toBe(1e-3);
    expect(() => parseArm('excess:1e-1+prox+eps:big')).toThrow(/'big' is not a number/);
    expect(parseArm('excess:1e-1+prox+every:1').graphSgd).toBeNull();
    expect(parseArm('l1:1e-4+prox+every:1+gsgd:3').graphSgd).toBe(3);
    expect(parseArm('excess:1e-1+prox+every:1').regrowth).toBeNull();
    expect(parseArm('excess:1e-1+prox+every:1+rigl:10:0.3').regrowth).toEqual([10, 0.3, 0.75]);
    expect(parseArm('excess:1e-1+prox+every:1+rigl:10:0.3:0.5').regrowth).toEqual([10, 0.3, 0.5]);
    expect(parseArm('excess:1e-1+prox+every:1').gate).toBeNull();
    expect(parseArm('excess:1e-1+prox+every:1+gate:4').gate).toEqual([4, 1]);
    expect(parseArm('excess:1e-1+prox+every:1+gate:2:5').gate).toEqual([2, 5]);
    expect(() => parseArm('excess:1e-1+prox+every:1+gate:k')).toThrow(/'k' is not a number/);
  });

  it('parses +settle:<n>:<τ>[:<r>[:<l>]] (factor 0.1, no latest by default) and refuses it beside a fixed decay', () => {
    expect(parseArm('excess:1e-1+prox+every:1').settle).toBeNull();
    expect(parseArm('excess:1e-1+prox+every:1+settle:10:0.95').settle).toEqual([10, 0.95, 0.1, null]);
    expect(parseArm('excess:1e-1+prox+every:1+settle:5:0.9:0.3:0.5').settle).toEqual([5, 0.9, 0.3, 0.5]);
    expect(() => parseArm('excess:1e-1+prox+every:1+settle:10:0.95+decayk:0.5:0.1')).toThrow(/\+settle is a decay of its own/);
  });

  it('rejects a non-numeric threshold and an unknown start', () => {
    expect(() => parseArm('excess:1e-1+prox+out:x')).toThrow(/'x' is not a number/);
    expect(() => parseArm('excess:1e-1+prox+from:scratch')).toThrow(/unknown option 'from:scratch'/);
  });
});
