/** The summary's freeze status, computed with the freeze-windows policy's calendar on the embedded bundle. */
import { describe, expect, it } from 'vitest';
import { loadBundleFile } from '../../../io/bundle-file.ts';
import { repoRoot } from '../../../test/support/run-action.ts';
import { freezeSummary } from './freeze.ts';

describe('freeze status in the job summary', async () => {
  const bundle = await loadBundleFile(undefined, repoRoot);

  it('shows an entity frozen during month-end close, until when, and the next window', async () => {
    // Mon 2026-11-30 13:00 Berlin: the last business day of November, inside BD-3 18:00 .. BD+2 23:59.
    const status = await freezeSummary(bundle, [], new Date('2026-11-30T12:00:00Z'));
    const row = status?.lines.find((l) => l.startsWith('| de-gmbh |'));
    expect(row).toMatch(
      /:snowflake: frozen \| month-end-close \(closes 2026-11\) \| Wed 2026-12-02 23:59 Europe\/Berlin/,
    );
    expect(row).toMatch(/year-end-close: .* 2026-12-/);
  });

  it('shows an entity open mid-month with the next window', async () => {
    const status = await freezeSummary(bundle, [], new Date('2026-11-16T12:00:00Z'));
    const row = status?.lines.find((l) => l.startsWith('| de-gmbh |'));
    expect(row).toMatch(/^\| de-gmbh \| open \| \| \| month-end-close: Thu 2026-11-26 18:00 Europe\/Berlin/);
    expect(status?.lines.join('\n')).toContain('No checked change is blocked by a freeze window');
  });
});
