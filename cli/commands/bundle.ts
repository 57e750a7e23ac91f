/**
 * `tollgate bundle validate|test|sign|verify|diff|schema`: tooling for the security teams that own
 * policy bundles. Each subcommand's work lives in ../../bundle/; this module parses arguments,
 * reads files and prints.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { builtinPolicies, bundleSchema, loadBundle } from '../../policies/index.ts';
import { diffBundles, formatDiff } from '../../ci-action/src/bundle/diff.ts';
import {
  privateKeyFrom,
  publicJwksFor,
  signBundle,
  verifyBundleFile,
  defaultSignaturePath,
} from '../../io/signing/signing.ts';
import { formatSuite, runSuite } from '../../ci-action/src/bundle/suite.ts';
import { formatValidation, validateBundle } from '../../ci-action/src/bundle/validate.ts';
import { loadManifests } from '../../ci-action/src/gate/manifests.ts';
import { loadNamespaceInventory } from '../../ci-action/src/gate/namespaces.ts';
import { parseNow } from '../flags.ts';
import type { CommandIO } from '../io.ts';
import { UsageError } from '../io.ts';

const help = `usage: tollgate bundle <subcommand> [options]

  validate FILE [--now ISO-8601] [--format text|json]
      Schema errors (all at once, with paths and lines), parameter and rule errors, and exemption
      review: expiring within 14 days, expired, shadowed or duplicate. Exit 0 valid, 2 invalid.
  test SUITE [--format text|json]
      Runs a bundle test suite (expected status per policy per case). Exit 0 all pass, 1 failures.
  sign FILE --key KEY [--out FILE.jws] [--print-public-key]
      Writes a detached JWS (RFC 7797, b64:false) over the bundle's exact bytes (default FILE.jws).
  verify FILE --trusted-keys JWKS|PEM [--sig FILE.jws]
      Checks the signature. Exit 0 valid, 2 unsigned, tampered or untrusted.
  diff OLD NEW [--corpus DIR...] [--namespaces FILE] [--point ci|admission|audit] [--now ISO-8601]
       [--format text|json] [--fail-on-new-denials]
      What changed, and which resources of the corpus change verdict (judged as tollgate check
      does, or with --point admission as the webhook does). --namespaces is the trusted namespace
      inventory the corpus is judged with, as for tollgate check.
  schema [--out FILE]
      Prints the bundle JSON Schema (built-in policies and custom rules).
`;

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(
  args: string[],
  options: NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>,
): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
    });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected ${what}\n\n${help}`);
  return positionals[0] as string;
}

function format(values: Values): 'text' | 'json' {
  const value = values.format ?? 'text';
  if (value !== 'text' && value !== 'json')
    throw new UsageError(`--format must be text or json, not "${String(value)}"`);
  return value;
}

async function readBytes(path: string, cwd: string): Promise<Uint8Array> {
  try {
    return await readFile(resolve(cwd, path));
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

function showHelp(io: CommandIO): number {
  io.stdout(help);
  return 0;
}

/** The published bundle JSON Schema (built-in policies and custom rules). */
export function publishedSchema(): Record<string, unknown> {
  return bundleSchema(builtinPolicies);
}

