/**
 * The webhook server: express 5 over HTTPS with `POST /validate`, and the operations endpoints
 * (`/healthz`, `/readyz`, `/metrics`) on a separate plain-HTTP port. Everything the server needs
 * (bundle source, namespace source, services, clock, logger) is passed in, so tests run the real
 * server in-process and the CLI only parses flags.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import {
  AdmissionRequestError,
  evaluate,
  parseAdmissionReview,
  prepareReview,
} from '../../policies/index.ts';
import type { AdmissionRequest, EngineContext, PolicyServices, Report } from '../../policies/index.ts';
import type { AdmissionResponse } from './admission.ts';
import { allowResponse, buildResponse, failureResponse, subjectOf } from './admission.ts';
import type { BundleSource } from './bundle-source.ts';
import { decisionLine } from '../../io/decision-log/line.ts';
import type { DecisionLine } from '../../io/decision-log/line.ts';
import type { WebhookMetrics } from './metrics.ts';
import type { NamespaceSource } from './namespaces.ts';
import { secureOptions } from './tls.ts';
import type { ServingKeyPair } from './tls.ts';

/** Largest request body accepted: an AdmissionReview carries object and oldObject (up to 3 MiB each in etcd). */
export const bodyLimitBytes = 7 * 1024 * 1024;

/** What to answer when no decision could be made in time or evaluation crashed. */
export type FailureAction = 'deny' | 'allow';

/** Options of {@link createWebhookServer}. */
export interface WebhookServerOptions {
  readonly bundle: Pick<BundleSource, 'current'> & Partial<Pick<BundleSource, 'signature'>>;
  readonly namespaces: NamespaceSource;
  readonly keyPair: ServingKeyPair;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  /**
   * Writes the decision line of an answered request (default: `logger.info(line, 'decision')`);
   * the chained decision log passes its own writer of the same line.
   */
  readonly recordDecision?: (line: DecisionLine) => void;
  readonly failureAction: FailureAction;
  /** Internal deadline per request; past it the failure action answers. */
  readonly deadlineMs: number;
  /** Fixed evaluation instant (test clock); otherwise the time each request arrives. */
  readonly now?: Date;
  /** Services for policies, e.g. `imageVerifier`. */
  readonly services?: PolicyServices;
  /** Whether the webhook is ready beyond bundle and namespace cache (e.g. services warmed up). */
  readonly extraReadiness?: () => string | undefined;
}

/** A created (not yet listening) server pair. */
export interface WebhookServer {
  readonly https: HttpsServer;
  readonly ops: HttpServer;
  /** Starts listening; returns the bound ports. */
  listen(options: {
    host: string;
    port: number;
    opsHost: string;
    opsPort: number;
  }): Promise<{ port: number; opsPort: number }>;
  /** Why the server is not ready, or undefined when it is. */
  notReadyReason(): string | undefined;
  /** Requests being evaluated right now. */
  inFlight(): number;
  /**
   * Stops accepting, lets in-flight requests finish (at most `graceMs`), then closes everything.
   */
  close(graceMs: number): Promise<void>;
}

