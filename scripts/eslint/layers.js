// @ts-check
/**
 * ESLint rule `tollgate/layers`: dependencies point one way,
 * `policies` ← `io` ← { `webhook`, `ci-action`, `audit`, `evidence` } ← `cli`, and edges enter `policies/`
 * only through `policies/index.ts`. Each relative import is resolved to the top-level folder it
 * lands in and checked against what the importing folder may use.
 */
import { dirname, relative, resolve, sep } from 'node:path';

/** What each layer's source may import (besides itself). Folders not listed here are unrestricted. */
export const allowedLayers = Object.freeze({
  policies: [],
  io: ['policies', 'bundles'],
  webhook: ['policies', 'io', 'bundles'],
  'ci-action': ['policies', 'io', 'bundles'],
  audit: ['policies', 'io', 'bundles'],
  evidence: ['policies', 'io', 'bundles'],
  cli: ['policies', 'io', 'bundles', 'webhook', 'ci-action', 'audit', 'evidence'],
  bin: ['cli', 'dist'],
});

/** The layer (top-level folder) of a path inside the repository, or undefined outside it. */
function layerOf(root, file) {
  const rel = relative(root, file);
  if (rel.startsWith('..')) return undefined;
  return rel.split(sep)[0];
}

/** @type {import('eslint').Rule.RuleModule} */
export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'dependencies point one way; edges use policies/index.ts' },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
    messages: {
      upward:
        '{{from}}/ must not import {{to}}/ ({{spec}}): dependencies point one way, policies ← io ← {webhook, ci-action, audit, evidence} ← cli.',
      door: '{{from}}/ enters policies/ only through policies/index.ts, not {{spec}}.',
    },
  },
  create(context) {
    const root = context.options[0]?.root ?? context.cwd;
    const file = context.filename;
    const from = layerOf(root, file);
    if (!from || !(from in allowedLayers)) return {};
    const allowed = allowedLayers[from];
    /** @param {import('estree').Node & { source?: any }} node */
    function check(node) {
      const source = node.source;
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const spec = source.value;
      if (!spec.startsWith('.')) return;
      const target = resolve(dirname(file), spec);
      const to = layerOf(root, target);
      if (!to || to === from) return;
      if (!allowed.includes(to)) {
        context.report({ node: source, messageId: 'upward', data: { from, to, spec } });
        return;
      }
      if (to === 'policies' && relative(root, target) !== `policies${sep}index.ts`) {
        context.report({ node: source, messageId: 'door', data: { from, spec } });
      }
    }
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

/** The local plugin registered in eslint.config.js. */
export const tollgatePlugin = { rules: { layers: layersRule } };
