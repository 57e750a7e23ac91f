import { describe, expect, it } from 'vitest';
import { LineFields, NestedValues, parseLineFields } from './fields.ts';

/** A seeded PRNG so a failure names a reproducible case. */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
}

const awkward = [
  'plain',
  'quote " inside',
  'back\\slash\\',
  '\\"',
  'brackets ]}[{',
  'ünïcödé ✓',
  'tab\tnew\nline',
  '',
];

/** Random JSON values with the characters that trip a scanner: quotes, backslashes, brackets. */
function value(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 2 ? 5 : 7));
  if (pick === 0) return awkward[Math.floor(next() * awkward.length)];
  if (pick === 1) return Math.floor(next() * 2000) - 1000;
  if (pick === 2) return next() * 1e6;
  if (pick === 3) return next() < 0.5;
  if (pick === 4) return null;
  if (pick === 5) return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
  const object: Record<string, unknown> = {};
  for (let i = Math.floor(next() * 4); i > 0; i--)
    object[awkward[Math.floor(next() * awkward.length)] as string] = value(next, depth + 1);
  return object;
}

describe('LineFields', () => {
  it('reads every top-level field as JSON.parse does, with and without the nested-value cache', () => {
    const next = random(11);
    const nested = new NestedValues(4);
    for (let round = 0; round < 400; round++) {
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 8); i > 0; i--)
        object[i % 3 === 0 ? (awkward[i] as string) : `key${i}`] = value(next, 0);
      let text = JSON.stringify(object);
      if (round % 4 === 1) text = JSON.stringify(object, null, 2);
      if (round % 4 === 2) text = ` ${text}\t`;
      for (const cache of [undefined, nested, nested]) {
        const fields = LineFields.scan(text, cache);
        expect(fields, text).toBeDefined();
        for (const [key, expected] of Object.entries(JSON.parse(text) as Record<string, unknown>))
          expect(fields?.value(key), `${key} of ${text}`).toEqual(expected);
        expect(fields?.value('absent')).toBeUndefined();
      }
    }
  });

  it('hands out one string per repeated nested value (callers key their caches by it)', () => {
    const nested = new NestedValues();
    const line = (n: number) =>
      `{"n":${n},"policies":[{"policy":"a","status":"pass"}],"bundle":{"name":"b"}}`;
    const first = LineFields.scan(line(1), nested);
    const second = LineFields.scan(line(2), nested);
    expect(first?.raw('policies')).toBe('[{"policy":"a","status":"pass"}]');
    expect(Object.is(first?.raw('policies'), second?.raw('policies'))).toBe(true);
    expect(second?.value('n')).toBe(2);
  });

  it('reads a repeated key as JSON.parse does: the last one', () => {
    const fields = LineFields.scan('{"event":"decision","seq":1,"event":"checkpoint"}');
    expect(fields?.value('event')).toBe('checkpoint');
  });

  it('leaves what it cannot step through to JSON.parse, which names a broken line', () => {
    for (const text of [
      '{"a":1',
      '{"a":[1,2}',
      '{"a":tru}',
      '{"a":01}',
      '["a"]',
      '{"a":1} x',
      '{"a" 1}',
      '{"a":"x}',
    ])
      expect(LineFields.scan(text), text).toBeUndefined();
    expect(parseLineFields('{"a":1')).toBe('not a JSON object: the line was changed or cut');
    expect(parseLineFields('["a"]')).toBe('not a JSON object: the line was changed');
  });
});
