/**
 * A small client for the OCI distribution API: manifests (tag → digest by hashing the body we
 * received, never a header), blobs (digest-checked), referrers, and push for tests and tooling.
 * Bearer-token (WWW-Authenticate challenge) and basic auth; per-request timeouts inside the
 * caller's overall deadline (an AbortSignal); bounded retries with backoff on 429 (honouring
 * Retry-After when it fits the deadline), 5xx and network errors. HTTPS unless the target is
 * marked insecure.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { RegistryError } from './registry-error.ts';
import type { CredentialStore } from './credentials.ts';

/** Media types of manifests and indexes the client asks for. */
export const manifestMediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const acceptManifests = Object.values(manifestMediaTypes).join(', ');

/** Which repository to talk to. */
export interface RegistryTarget {
  /** Normalized host with port (`docker.io` is served by `registry-1.docker.io`). */
  readonly registry: string;
  readonly repository: string;
  /** Plain HTTP (only for registries the bundle marks insecure). */
  readonly insecure: boolean;
}

/** A manifest as received, with the digest computed from its bytes. */
export interface FetchedManifest {
  /** `sha256:<hex>` of the body. */
  readonly digest: string;
  readonly mediaType: string;
  readonly body: Buffer;
  readonly json: Record<string, unknown>;
}

/** One HTTP exchange, reported to {@link RegistryClientOptions.onRequest} (metrics, benchmarks). */
export interface RegistryRequestEvent {
  readonly registry: string;
  readonly repository: string;
  readonly method: string;
  readonly path: string;
  /** HTTP status, or 0 when no answer arrived. */
  readonly status: number;
  readonly durationMs: number;
}

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  readonly credentials?: CredentialStore;
  /** Timeout of one HTTP request (default 2000 ms); the caller's signal bounds the whole operation. */
  readonly requestTimeoutMs?: number;
  /** Attempts per request for 429, 5xx and network errors (default 3). */
  readonly maxAttempts?: number;
  /** First backoff delay (default 50 ms), doubled per attempt with jitter. */
  readonly backoffMs?: number;
  /** Largest manifest or signature blob accepted (default 4 MiB). */
  readonly maxBodyBytes?: number;
  readonly onRequest?: (event: RegistryRequestEvent) => void;
  /** User-Agent header (default `tollgate`). */
  readonly userAgent?: string;
}

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

interface Challenge {
  readonly scheme: string;
  readonly params: Record<string, string>;
}

/** Parses a WWW-Authenticate header (`Bearer realm="…",service="…",scope="…"`). */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (const m of (match[2] ?? '').matchAll(re)) {
    const key = (m[1] ?? '').toLowerCase();
    params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params };
}

/** `sha256:<hex>` of bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Seconds or HTTP-date of a Retry-After header, in ms (undefined when absent or unparsable). */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Remaining ms before a deadline signal fires, when the signal carries one (see {@link deadlineSignal}). */
function remainingMs(signal: AbortSignal | undefined): number {
  const deadline = signal ? deadlines.get(signal) : undefined;
  return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
}

const deadlines = new WeakMap<AbortSignal, number>();

/** An AbortSignal that fires after `ms` (and when `parent` fires), whose deadline the client can read to plan retries. */
export function deadlineSignal(ms: number, parent?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  const signal = parent ? AbortSignal.any([timeout, parent]) : timeout;
  const own = Date.now() + ms;
  const inherited = parent ? deadlines.get(parent) : undefined;
  deadlines.set(signal, inherited === undefined ? own : Math.min(own, inherited));
  return signal;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    if (error.name === 'TimeoutError') return 'timed out';
    if (error.name === 'AbortError') return 'aborted';
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return code && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message;
    }
    return error.message;
  }
  return String(error);
}

/** OCI distribution client with auth, deadlines and retries; one instance is shared by all look-ups. */
export class RegistryClient {
  readonly #options: Required<Omit<RegistryClientOptions, 'credentials' | 'onRequest'>> &
    Pick<RegistryClientOptions, 'credentials' | 'onRequest'>;
  /** Bearer tokens by registry and scope, expiring with the token. */
  readonly #tokens = new LRUCache<string, string>({ max: 1000, ttl: 60_000 });
  /** Registries known to want Basic auth. */
  readonly #basic = new Set<string>();
  /** Registries that answered the referrers API with 404/405 (not implemented), asked again after 10 min. */
  readonly #noReferrers = new LRUCache<string, true>({ max: 1000, ttl: 600_000 });

