import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { readJsonBody, RequestBodyError } from './server.ts';

/** A request stream as the HTTP server hands it to the route: headers, then the body. */
function requestOf(headers: Record<string, string> = {}): PassThrough & IncomingMessage {
  return Object.assign(new PassThrough(), { headers }) as unknown as PassThrough & IncomingMessage;
}

async function readAndForget(req: PassThrough & IncomingMessage, text: string): Promise<WeakRef<object>> {
  const reading = readJsonBody(req, 64 * 1024);
  req.end(text);
  return new WeakRef((await reading) as object);
}

describe('readJsonBody', () => {
  it('parses the body, and the request it came from no longer reaches it once read', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const req = requestOf();
    const body = await readAndForget(
      req,
      JSON.stringify({ request: { uid: 'u', padding: 'x'.repeat(4000) } }),
    );
    expect(body.deref()).toMatchObject({ request: { uid: 'u' } });
    for (let i = 0; i < 3; i++) {
      await nextTurn();
      gc();
    }
    // the keep-alive connection still holds the request (and whatever listeners it carries)
    expect(req.headers).toEqual({});
    expect(body.deref()).toBeUndefined();
  });

  it('answers 413 past the limit and 400 for malformed JSON, naming what is wrong', async () => {
    const big = requestOf();
    const tooBig = readJsonBody(big, 10);
    big.end('{"padding":"more than ten bytes"}');
    await expect(tooBig).rejects.toMatchObject({ status: 413, message: 'request body larger than 10 bytes' });
    const bad = requestOf();
    const malformed = readJsonBody(bad, 1024);
    bad.end('{"request":');
    await expect(malformed).rejects.toBeInstanceOf(RequestBodyError);
    await expect(malformed).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/^malformed JSON: /),
    });
  });
});
