import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDecisionMonth } from '../../test/support/decision-month.ts';
import type { DecisionMonth } from '../../test/support/decision-month.ts';
import { parseTrustedKeys } from '../signing/bundle-signature.ts';
import type { TrustedKeys } from '../signing/bundle-signature.ts';
import { publicJwksFor } from '../signing/signing.ts';
import { ChainWriter, lineHash } from './chain.ts';
import { loadCheckpointKey } from './checkpoint.ts';
import type { CheckpointKey } from './checkpoint.ts';
import { verifyLogs } from './verify.ts';
import type { VerifyOptions, VerifyResult } from './verify.ts';

let dir: string;
let key: CheckpointKey;
let trusted: TrustedKeys;
let month: DecisionMonth;

const verify = (files: string[], options: VerifyOptions = {}): Promise<VerifyResult> =>
  verifyLogs(
    files.map((name) => ({ name })),
    options,
  );

/** Copies the month's files into a fresh directory, applying `edit` to one file's text. */
function tampered(name: string, file: string, edit: (text: string) => string): string[] {
  const target = mkdtempSync(join(dir, `${name}-`));
  return month.files.map((source) => {
    const copy = join(target, source.split('/').pop() as string);
    const text = readFileSync(source, 'utf8');
    writeFileSync(copy, source === file ? edit(text) : text);
    return copy;
  });
}

const lines = (text: string): string[] => text.split('\n');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-chain-'));
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'checkpoint.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
  key = await loadCheckpointKey(join(dir, 'checkpoint.pem'));
  trusted = await parseTrustedKeys(JSON.stringify(await publicJwksFor(key.key)), 'checkpoint.jwks');
  month = generateDecisionMonth({ dir: join(dir, 'month'), decisions: 3000, every: 100, key });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ChainWriter', () => {
  it('chains every line to the SHA-256 of the writer’s previous line and checkpoints every N lines', () => {
    const written: string[] = [];
    const writer = new ChainWriter({
      writer: 'pod-a:1:abc',
      sink: (line) => written.push(line),
      every: 3,
      intervalMs: 0,
    });
    for (let i = 0; i < 4; i++) writer.append({ event: 'decision', n: i });
    writer.appendJson('{"level":30,"msg":"from pino"}');
    writer.close();
    const parsed = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(written.every((line) => line.endsWith('}\n'))).toBe(true);
    expect(parsed.map((line) => line['event'] ?? line['msg'])).toEqual([
      'log-start',
      'decision',
      'decision',
      'decision',
      'checkpoint',
      'decision',
      'from pino',
      'checkpoint',
    ]);
    expect(parsed.map((line) => line['seq'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parsed[0]?.['prev']).toBeNull();
    for (let i = 1; i < written.length; i++)
      expect(parsed[i]?.['prev']).toBe(lineHash((written[i - 1] as string).slice(0, -1)));
    expect(parsed.every((line) => line['writer'] === 'pod-a:1:abc')).toBe(true);
    expect(parsed.at(-1)?.['final']).toBe(true);
    expect(() => writer.append({ event: 'late' })).toThrow(/closed/);
  });

  it('refuses a writer id that would not survive a log line', () => {
    expect(() => new ChainWriter({ writer: 'has space', sink: () => undefined })).toThrow(/writer id/);
  });
});