  constructor(options: RegistryClientOptions = {}) {
    this.#options = {
      requestTimeoutMs: options.requestTimeoutMs ?? 2000,
      maxAttempts: options.maxAttempts ?? 3,
      backoffMs: options.backoffMs ?? 50,
      maxBodyBytes: options.maxBodyBytes ?? 4 * 1024 * 1024,
      userAgent: options.userAgent ?? 'tollgate',
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    };
  }

  /** Base URL of a registry's API. */
  baseUrl(target: RegistryTarget): string {
    const host = target.registry === 'docker.io' ? 'registry-1.docker.io' : target.registry;
    return `${target.insecure ? 'http' : 'https'}://${host}`;
  }

  /**
   * Fetches a manifest by tag or digest. The digest is sha256 of the body received; when asked by
   * digest, a body whose hash differs is rejected. Throws RegistryError `not-found` on 404.
   */
  async getManifest(
    target: RegistryTarget,
    reference: string,
    call: CallOptions = {},
  ): Promise<FetchedManifest> {
    const path = `/v2/${target.repository}/manifests/${reference}`;
    const response = await this.#request(target, 'GET', path, { accept: acceptManifests, call });
    if (response.status === 404)
      throw new RegistryError('not-found', `manifest ${target.repository}:${reference} not found`, {
        status: 404,
      });
    await this.#expectOk(response, target, path);
    const body = await this.#readBody(response, path, target);
    const digest = sha256Digest(body);
    if (reference.includes(':') && reference !== digest) {
      throw new RegistryError(
        'invalid',
        `the registry returned a manifest whose digest is ${digest}, not the requested ${reference}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new RegistryError('invalid', `manifest ${target.repository}:${reference} is not JSON`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new RegistryError('invalid', `manifest ${target.repository}:${reference} is not a JSON object`);
    const record = json as Record<string, unknown>;
    const mediaType =
      typeof record.mediaType === 'string'
        ? record.mediaType
        : (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ||
          manifestMediaTypes.ociManifest;
    return { digest, mediaType, body, json: record };
  }

  /** Fetches a manifest, or undefined when it does not exist. */
  async findManifest(
    target: RegistryTarget,
    reference: string,
    call: CallOptions = {},
  ): Promise<FetchedManifest | undefined> {
    try {
      return await this.getManifest(target, reference, call);
    } catch (error) {
      if (error instanceof RegistryError && error.kind === 'not-found') return undefined;
      throw error;
    }
  }

  /** Fetches a blob and checks its sha256 against the digest. */
  async getBlob(target: RegistryTarget, digest: string, call: CallOptions = {}): Promise<Buffer> {
    const path = `/v2/${target.repository}/blobs/${digest}`;
    const response = await this.#request(target, 'GET', path, { call });
    if (response.status === 404)
      throw new RegistryError('not-found', `blob ${target.repository}@${digest} not found`, { status: 404 });
    await this.#expectOk(response, target, path);
    const body = await this.#readBody(response, path, target);
    if (sha256Digest(body) !== digest)
      throw new RegistryError('invalid', `blob ${target.repository}@${digest} does not match its digest`);
    return body;
  }

  /**
   * Lists referrers of a digest through `/v2/<repo>/referrers/<digest>`. Returns undefined when the
   * registry does not implement the API (404 or 405; remembered per registry for 10 minutes, since
   * a registry that implements it answers an empty index for unknown digests), so the caller can
   * use the tag fallback.
   */
  async getReferrers(
    target: RegistryTarget,
    digest: string,
    artifactType: string | undefined,
    call: CallOptions = {},
  ): Promise<Array<Record<string, unknown>> | undefined> {
    const base = this.baseUrl(target);
    if (this.#noReferrers.has(base)) return undefined;
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const path = `/v2/${target.repository}/referrers/${digest}${query}`;
    const response = await this.#request(target, 'GET', path, { accept: manifestMediaTypes.ociIndex, call });
    if (response.status === 404 || response.status === 405 || response.status === 400) {
      await response.body?.cancel();
      this.#noReferrers.set(base, true);
      return undefined;
    }
    const body = await this.#readBody(response, path, target);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return undefined;
    }
    const manifests = (json as { manifests?: unknown }).manifests;
    if (!Array.isArray(manifests)) return undefined;
    return manifests.filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null);
  }

  /** Uploads a blob (monolithic POST then PUT); a no-op when it exists. Returns its digest. */
  async putBlob(target: RegistryTarget, bytes: Uint8Array, call: CallOptions = {}): Promise<string> {
    const digest = sha256Digest(bytes);
    const head = await this.#request(target, 'HEAD', `/v2/${target.repository}/blobs/${digest}`, {
      call,
      scope: 'pull,push',
    });
    if (head.status === 200) return digest;
    const start = await this.#request(target, 'POST', `/v2/${target.repository}/blobs/uploads/`, {
      call,
      scope: 'pull,push',
    });
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (start.status !== 202 || !location)
      throw new RegistryError('invalid', `blob upload not accepted (HTTP ${start.status})`, {
        status: start.status,
      });
    const url = new URL(location, this.baseUrl(target));
    url.searchParams.set('digest', digest);
    const put = await this.#request(target, 'PUT', `${url.pathname}${url.search}`, {
      call,
      scope: 'pull,push',
      body: bytes,
      contentType: 'application/octet-stream',
    });
    await put.body?.cancel();
    if (put.status !== 201)
      throw new RegistryError('invalid', `blob upload failed (HTTP ${put.status})`, { status: put.status });
    return digest;
  }

  /** Uploads a manifest under a tag or its digest. Returns its digest. */
  async putManifest(
    target: RegistryTarget,
    reference: string,
    body: Uint8Array,
    mediaType: string,
    call: CallOptions = {},
  ): Promise<string> {
    const put = await this.#request(target, 'PUT', `/v2/${target.repository}/manifests/${reference}`, {
      call,
      scope: 'pull,push',
      body,
      contentType: mediaType,
    });
    const text = await put.text();
    if (put.status !== 201)
      throw new RegistryError(
        'invalid',
        `manifest upload failed (HTTP ${put.status}): ${text.slice(0, 300)}`,
        {
          status: put.status,
        },
      );
    return sha256Digest(body);
  }

  /** Rejects answers other than 200 (e.g. 400 for a malformed name) before a body is hashed. */
  async #expectOk(response: Response, target: RegistryTarget, path: string): Promise<void> {
    if (response.status === 200) return;
    await response.body?.cancel();
    throw new RegistryError('unreachable', `${target.registry}: HTTP ${response.status} on GET ${path}`, {
      status: response.status,
    });
  }

  async #readBody(response: Response, path: string, target: RegistryTarget): Promise<Buffer> {
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > this.#options.maxBodyBytes) {
      await response.body?.cancel();
      throw new RegistryError(
        'invalid',
        `${path} on ${target.registry} is larger than ${this.#options.maxBodyBytes} bytes`,
      );
    }
    let body: Buffer;
    try {
      body = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      throw new RegistryError(
        'unreachable',
        `${target.registry}: reading ${path} failed: ${describeFailure(error)}`,
        {
          cause: error,
        },
      );
    }
    if (body.length > this.#options.maxBodyBytes)
      throw new RegistryError(
        'invalid',
        `${path} on ${target.registry} is larger than ${this.#options.maxBodyBytes} bytes`,
      );
    return body;
  }

  /**
   * One logical request: authorizes (answering a 401 challenge once), retries 429/5xx/network
   * errors with backoff while the deadline allows, and returns the final response. Answers other
   * than 2xx/404 after retries become RegistryError `unreachable`.
   */
  async #request(
    target: RegistryTarget,
    method: string,
    path: string,
    request: {
      accept?: string;
      call: CallOptions;
      scope?: string;
      body?: Uint8Array;
      contentType?: string;
    },
  ): Promise<Response> {
    const signal = request.call.signal;
    const scope = `repository:${target.repository}:${request.scope ?? 'pull'}`;
    const tokenKey = `${target.registry}|${scope}`;
    let authorized = false;
    let lastProblem = '';
    for (let attempt = 1; attempt <= this.#options.maxAttempts; attempt++) {
      if (signal?.aborted) break;
      const headers: Record<string, string> = { 'user-agent': this.#options.userAgent };
      if (request.accept) headers.accept = request.accept;
      if (request.contentType) headers['content-type'] = request.contentType;
      const authorization = this.#authorization(target.registry, tokenKey);
      if (authorization) headers.authorization = authorization;
      const started = performance.now();
      let response: Response;
      try {
        const timeout = AbortSignal.timeout(this.#options.requestTimeoutMs);
        response = await fetch(`${this.baseUrl(target)}${path}`, {
          method,
          headers,
          redirect: 'follow',
          signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
          ...(request.body ? { body: request.body } : {}),
        });
      } catch (error) {
        this.#report(target, method, path, 0, started);
        if (signal?.aborted) {
          lastProblem = `the deadline passed during ${method} ${path}`;
          break;
        }
        lastProblem = describeFailure(error);
        if (lastProblem.includes('ENOTFOUND')) break;
        if (!(await this.#backoff(attempt, undefined, signal))) break;
        continue;
      }
      this.#report(target, method, path, response.status, started);
      if (response.status === 401 && !authorized) {
        authorized = true;
        const challenge = parseChallenge(response.headers.get('www-authenticate') ?? '');
        await response.body?.cancel();
        await this.#answerChallenge(target, challenge, scope, tokenKey, signal);
        attempt--;
        continue;
      }
      if (response.status === 429 || response.status >= 500) {
        await response.body?.cancel();
        const wait = retryAfterMs(response.headers.get('retry-after'), Date.now());
        lastProblem =
          response.status === 429
            ? `rate limited (HTTP 429${wait !== undefined ? `, Retry-After ${Math.round(wait / 1000)}s` : ''})`
            : `HTTP ${response.status} on ${method} ${path}`;
        if (!(await this.#backoff(attempt, wait, signal))) break;
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel();
        throw new RegistryError(
          'unreachable',
          `${target.registry} refused access to ${target.repository} (HTTP ${response.status}); check the pull credentials`,
          { status: response.status },
        );
      }
      if (
        response.status >= 400 &&
        response.status !== 404 &&
        response.status !== 405 &&
        response.status !== 400
      ) {
        const text = (await response.text()).slice(0, 200);
        throw new RegistryError(
          'unreachable',
          `${target.registry}: HTTP ${response.status} on ${method} ${path}: ${text}`,
          {
            status: response.status,
          },
        );
      }
      return response;
    }
    throw new RegistryError(
      'unreachable',
      `registry ${target.registry} unreachable: ${lastProblem || 'the deadline passed'}`,
    );
  }

  /** Waits before the next attempt; false when no attempt is left or the wait would pass the deadline. */
  async #backoff(
    attempt: number,
    retryAfter: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    if (attempt >= this.#options.maxAttempts) return false;
    const exponential = this.#options.backoffMs * 2 ** (attempt - 1);
    const delay = retryAfter ?? exponential * (0.5 + Math.random() / 2);
    if (delay >= remainingMs(signal)) return false;
    try {
      await sleep(delay, signal);
    } catch {
      return false;
    }
    return true;
  }

  #authorization(registry: string, tokenKey: string): string | undefined {
    const token = this.#tokens.get(tokenKey);
    if (token) return `Bearer ${token}`;
    if (this.#basic.has(registry)) {
      const credential = this.#options.credentials?.get(registry);
      if (credential)
        return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
    }
    return undefined;
  }

  async #answerChallenge(
    target: RegistryTarget,
    challenge: Challenge | undefined,
    scope: string,
    tokenKey: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const credential = this.#options.credentials?.get(target.registry);
    if (challenge?.scheme === 'basic') {
      if (!credential)
        throw new RegistryError(
          'unreachable',
          `${target.registry} requires authentication and no credentials are configured`,
          {
            status: 401,
          },
        );
      this.#basic.add(target.registry);
      return;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm)
      throw new RegistryError(
        'unreachable',
        `${target.registry} answered 401 without a usable WWW-Authenticate challenge`,
        {
          status: 401,
        },
      );
    const realm = new URL(challenge.params.realm);
    if (realm.protocol !== 'https:' && !target.insecure)
      throw new RegistryError(
        'unreachable',
        `${target.registry}: refusing a token realm over plain HTTP (${realm.origin})`,
      );
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', challenge.params.scope ?? scope);
    const headers: Record<string, string> = { 'user-agent': this.#options.userAgent };
    if (credential)
      headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
    const started = performance.now();
    let response: Response;
    try {
      const timeout = AbortSignal.timeout(this.#options.requestTimeoutMs);
      response = await fetch(realm, {
        headers,
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      });
    } catch (error) {
      this.#report(target, 'GET', realm.pathname, 0, started);
      throw new RegistryError(
        'unreachable',
        `token service ${realm.origin} unreachable: ${describeFailure(error)}`,
        {
          cause: error,
        },
      );
    }
    this.#report(target, 'GET', realm.pathname, response.status, started);
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new RegistryError(
        'unreachable',
        `token service ${realm.origin} refused a token for ${scope} (HTTP ${response.status})${credential ? '' : '; no credentials are configured'}`,
        { status: response.status },
      );
    }
    const json = (await response.json()) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof json.token === 'string' ? json.token : json.access_token;
    if (typeof token !== 'string' || token === '')
      throw new RegistryError('unreachable', `token service ${realm.origin} returned no token`);
    const expiresIn = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 60;
    this.#tokens.set(tokenKey, token, { ttl: Math.max(1, expiresIn - 5) * 1000 });
  }

  #report(target: RegistryTarget, method: string, path: string, status: number, started: number): void {
    this.#options.onRequest?.({
      registry: target.registry,
      repository: target.repository,
      method,
      path,
      status,
      durationMs: performance.now() - started,
    });
  }
}
