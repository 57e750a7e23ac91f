import { request as httpsRequest, Agent } from 'node:https';
import { readFileSync } from 'node:fs';

/** How to reach and authenticate to the API server: its URL, CA and a client certificate. */
export interface KubeConnection {
  readonly url: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** What the API server answered, as a user of kubectl would see it: status, body and warnings. */
export interface KubeResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  /** The texts of the `Warning:` headers, the way kubectl prints them. */
  readonly warnings: readonly string[];
}

/** Per-request options. */
export interface RequestOptions {
  /** Server-side dry-run (`?dryRun=All`). */
  readonly dryRun?: boolean;
  readonly query?: Readonly<Record<string, string>>;
  readonly contentType?: string;
  /** Act as another identity through the API server's impersonation headers (the admin may impersonate anyone). */
  readonly impersonate?: { readonly user: string; readonly groups?: readonly string[] };
}

/** A Kubernetes `Status` object, as returned with errors such as a webhook's 403. */
export interface KubeStatus {
  readonly kind: 'Status';
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
}

/** Object metadata the tests read. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [key: string]: unknown;
}

/**
 * Parses RFC 7234 warning values (`299 - "text"`) into their texts. A header line may hold several
 * comma-separated warnings; quoted texts may contain escaped quotes.
 */
export function parseWarnings(values: readonly string[]): string[] {
  const texts: string[] = [];
  const pattern = /\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/g;
  for (const value of values) {
    for (const match of value.matchAll(pattern)) {
      texts.push((match[1] ?? '').replace(/\\(.)/g, '$1'));
    }
  }
  return texts;
}

/**
 * A minimal API server client over HTTPS with a client certificate. It returns the raw status and
 * warnings rather than throwing, because the e2e tests assert exactly what a user sees.
 */
export class KubeClient {
  readonly connection: KubeConnection;
  readonly #agent: Agent;

  constructor(connection: KubeConnection) {
    this.connection = connection;
    this.#agent = new Agent({
      ca: readFileSync(connection.caFile),
      cert: readFileSync(connection.certFile),
      key: readFileSync(connection.keyFile),
      keepAlive: true,
    });
  }

  /** Sends one request; `body` is JSON-encoded unless it is a string. */
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<KubeResponse<T>> {
    const url = new URL(path, this.connection.url);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
    if (options.dryRun) url.searchParams.set('dryRun', 'All');
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string | string[]> = { Accept: 'application/json' };
    if (options.impersonate) {
      headers['Impersonate-User'] = options.impersonate.user;
      if (options.impersonate.groups) headers['Impersonate-Group'] = [...options.impersonate.groups];
    }
    if (payload !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    return new Promise<KubeResponse<T>>((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, agent: this.#agent, timeout: 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            // not JSON (e.g. /readyz): keep the text
          }
          resolve({
            status: res.statusCode ?? 0,
            body: parsed as T,
            warnings: parseWarnings(res.headersDistinct['warning'] ?? []),
          });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.href} timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** GET a path. */
  get<T = KubeObject>(path: string, options?: RequestOptions): Promise<KubeResponse<T>> {
    return this.request<T>('GET', path, undefined, options);
  }

  /** POST (create) an object to a collection path. */
  create<T = KubeObject>(
    collectionPath: string,
    object: unknown,
    options?: RequestOptions,
  ): Promise<KubeResponse<T>> {
    return this.request<T>('POST', collectionPath, object, options);
  }

  /** PUT (replace) an object. */
  replace<T = KubeObject>(path: string, object: unknown, options?: RequestOptions): Promise<KubeResponse<T>> {
    return this.request<T>('PUT', path, object, options);
  }

  /** PATCH an object; a merge patch unless `contentType` says otherwise. */
  patch<T = KubeObject>(
    path: string,
    patch: unknown,
    options: RequestOptions = {},
  ): Promise<KubeResponse<T>> {
    return this.request<T>('PATCH', path, patch, {
      ...options,
      contentType: options.contentType ?? 'application/merge-patch+json',
    });
  }

  /** DELETE an object. */
  delete<T = KubeObject | KubeStatus>(path: string, options?: RequestOptions): Promise<KubeResponse<T>> {
    return this.request<T>('DELETE', path, undefined, options);
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }
}
