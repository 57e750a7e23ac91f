/**
 * The committed ci-action/dist is what GitHub runs: rebuilding it from the sources must give the
 * same bytes. When this fails, run `npm run build:action` and commit ci-action/dist.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAction } from '../../scripts/build-action.ts';

const committed = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const committedDir = fileURLToPath(new URL('../dist/', import.meta.url));

describe('ci-action/dist', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is what `npm run build:action` produces from the current sources', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-dist-'));
    for (const built of await buildAction(dir)) {
      const fresh = await readFile(built);
      const current = await readFile(join(committedDir, basename(built)));
      expect(
        fresh.equals(current),
        `ci-action/dist/${basename(built)} is stale: run \`npm run build:action\` and commit ci-action/dist`,
      ).toBe(true);
    }
  });

  it('embeds the default bundle text so dist/ runs without bundles/', async () => {
    const text = await readFile(committed, 'utf8');
    const yaml = await readFile(new URL('../../bundles/finance-baseline.yaml', import.meta.url), 'utf8');
    expect(text).toContain(JSON.stringify(yaml));
  });
});