/** Creates the HTTPS admission server and the plain-HTTP operations server. */
export function createWebhookServer(options: WebhookServerOptions): WebhookServer {
  const recordDecision =
    options.recordDecision ?? ((line: DecisionLine) => options.logger.info(line, 'decision'));
  let draining = false;
  let inFlight = 0;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Once draining, every answer tells the client to reconnect (to another replica).
  const isDraining = (): boolean => draining;
  app.use((_req, res, next) => {
    if (draining) res.shouldKeepAlive = false;
    next();
  });
  // The route reads the raw body itself (one buffer, one JSON.parse) and writes the answer with
  // writeHead/end: body-parser's stream decoding and res.json's header logic cost more per request
  // than the evaluation of a typical AdmissionReview.
  //
  // In-flight reviews are counted around the handler: a 'close' listener per response with a set of
  // the open ones kept each AdmissionReview alive long enough to be promoted to the old generation
  // (a full collection every second or two at 1,000 req/s).
  app.post('/validate', (req: Request, res: Response, next: NextFunction) => {
    inFlight++;
    readJsonBody(req, bodyLimitBytes)
      .then((body) => handleValidate(body, res, options, recordDecision, isDraining))
      .catch(next)
      .finally(() => inFlight--);
  });
  app.all('/validate', (_req, res) => {
    res
      .status(405)
      .set('Allow', 'POST')
      .json({ error: 'use POST with an admission.k8s.io/v1 AdmissionReview' });
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found: the admission endpoint is POST /validate' });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (draining) res.shouldKeepAlive = false;
    const status = clientErrorStatus(error);
    if (status !== undefined) {
      options.metrics.badRequest();
      res.status(status).json({ error: clientErrorMessage(error, status) });
      return;
    }
    options.logger.error({ event: 'internal-error', err: error }, 'unhandled error');
    res.status(500).json({ error: 'internal error' });
  });

  const httpsServer = createHttpsServer({ ...secureOptions(options.keyPair), requestTimeout: 30_000 }, app);
  httpsServer.keepAliveTimeout = 65_000;

  const notReadyReason = (): string | undefined => {
    if (draining) return 'shutting down';
    try {
      options.bundle.current();
    } catch {
      return 'no valid bundle is active';
    }
    if (!options.namespaces.synced()) return 'namespace cache has not synced yet';
    return options.extraReadiness?.();
  };

  const opsApp = express();
  opsApp.disable('x-powered-by');
  opsApp.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  opsApp.get('/readyz', (_req, res) => {
    const reason = notReadyReason();
    if (reason) res.status(503).type('text/plain').send(`not ready: ${reason}\n`);
    else {
      const { identity } = options.bundle.current();
      res.type('text/plain').send(`ok: bundle ${identity.name}@${identity.version} ${identity.digest}\n`);
    }
  });
  opsApp.get('/metrics', async (_req, res) => {
    res.set('Content-Type', options.metrics.registry.contentType);
    res.send(await options.metrics.registry.metrics());
  });
  const opsServer = createHttpServer(opsApp);

  return {
    https: httpsServer,
    ops: opsServer,
    async listen({ host, port, opsHost, opsPort }) {
      await listenOn(httpsServer, port, host);
      await listenOn(opsServer, opsPort, opsHost);
      return {
        port: (httpsServer.address() as AddressInfo).port,
        opsPort: (opsServer.address() as AddressInfo).port,
      };
    },
    notReadyReason,
    inFlight: () => inFlight,
    async close(graceMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => httpsServer.close(() => resolve()));
      httpsServer.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      httpsServer.closeIdleConnections();
      const forced = setTimeout(() => httpsServer.closeAllConnections(), Math.max(0, deadline - Date.now()));
      await closed;
      clearTimeout(forced);
      await new Promise<void>((resolve) => {
        opsServer.close(() => resolve());
        opsServer.closeAllConnections();
      });
    },
  };
}