/** Runs `tollgate bundle ...`. */
export async function run(args: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(help);
    return sub === undefined ? 2 : 0;
  }
  switch (sub) {
    case 'validate': {
      const { values, positionals } = parse(rest, {
        now: { type: 'string' },
        format: { type: 'string', short: 'f' },
      });
      if (values.help) return showHelp(io);
      const file = one(positionals, 'one bundle file');
      const result = validateBundle(await readBytes(file, io.cwd), {
        source: file,
        policies: builtinPolicies,
        now: parseNow(values.now as string | undefined),
      });
      if (format(values) === 'json') {
        const { bundle, ...plain } = result;
        io.stdout(
          `${JSON.stringify({ ...plain, ...(bundle ? { bundle: bundle.identity } : {}) }, null, 2)}\n`,
        );
      } else (result.valid ? io.stdout : io.stderr)(formatValidation(result));
      return result.valid ? 0 : 2;
    }
    case 'test': {
      const { values, positionals } = parse(rest, { format: { type: 'string', short: 'f' } });
      if (values.help) return showHelp(io);
      const result = await runSuite(one(positionals, 'one test suite file'), io.cwd);
      io.stdout(format(values) === 'json' ? `${JSON.stringify(result, null, 2)}\n` : formatSuite(result));
      return result.failed === 0 ? 0 : 1;
    }
    case 'sign': {
      const { values, positionals } = parse(rest, {
        key: { type: 'string', short: 'k' },
        out: { type: 'string', short: 'o' },
        'print-public-key': { type: 'boolean' },
      });
      if (values.help) return showHelp(io);
      const file = one(positionals, 'one bundle file');
      if (typeof values.key !== 'string')
        throw new UsageError('--key KEY is required (a PEM or JWK private key)');
      const key = privateKeyFrom(
        await readFile(resolve(io.cwd, values.key), 'utf8').catch(() => {
          throw new UsageError(`cannot read key ${String(values.key)}`);
        }),
        values.key,
      );
      const bytes = await readBytes(file, io.cwd);
      // Refuse to sign what would not load: a signature vouches for a working bundle.
      loadBundle(bytes, { source: file, policies: builtinPolicies });
      const jws = await signBundle(bytes, key);
      const out = typeof values.out === 'string' ? values.out : defaultSignaturePath(file);
      await writeFile(resolve(io.cwd, out), `${JSON.stringify(jws, null, 2)}\n`);
      io.stderr(`signed ${file} -> ${out}\n`);
      if (values['print-public-key']) io.stdout(`${JSON.stringify(await publicJwksFor(key), null, 2)}\n`);
      return 0;
    }
    case 'verify': {
      const { values, positionals } = parse(rest, {
        sig: { type: 'string' },
        'trusted-keys': { type: 'string' },
      });
      if (values.help) return showHelp(io);
      const file = one(positionals, 'one bundle file');
      const trusted = values['trusted-keys'];
      if (typeof trusted !== 'string') throw new UsageError('--trusted-keys JWKS|PEM is required');
      const verified = await verifyBundleFile(await readBytes(file, io.cwd), {
        bundlePath: file,
        signaturePath: values.sig as string | undefined,
        trustedKeysPath: trusted,
        cwd: io.cwd,
        source: file,
      });
      io.stdout(`${file}: signature valid (${verified.alg}${verified.kid ? `, key ${verified.kid}` : ''})\n`);
      return 0;
    }
    case 'diff': {
      const { values, positionals } = parse(rest, {
        corpus: { type: 'string', multiple: true },
        namespaces: { type: 'string' },
        now: { type: 'string' },
        format: { type: 'string', short: 'f' },
        'fail-on-new-denials': { type: 'boolean' },
        point: { type: 'string' },
      });
      if (values.help) return showHelp(io);
      if (positionals.length !== 2) throw new UsageError(`expected OLD and NEW bundle files\n\n${help}`);
      const [oldPath, newPath] = positionals as [string, string];
      const before = loadBundle(await readBytes(oldPath, io.cwd), {
        source: oldPath,
        policies: builtinPolicies,
      });
      const after = loadBundle(await readBytes(newPath, io.cwd), {
        source: newPath,
        policies: builtinPolicies,
      });
      const corpus = values.corpus as string[] | undefined;
      let manifests;
      if (corpus) {
        const set = await loadManifests(corpus, io.cwd, io.stdin);
        for (const error of set.errors)
          io.stderr(`${error.file}:${error.line}:${error.column} error ${error.message}\n`);
        manifests = set.manifests;
      }
      const point = values.point ?? 'ci';
      if (point !== 'ci' && point !== 'admission' && point !== 'audit')
        throw new UsageError(`--point must be ci, admission or audit, not "${String(point)}"`);
      const inventory =
        typeof values.namespaces === 'string'
          ? await loadNamespaceInventory(values.namespaces, io.cwd)
          : undefined;
      const diff = await diffBundles(before, after, {
        point,
        ...(inventory ? { namespaces: inventory.lookup, namespaceContents: inventory.contents } : {}),
        now: parseNow(values.now as string | undefined),
        ...(manifests ? { manifests } : {}),
      });
      io.stdout(format(values) === 'json' ? `${JSON.stringify(diff, null, 2)}\n` : formatDiff(diff));
      return values['fail-on-new-denials'] && (diff.corpus?.newlyDenied.length ?? 0) > 0 ? 1 : 0;
    }
    case 'schema': {
      const { values } = parse(rest, { out: { type: 'string', short: 'o' } });
      if (values.help) return showHelp(io);
      const text = `${JSON.stringify(publishedSchema(), null, 2)}\n`;
      if (typeof values.out === 'string') {
        await writeFile(resolve(io.cwd, values.out), text);
        io.stderr(`wrote ${values.out}\n`);
      } else io.stdout(text);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand "${sub}"\n\n${help}`);
  }
}
