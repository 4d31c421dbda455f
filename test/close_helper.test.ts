/** The shared closeness helper fails when it should, and says where. */
import { describe, expect, it } from 'vitest';
import { closeness, expectClose } from './helpers/close.js';

describe('expectClose', () => {
  it('passes within atol + rtol·|expected| and reports the worst element otherwise', () => {
    expect(expectClose([1, 2, 3], [1, 2.001, 3], { atol: 1e-3 }).worstIndex).toBe(1);
    expectClose([100.5], [100], { rtol: 0.01 });
    expect(() => expectClose([1, 2, 3.5, 4], [1, 2, 3, 4.1], { atol: 0.2 }, 'demo')).toThrow(
      /demo: 1 of 4 elements out of tolerance \(atol 0.2, rtol 0\); worst at \[2\]: actual 3.5, expected 3, \|diff\| 0.5 = 2.50× the tolerance/,
    );
    expect(() => expectClose([1, 2], [1], { atol: 1 })).toThrow(/lengths differ: actual 2, expected 1/);
  });

  it('per-element atol, NaN and infinities', () => {
    expectClose([1, 2], [1.5, 2.5], { atol: [0.5, 0.5] });
    expect(() => expectClose([1, 2], [1.5, 2.5], { atol: [0.5, 0.1] })).toThrow(/worst at \[1\]/);
    expectClose([NaN, Infinity, -Infinity], [NaN, Infinity, -Infinity], { atol: 0 });
    expect(() => expectClose([NaN], [0], { atol: 1 })).toThrow(/worst at \[0\]: actual NaN/);
    expect(() => expectClose([Infinity], [1e308], { rtol: 1 })).toThrow(/out of tolerance/);
    expect(() => expectClose([1e-9], [0], {})).toThrow(/out of tolerance/);
    expect(closeness([0, 3], [0, 1], { atol: 1 })).toEqual({ worstRatio: 2, worstIndex: 1, maxAbs: 2, failures: 1 });
  });
});
