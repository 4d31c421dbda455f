/** How error messages render a received value: as JavaScript prints it, NaN and Infinity included. */
import { describe, expect, it } from 'vitest';
import { fail, show } from '../src/utils/errors.js';

describe('show', () => {
  it('prints non-finite numbers as they are, alone and inside arrays and objects (JSON would print null)', () => {
    expect(show(NaN)).toBe('NaN');
    expect(show(-Infinity)).toBe('-Infinity');
    expect(show([1, NaN, Infinity])).toBe('[1, NaN, Infinity]');
    expect(show({ a: NaN, b: [Infinity, -Infinity, 2], c: 'x', d: null })).toBe('{"a":NaN,"b":[Infinity,-Infinity,2],"c":"x","d":null}');
  });

  it('keeps the other renderings: strings quoted, null and undefined bare, long objects cut', () => {
    expect(show('NaN')).toBe('"NaN"');
    expect(show(null)).toBe('null');
    expect(show(undefined)).toBe('undefined');
    expect(show({ s: 'x'.repeat(200) })).toMatch(/^\{"s":"x+\.\.\.$/);
    expect(show({ s: 'x'.repeat(200) }).length).toBe(120);
  });

  it('fail() puts it in the message', () => {
    expect(() => fail('where', 'arg', { tol: NaN }, 'an object of finite numbers')).toThrow(
      'where: \'arg\' must be an object of finite numbers; received {"tol":NaN}.',
    );
  });
});
