/**
 * A real break-glass approval for tests: a token requested by alice and co-signed with two of the
 * published TEST-ONLY approver keys that `policies/freeze-windows/samples/break-glass-demo.yaml`
 * trusts, and an UPDATE of a Deployment in a production namespace carrying it.
 */
import { readFileSync } from 'node:fs';
import { importJWK } from 'jose';
import type { JWK } from 'jose';
import { addApproval, breakGlassAnnotation, createRequest } from '../../policies/index.ts';
import type { KubeObject } from '../../policies/index.ts';

const keysDir = new URL('../../policies/freeze-windows/samples/keys/', import.meta.url);
/** The demo bundle whose freeze-windows trusts the TEST-ONLY approver keys. */
export const breakGlassDemoBundle = new URL(
  '../../policies/freeze-windows/samples/break-glass-demo.yaml',
  import.meta.url,
);
/** An instant inside the November 2026 close of the demo bundle (de-gmbh). */
export const inNovemberClose = new Date('2026-11-30T10:00:00Z');

/** A break-glass token (JSON text) for `name` in `namespace`, valid around `at`. */
export async function breakGlassToken(options: {
  namespace: string;
  name: string;
  kind?: string;
  at?: Date;
  ticket?: string;
}): Promise<string> {
  const at = options.at ?? inNovemberClose;
  const seconds = Math.floor(at.getTime() / 1000);
  let jws = createRequest({
    requester: 'alice@corp.example',
    ticket: options.ticket ?? 'INC-4711',
    reason: 'payment run fails during the close',
    scope: { namespaces: [options.namespace], kinds: [options.kind ?? 'Deployment'], names: [options.name] },
    nbf: seconds - 3600,
    exp: seconds + 4 * 3600,
  });
  for (const kid of ['controller-de@corp.example', 'cfo@corp.example']) {
    const key = JSON.parse(
      readFileSync(new URL(`TEST-ONLY.${kid}.private.jwk.json`, keysDir), 'utf8'),
    ) as JWK & {
      alg: string;
    };
    jws = await addApproval(jws, await importJWK(key, key.alg), { alg: key.alg, kid });
  }
  return JSON.stringify(jws);
}

/** A Deployment in `namespace` running `tag`, optionally carrying a break-glass token. */
export function releaseDeployment(namespace: string, name: string, token?: string, tag = '17.0'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, ...(token ? { annotations: { [breakGlassAnnotation]: token } } : {}) },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: `registry.corp.example/erp/odoo:${tag}`,
              env: [{ name: 'DB_PASSWORD', value: 'hunter2-not-for-logs' }],
              resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
            },
          ],
        },
      },
    },
  };
}

/** A namespace lookup where `production` namespaces carry the admin-only production label. */
export function productionNamespaces(
  production: readonly string[],
): (name: string) => KubeObject | undefined {
  return (name) =>
    production.includes(name)
      ? {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, labels: { 'tollgate.dev/environment': 'production' } },
        }
      : { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}
