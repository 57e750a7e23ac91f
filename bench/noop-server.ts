/**
 * The no-op peer of bench/webhook.ts and bench/soak.ts: express 5 over HTTPS, the JSON body parsed,
 * the uid echoed, always allowed. bench/webhook.ts compiles it to plain JavaScript first, so its RSS
 * is a Node HTTPS server's and not TypeScript type stripping's (about 17 MB more).
 *
 *   node bench/noop-server.ts --cert FILE --key FILE   (prints "noop listening on PORT" on stderr)
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import express from 'express';

const { values } = parseArgs({ options: { cert: { type: 'string' }, key: { type: 'string' } } });
if (!values.cert || !values.key) throw new Error('usage: noop-server --cert FILE --key FILE');
const app = express();
app.disable('x-powered-by');
app.post('/validate', express.json({ limit: 7 * 1024 * 1024, type: () => true }), (req, res) => {
  const uid = (req.body as { request?: { uid?: string } }).request?.uid ?? '';
  res.json({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid, allowed: true },
  });
});
const server = createServer(
  { cert: readFileSync(values.cert), key: readFileSync(values.key), minVersion: 'TLSv1.2' },
  app,
);
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`noop listening on ${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
