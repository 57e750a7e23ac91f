/**
 * The bundle files of `tollgate evidence report --bundles DIR` (and the embedded default): for each,
 * its digest (to match the decision log's bundle identity), whether a detached signature sits beside
 * it and verifies, the controls each policy carries, the exemptions it grants and its freeze windows.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { readDefaultBundle, defaultBundleSource } from '../io/default-bundle.ts';
import { parseDetachedSignature, verifyBundleSignature } from '../io/signing/bundle-signature.ts';
import type { TrustedKeys } from '../io/signing/bundle-signature.ts';
import { defaultSignaturePath } from '../io/signing/signing.ts';
import {
  entityWindows,
  freezeParamsIn,
  InputError,
  loadBundle,
  loadHolidayCalendars,
} from '../policies/index.ts';
import type { CompiledBundle, FreezeWindow } from '../policies/index.ts';

/** A bundle file as evidence. */
export interface EvidenceBundle {
  readonly file: string;
  readonly name: string;
  readonly version: string;
  readonly digest: string;
  readonly signature: {
    readonly status: 'verified' | 'unverified' | 'unsigned';
    readonly alg?: string;
    readonly keyIds: string[];
    /** Why a signature did not verify, or that no trusted keys were given. */
    readonly note?: string;
  };
  readonly policies: ReadonlyArray<{ id: string; version: string; controls: readonly string[] }>;
  readonly exemptions: ReadonlyArray<{
    policy: string;
    ticket: string;
    reason: string;
    owner?: string;
    expires: string;
    expiresAt: Date;
    scope: string;
  }>;
  /** The bundle's freeze windows overlapping [from, to). */
  freezeWindows(from: Date, to: Date): FreezeWindow[];
}

const bundleKind = /^kind:\s*['"]?PolicyBundle['"]?\s*$|"kind"\s*:\s*"PolicyBundle"/m;

/** Turns a loaded bundle into evidence. */
async function evidenceOf(
  bundle: CompiledBundle,
  file: string,
  signatureText: string | undefined,
  bytes: Uint8Array,
  trusted: TrustedKeys | undefined,
): Promise<EvidenceBundle> {
  let signature: EvidenceBundle['signature'] = { status: 'unsigned', keyIds: [] };
  if (signatureText !== undefined) {
    let alg: string | undefined;
    let kid: string | undefined;
    try {
      const jws = parseDetachedSignature(signatureText, file);
      const header = decodeProtectedHeader({ ...jws, payload: '' });
      alg = header.alg;
      kid = header.kid;
    } catch {
      // Reported below as a signature that does not verify.
    }
    const keyIds = kid ? [kid] : [];
    if (!trusted)
      signature = { status: 'unverified', ...(alg ? { alg } : {}), keyIds, note: 'no --trusted-keys given' };
    else {
      try {
        const verified = await verifyBundleSignature(bytes, signatureText, trusted, file);
        signature = { status: 'verified', alg: verified.alg, keyIds: verified.kid ? [verified.kid] : keyIds };
      } catch (error) {
        signature = { status: 'unverified', ...(alg ? { alg } : {}), keyIds, note: (error as Error).message };
      }
    }
  }
  const params = freezeParamsIn(bundle);
  // freezeWindows() below computes calendars synchronously: load the holiday tables they read now.
  if (params) await loadHolidayCalendars(params);
  return {
    file,
    name: bundle.identity.name,
    version: bundle.identity.version,
    digest: bundle.identity.digest,
    signature,
    policies: bundle.policies.map((policy) => ({
      id: policy.policy.id,
      version: policy.policy.version,
      controls: policy.controls,
    })),
    exemptions: bundle.exemptions.map((exemption) => {
      const scope = [
        exemption.namespaces ? `namespaces ${exemption.namespaces.join(', ')}` : '',
        exemption.kinds ? `kinds ${exemption.kinds.join(', ')}` : '',
        exemption.names ? `names ${exemption.names.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      return {
        policy: exemption.policy,
        ticket: exemption.ticket,
        reason: exemption.reason,
        ...(exemption.owner ? { owner: exemption.owner } : {}),
        expires: exemption.expires,
        expiresAt: exemption.expiresAt,
        scope: scope || 'everything the policy judges',
      };
    }),
    freezeWindows(from, to) {
      if (!params) return [];
      const rules = params.rules.map((scoped) => scoped.rule);
      const start = new Date(from.getTime() - 40 * 86_400_000);
      return params.entities
        .flatMap((entity) => entityWindows(rules, entity, start, to))
        .filter((window) => window.end > from && window.start < to);
    },
  };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Reads every bundle file (YAML or JSON with `kind: PolicyBundle`) in `dir`, plus the embedded
 * default. A file that says it is a bundle but does not load is an InputError naming it.
 */
export async function loadEvidenceBundles(
  dir: string | undefined,
  trusted: TrustedKeys | undefined,
): Promise<EvidenceBundle[]> {
  const out: EvidenceBundle[] = [];
  const defaultBytes = await readDefaultBundle();
  out.push(
    await evidenceOf(
      loadBundle(defaultBytes, { source: defaultBundleSource }),
      defaultBundleSource,
      undefined,
      defaultBytes,
      trusted,
    ),
  );
  if (!dir) return out;
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    throw new InputError(dir, `cannot read the bundles directory: ${(error as Error).message}`);
  }
  for (const name of names) {
    if (!/\.(ya?ml|json)$/.test(name)) continue;
    const file = join(dir, name);
    const bytes = await readFile(file);
    if (!bundleKind.test(bytes.toString('utf8'))) continue;
    let bundle: CompiledBundle;
    try {
      bundle = loadBundle(bytes, { source: file });
    } catch (error) {
      throw new InputError(file, `is not a usable bundle: ${(error as Error).message}`);
    }
    out.push(await evidenceOf(bundle, file, await readOptional(defaultSignaturePath(file)), bytes, trusted));
  }
  return out;
}