describe('verifyLogs', () => {
  it('verifies a month from four writers across rotated files given in any order, signatures included', async () => {
    const shuffled = [...month.files].reverse();
    const result = await verify(shuffled, { trusted });
    expect(result.breaks).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.writers.map((writer) => writer.writer).sort()).toEqual([...month.writers].sort());
    expect(result.writers.every((writer) => writer.closed)).toBe(true);
    expect(result.writers.flatMap((writer) => writer.files).sort()).toEqual([...month.files].sort());
    const checkpoints = result.writers.reduce((sum, writer) => sum + writer.checkpoints, 0);
    expect(result.writers.reduce((sum, writer) => sum + writer.signedCheckpoints, 0)).toBe(checkpoints);
    expect(checkpoints).toBeGreaterThanOrEqual(30);
    expect(result.writers[0]?.keyIds).toEqual([key.kid]);
  });

  it('refuses checkpoints signed by a key that is not trusted, naming the first one', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const result = await verify(month.files, {
      trusted: await parseTrustedKeys(JSON.stringify(await publicJwksFor(other)), 'other.jwks'),
    });
    expect(result.ok).toBe(false);
    expect(result.breaks[0]?.reason).toMatch(/checkpoint signature does not verify/);
    const text = readFileSync(result.breaks[0]?.file as string, 'utf8');
    expect(JSON.parse(lines(text)[(result.breaks[0]?.line as number) - 1] as string)).toMatchObject({
      event: 'checkpoint',
    });
  });

  it('names an edited decision (deny turned into allow)', async () => {
    const file = month.files[2] as string;
    const original = lines(readFileSync(file, 'utf8'));
    const index = original.findIndex((line) => line.includes('"decision":"deny"'));
    const files = tampered('edited', file, (text) => {
      const all = lines(text);
      all[index] = (all[index] as string).replace('"decision":"deny"', '"decision":"allow"');
      return all.join('\n');
    });
    const result = await verify(files);
    expect(result.ok).toBe(false);
    expect(result.breaks[0]).toMatchObject({ file: files[2], line: index + 1 });
    expect(result.breaks[0]?.reason).toMatch(/changed after it was written/);
  });

  it('names a deleted line', async () => {
    const file = month.files[1] as string;
    const files = tampered('deleted', file, (text) => {
      const all = lines(text);
      all.splice(10, 1);
      return all.join('\n');
    });
    const result = await verify(files);
    expect(result.breaks[0]).toMatchObject({ file: files[1], line: 11 });
    expect(result.breaks[0]?.reason).toMatch(/missing after seq .*lines were deleted/);
  });

  it('names reordered lines', async () => {
    const file = month.files[0] as string;
    const files = tampered('reordered', file, (text) => {
      const all = lines(text);
      [all[20], all[21]] = [all[21] as string, all[20] as string];
      return all.join('\n');
    });
    const result = await verify(files);
    expect(result.ok).toBe(false);
    expect(result.breaks[0]).toMatchObject({ file: files[0], line: 21 });
    expect(result.breaks[0]?.reason).toMatch(/reordered/);
  });

  it('names a log cut in the middle of a line, and one cut at a line boundary', async () => {
    const last = month.files.find(
      (file) =>
        /webhook-1\.log\.\d+$/.test(file) &&
        !month.files.includes(`${file.slice(0, -1)}${Number(file.slice(-1)) + 1}`),
    ) as string;
    const index = month.files.indexOf(last);
    const cutMid = tampered('cut-mid', last, (text) => text.slice(0, text.length - 40));
    const mid = await verify(cutMid);
    const total = lines(readFileSync(last, 'utf8')).length - 1;
    expect(mid.breaks[0]).toMatchObject({ file: cutMid[index], line: total });
    expect(mid.breaks.map((item) => item.reason).join('\n')).toMatch(/not a JSON object|no newline/);
    const cutLine = tampered('cut-line', last, (text) => lines(text).slice(0, -6).join('\n') + '\n');
    const boundary = await verify(cutLine);
    expect(boundary.ok).toBe(false);
    expect(boundary.breaks[0]).toMatchObject({ file: cutLine[index], line: total - 5 });
    expect(boundary.breaks[0]?.reason).toMatch(/without its closing checkpoint/);
    expect((await verify(cutLine, { allowOpen: true })).ok).toBe(true);
  });

  it('names the gap when a rotated file is missing', async () => {
    const missing = month.files.find((file) => file.endsWith('webhook-2.log.2')) as string;
    const result = await verify(month.files.filter((file) => file !== missing));
    expect(result.ok).toBe(false);
    expect(result.breaks[0]?.file).toMatch(/webhook-2\.log\.3$/);
    expect(result.breaks[0]?.line).toBe(1);
    expect(result.breaks[0]?.reason).toMatch(
      /missing after seq \d+ \(.*webhook-2\.log\.1:\d+\): lines were deleted/,
    );
  });

  it('names a line inserted without a chain', async () => {
    const file = month.files[3] as string;
    const files = tampered('inserted', file, (text) => {
      const all = lines(text);
      all.splice(5, 0, '{"event":"decision","decision":"allow"}');
      return all.join('\n');
    });
    const result = await verify(files);
    expect(result.breaks[0]).toMatchObject({ file: files[3], line: 6 });
    expect(result.breaks[0]?.reason).toMatch(/not a chained line/);
  });

  it('catches a one-byte change anywhere and names its line', async () => {
    const next = (() => {
      let state = 7;
      return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    })();
    for (let attempt = 0; attempt < 24; attempt++) {
      const fileIndex = Math.floor(next() * month.files.length);
      const file = month.files[fileIndex] as string;
      const text = readFileSync(file, 'utf8');
      let offset = Math.floor(next() * (text.length - 1));
      while (text[offset] === '\n') offset--;
      const original = text[offset] as string;
      const replacement =
        original === 'a' ? 'b' : /[0-9]/.test(original) ? String((Number(original) + 1) % 10) : 'a';
      const files = tampered(
        `byte-${attempt}`,
        file,
        (body) => body.slice(0, offset) + replacement + body.slice(offset + 1),
      );
      const line = text.slice(0, offset).split('\n').length;
      const result = await verify(files, { trusted });
      const where = `byte ${offset} ('${original}' → '${replacement}') of ${file}, line ${line}`;
      expect(result.ok, where).toBe(false);
      expect({ file: result.breaks[0]?.file, line: result.breaks[0]?.line }, where).toEqual({
        file: files[fileIndex],
        line,
      });
    }
  });
});
