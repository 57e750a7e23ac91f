/**
 * Time to build the evidence report for a large decision log: a generated month of N decision lines
 * (default 1,000,000) from four webhook writers in rotated files, with N/1000 CI runs (writers of
 * their own, three decision lines and a ci-run line each) in ci.log, read by the CLI's own entry point in this
 * process (`tollgate evidence report --format html` and `--format json`, the log verified in the same
 * pass), next to `tollgate evidence verify` alone and to a bare read of the same files (lines split
 * and JSON-parsed, nothing else) measured in the same run. Wall time and CPU time (user + system) are
 * printed, with the load average before and after: on a shared machine the CPU time is what the work
 * costs.
 *
 *   npx node bench/evidence.ts [decisions] [dir]
 *
 * The log is written to `dir` (default a temporary directory, removed afterwards); pass a directory
 * to keep it between runs (it is regenerated only when its size differs).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { main } from '../cli/main.ts';
import type { CommandIO } from '../cli/io.ts';
import { generateDecisionMonth } from '../test/support/decision-month.ts';

const decisions = Number(process.argv[2] ?? 1_000_000);
const keep = process.argv[3];
const dir = keep ?? mkdtempSync(join(tmpdir(), 'tollgate-bench-evidence-'));

const stamp = join(dir, 'decisions.stamp');
const ciRuns = Math.round(decisions / 1000);
const stampText = `${decisions} decisions, ${ciRuns} CI runs`;
let files: string[];
if (existsSync(stamp) && readFileSync(stamp, 'utf8') === stampText) {
  files = readdirSync(join(dir, 'logs')).map((name) => join(dir, 'logs', name));
} else {
  rmSync(join(dir, 'logs'), { recursive: true, force: true });
  const started = performance.now();
  files = generateDecisionMonth({ dir: join(dir, 'logs'), decisions, ciRuns }).files;
  writeFileSync(stamp, stampText);
  console.log(`generated ${decisions} decisions in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
console.log(
  `log: ${files.length} files, ${(bytes / 1e6).toFixed(0)} MB, ${decisions} admission decision lines and ${ciRuns} CI runs (${ciRuns * 3} CI decision lines)`,
);
const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(', ');
console.log(`load average (1, 5, 15 min): ${load()}`);

async function bareRead(): Promise<number> {
  let lines = 0;
  for (const file of files) {
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      if (line) {
        JSON.parse(line);
        lines++;
      }
    }
  }
  return lines;
}

const quiet: CommandIO = {
  stdout: () => undefined,
  stderr: () => undefined,
  stdin: async () => '',
  cwd: dir,
  env: {},
};

async function measure<T>(work: () => Promise<T>): Promise<{ wall: number; cpu: number; value: T }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await work();
  const used = process.cpuUsage(cpu);
  return { wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6, value };
}

const figure = (m: { wall: number; cpu: number }) => `${m.wall.toFixed(1)} s wall, ${m.cpu.toFixed(1)} s CPU`;

const bare = await measure(bareRead);
console.log(`bare read (split + JSON.parse): ${figure(bare)} for ${bare.value} lines`);

const period = ['--from', '2026-11-01', '--to', '2026-11-30'];
const verify = await measure(() => main(['evidence', 'verify', ...files], quiet));
console.log(
  `tollgate evidence verify: ${figure(verify)} (exit ${verify.value}), ${(verify.cpu / bare.cpu).toFixed(2)}x the bare read's CPU`,
);
for (const format of ['html', 'json']) {
  const report = await measure(() =>
    main(
      ['evidence', 'report', ...period, '--logs', ...files, '--format', format, '--out', join(dir, 'out')],
      quiet,
    ),
  );
  const size = statSync(join(dir, 'out', `evidence-report.${format}`)).size;
  console.log(
    `tollgate evidence report --format ${format}: ${figure(report)} (exit ${report.value}; ${(size / 1e6).toFixed(1)} MB), ${(report.cpu / bare.cpu).toFixed(2)}x the bare read's CPU, ${Math.round(decisions / report.wall)} decisions/s wall`,
  );
}
console.log(`load average (1, 5, 15 min): ${load()}`);
if (!keep) rmSync(dir, { recursive: true, force: true });