function listenOn(server: HttpServer | HttpsServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function clientErrorStatus(error: unknown): number | undefined {
  if (error instanceof AdmissionRequestError) return error.status;
  if (typeof error === 'object' && error !== null) {
    const status = (error as { status?: unknown; statusCode?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return status;
  }
  return undefined;
}

function clientErrorMessage(error: unknown, status: number): string {
  if (status === 413) return `request body larger than ${bodyLimitBytes} bytes`;
  return error instanceof Error ? error.message : 'bad request';
}

/** A request body that cannot be read as JSON: its HTTP status and a message naming what is wrong. */
export class RequestBodyError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'RequestBodyError';
    this.status = status;
  }
}

/** Settles a body read once; emptied when it has, so whatever still holds the reader holds nothing. */
interface BodySettler {
  settle?: ((error: RequestBodyError | undefined, body?: unknown) => void) | undefined;
}

/**
 * Reads a request body of at most `limit` bytes into one buffer and parses it as UTF-8 JSON.
 * Rejects with {@link RequestBodyError}: 413 over the limit (by Content-Length before reading, or
 * while reading), 415 for a Content-Encoding other than identity (the API server never compresses
 * AdmissionReviews), 400 for malformed JSON. Once settled, nothing the request still holds reaches
 * the parsed body: the request and its listeners live until the keep-alive connection's next
 * request, which kept the last AdmissionReview of every connection (up to the 7 MiB limit) alive.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const settler: BodySettler = {};
  const body = new Promise<unknown>((resolve, reject) => {
    settler.settle = (error, value) => (error ? reject(error) : resolve(value));
  });
  // The listeners are made in another function: closures of the executor would share its scope,
  // and with it `resolve`, the promise and the parsed body.
  readInto(req, limit, settler);
  return body;
}

function readInto(req: IncomingMessage, limit: number, settler: BodySettler): void {
  let chunks: Buffer[] = [];
  let length = 0;
  const finish = (error: RequestBodyError | undefined, value?: unknown): void => {
    const settle = settler.settle;
    settler.settle = undefined;
    chunks = [];
    req.off('data', onData);
    settle?.(error, value);
  };
  const onData = (chunk: Buffer): void => {
    length += chunk.length;
    if (length > limit) {
      finish(new RequestBodyError(413, `request body larger than ${limit} bytes`));
      req.resume();
      return;
    }
    chunks.push(chunk);
  };
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    req.resume();
    finish(
      new RequestBodyError(415, `unsupported Content-Encoding "${encoding}": send the JSON uncompressed`),
    );
    return;
  }
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    finish(new RequestBodyError(413, `request body larger than ${limit} bytes`));
    return;
  }
  req.on('data', onData);
  req.once('error', (error) => {
    finish(new RequestBodyError(400, `request body not read whole: ${error.message}`));
  });
  req.once('end', () => {
    if (!settler.settle) return;
    const text = (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length)).toString(
      'utf8',
    );
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      finish(
        new RequestBodyError(
          400,
          `malformed JSON: ${(error as Error).message}; expected an admission.k8s.io/v1 AdmissionReview`,
        ),
      );
      return;
    }
    finish(undefined, value);
  });
}

/** Writes a JSON answer with its length (no ETag, no freshness check: answers are never cached). */
function sendJson(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const envelopeHead = '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":';

async function handleValidate(
  body: unknown,
  res: Response,
  options: WebhookServerOptions,
  recordDecision: (line: DecisionLine) => void,
  isDraining: () => boolean,
): Promise<void> {
  const started = performance.now();
  const send = (status: number, text: string): void => {
    if (isDraining()) res.shouldKeepAlive = false;
    sendJson(res, status, text);
  };
  let request: AdmissionRequest;
  try {
    request = parseAdmissionReview(body);
  } catch (error) {
    if (error instanceof AdmissionRequestError) {
      options.metrics.badRequest();
      send(error.status, JSON.stringify({ error: error.message }));
      return;
    }
    throw error;
  }
  const bundle = options.bundle.current();
  const answer = (
    response: AdmissionResponse,
    metricDecision: Parameters<WebhookMetrics['observeRequest']>[0]['decision'],
    report?: Report,
    cause?: string,
  ): void => {
    if (res.headersSent) return;
    const durationMs = performance.now() - started;
    // the same bytes as JSON.stringify(reviewEnvelope(response)), without copying the response
    send(200, `${envelopeHead}${JSON.stringify(response)}}`);
    options.metrics.observeRequest({
      operation: request.operation,
      decision: metricDecision,
      dryRun: request.dryRun,
      seconds: durationMs / 1000,
      ...(report ? { report } : {}),
    });
    recordDecision(
      decisionLine({
        request,
        decision: response.allowed ? 'allow' : 'deny',
        bundle: bundle.identity,
        bundleSignature: options.bundle.signature?.(),
        durationMs,
        ...(report ? { report } : {}),
        ...(cause ? { cause } : {}),
      }),
    );
  };

  const prepared = prepareReview({ request });
  if ('skipped' in prepared) {
    answer(allowResponse(request.uid), 'skipped', undefined, `skipped: ${prepared.skipped}`);
    return;
  }
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), options.deadlineMs);
  });
  const context: EngineContext = {
    now: options.now ?? new Date(),
    point: 'admission',
    namespaces: options.namespaces.lookup,
    signal: controller.signal,
    ...(options.services ? { services: options.services } : {}),
  };
  try {
    const outcome = await Promise.race([evaluate(prepared.input, bundle, context), deadline]);
    if (outcome === 'deadline') {
      controller.abort(new Error(`tollgate deadline of ${options.deadlineMs} ms passed`));
      options.metrics.failure('deadline');
      options.logger.warn(
        { event: 'deadline', uid: request.uid, deadlineMs: options.deadlineMs },
        'no decision before the deadline',
      );
      answer(
        failureResponse(request.uid, options.failureAction, `no decision within ${options.deadlineMs} ms`),
        options.failureAction === 'allow' ? 'failure-allow' : 'failure-deny',
        undefined,
        'deadline',
      );
      return;
    }
    answer(
      buildResponse({ uid: request.uid, report: outcome, subject: subjectOf(request) }),
      outcome.decision,
      outcome,
    );
  } catch (error) {
    options.metrics.failure('internal-error');
    options.logger.error({ event: 'internal-error', uid: request.uid, err: error }, 'evaluation crashed');
    answer(
      failureResponse(request.uid, options.failureAction, 'internal error while evaluating'),
      options.failureAction === 'allow' ? 'failure-allow' : 'failure-deny',
      undefined,
      'internal-error',
    );
  } finally {
    clearTimeout(timer);
  }
}
