/**
 * The dependency rule bites: `policies` ← `io` ← { `webhook`, `ci-action`, `audit` } ← `cli`, and
 * edges enter policies/ only through policies/index.ts. Each case lints a would-be file with the
 * project's own ESLint configuration, so removing or weakening the rule fails this test; and the
 * real tree has no violation.
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { tollgatePlugin } from '../../scripts/eslint/layers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${file}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'tollgate/layers').map((m) => m.message);
}

describe('dependencies point one way', () => {
  it.each([
    [
      'policies/engine/x.ts',
      "import { startWebhook } from '../../webhook/src/webhook.ts';",
      'policies/ must not import webhook/',
    ],
    [
      'policies/engine/x.ts',
      "import { createServices } from '../../io/services.ts';",
      'policies/ must not import io/',
    ],
    ['io/x.ts', "import { runGate } from '../ci-action/src/gate/run.ts';", 'io/ must not import ci-action/'],
    ['io/x.ts', "import type { CommandIO } from '../cli/io.ts';", 'io/ must not import cli/'],
    [
      'webhook/src/x.ts',
      "import { runGate } from '../../ci-action/src/gate/run.ts';",
      'webhook/ must not import ci-action/',
    ],
    [
      'ci-action/src/x.ts',
      "import { startWebhook } from '../../webhook/src/webhook.ts';",
      'ci-action/ must not import webhook/',
    ],
    [
      'ci-action/src/gate/x.ts',
      "export { main } from '../../../cli/main.ts';",
      'ci-action/ must not import cli/',
    ],
    ['webhook/src/x.ts', "const m = await import('../../cli/main.ts');", 'webhook/ must not import cli/'],
    [
      'webhook/src/x.ts',
      "import { evaluate } from '../../policies/engine/evaluate.ts';",
      'enters policies/ only through policies/index.ts',
    ],
    [
      'cli/x.ts',
      "import type { Policy } from '../policies/engine/types.ts';",
      'enters policies/ only through policies/index.ts',
    ],
  ])('%s: %s is refused', async (file, code, message) => {
    const errors = await layerErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(message);
  });

  it.each([
    ['io/x.ts', "import { evaluate } from '../policies/index.ts';"],
    ['webhook/src/x.ts', "import { createServices } from '../../io/services.ts';"],
    ['ci-action/src/x.ts', "import { createServices } from '../../io/services.ts';"],
    ['cli/x.ts', "import { startWebhook } from '../webhook/src/webhook.ts';"],
    ['cli/x.ts', "import { runGate } from '../ci-action/src/gate/run.ts';"],
    ['policies/engine/x.ts', "import { evaluate } from './evaluate.ts';"],
  ])('%s: %s is allowed', async (file, code) => {
    expect(await layerErrors(file, code)).toEqual([]);
  });

  it('the tree itself has no violation', { timeout: 120_000 }, async () => {
    // Only the layer rule, with the TypeScript parser: the full configuration runs in `npm run lint`.
    const layersOnly = new ESLint({
      cwd: root,
      overrideConfigFile: true,
      overrideConfig: [
        { ignores: ['**/*.test.ts', 'ci-action/dist/**'] },
        {
          files: ['**/*.ts', '**/*.js'],
          languageOptions: { parser: tseslint.parser },
          plugins: { tollgate: tollgatePlugin },
          rules: { 'tollgate/layers': ['error', { root }] },
        },
      ],
    });
    const results = await layersOnly.lintFiles(['policies', 'io', 'webhook', 'ci-action/src', 'cli', 'bin']);
    const violations = results.flatMap((r) =>
      r.messages
        .filter((m) => m.ruleId === 'tollgate/layers')
        .map((m) => `${r.filePath}:${m.line} ${m.message}`),
    );
    expect(violations).toEqual([]);
  });
});
