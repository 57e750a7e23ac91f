#!/usr/bin/env node
// Entry point of the `tollgate` command. The sources are TypeScript run by Node's type stripping
// (Node >= 22.12; unflagged from 22.18/23.6), so this shim only checks the runtime and hands over.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `tollgate needs Node.js >= 22.12 (Node 24 LTS recommended); this is ${process.version}.\n` +
      'Run it through npm (npx tollgate ...), which uses the Node 24 installed with the project.\n',
  );
  process.exit(2);
}
if (!process.features.typescript) {
  const result = spawnSync(
    process.execPath,
    [
      '--experimental-strip-types',
      '--no-warnings=ExperimentalWarning',
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  );
  process.exit(result.status ?? 2);
}
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
