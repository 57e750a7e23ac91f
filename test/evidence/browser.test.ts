/**
 * The evidence report in a real browser (Debian's headless Chromium over the DevTools protocol): the
 * page loads with no external request, the control table and a break-glass row read as they should
 * in the rendered text, a screenshot is taken and the page prints to a PDF. Set
 * TOLLGATE_EVIDENCE_ARTIFACTS=DIR to keep the screenshot and the PDF.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEvidenceBundles } from '../../evidence/bundles.ts';
import { renderHtml } from '../../evidence/html.ts';
import { buildReport } from '../../evidence/report.ts';
import type { EvidenceReport } from '../../evidence/report.ts';
import { launchChromium } from '../support/chromium.ts';
import type { ChromiumPage } from '../support/chromium.ts';
import { generateDecisionMonth } from '../support/decision-month.ts';

let dir: string;
let artifacts: string;
let report: EvidenceReport;
let page: ChromiumPage;
const requests: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-evidence-browser-'));
  artifacts = process.env['TOLLGATE_EVIDENCE_ARTIFACTS'] ?? dir;
  mkdirSync(artifacts, { recursive: true });
  const month = generateDecisionMonth({ dir: join(dir, 'logs'), decisions: 4000, every: 250, ciRuns: 8 });
  report = await buildReport({
    from: new Date('2026-11-01T00:00:00Z'),
    to: new Date('2026-12-01T00:00:00Z'),
    logs: month.files.map((name) => ({ name })),
    audits: [],
    bundles: await loadEvidenceBundles(undefined, undefined),
    now: new Date('2026-12-01T08:00:00Z'),
  });
  writeFileSync(join(dir, 'evidence-report.html'), renderHtml(report));
  page = await launchChromium();
  await page.open(pathToFileURL(join(dir, 'evidence-report.html')).href);
  requests.push(
    ...(await page.evaluate<string[]>("performance.getEntriesByType('resource').map((entry) => entry.name)")),
  );
}, 180_000);

afterAll(async () => {
  await page?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the HTML evidence report in headless Chromium', () => {
  it('loads nothing beyond the file itself', () => {
    expect(requests).toEqual([]);
  });

  it('shows the control table as rendered text', async () => {
    const rows = await page.evaluate<string[][]>(
      "[...document.querySelectorAll('#controls tr')].map((tr) => [...tr.cells].map((cell) => cell.innerText.trim()))",
    );
    expect(rows[0]).toEqual([
      'Control',
      'Policies (versions)',
      'Bundles',
      'Decisions',
      'Allowed',
      'Denied',
      'Warned',
      'Admission (allowed / denied / warned)',
      'CI',
      'Audit',
      'Break-glass',
      'Exemptions',
      'Drift (open / resolved)',
    ]);
    const freeze = report.controls.find((control) => control.id === 'SOX-ITGC-CM-05');
    expect(rows).toContainEqual([
      'SOX-ITGC-CM-05',
      'freeze-windows 1.0.0',
      String(freeze?.bundles.length),
      String(freeze?.totals.decisions),
      String(freeze?.totals.allowed),
      String(freeze?.totals.denied),
      String(freeze?.totals.warned),
      ...(['admission', 'ci'] as const).map((source) => {
        const counts = freeze?.sources[source];
        return `${counts?.allowed} / ${counts?.denied} / ${counts?.warned}`;
      }),
      '—',
      String(freeze?.breakGlass),
      '0',
      '—',
    ]);
    expect(freeze?.sources.ci.decisions).toBeGreaterThan(0);
    expect(rows.map((row) => row[0])).toEqual(['Control', ...report.controls.map((control) => control.id)]);
    const visible = await page.evaluate<boolean>(
      "(() => { const r = document.querySelector('#controls').getBoundingClientRect(); return r.width > 600 && r.height > 100; })()",
    );
    expect(visible).toBe(true);
    expect(await page.evaluate<string>("document.querySelector('#verification-status').innerText")).toBe(
      'Log verified',
    );
  });

  it('shows a break-glass row with ticket, requester, approvers, scope and the change', async () => {
    const first = report.breakGlass[0];
    const cells = await page.evaluate<string[]>(
      "[...document.querySelector('#break-glass tbody tr').cells].map((cell) => cell.innerText.trim())",
    );
    expect(cells[1]).toBe(first?.ticket);
    expect(cells[2]).toBe('alice@corp.example');
    expect(cells[3]).toBe('carol@corp.example, dave@corp.example');
    expect(cells[4]).toBe(`namespaces: ${first?.namespace}; kinds: ${first?.kind}`);
    expect(cells[6]).toContain(
      `${first?.operation} ${first?.kind} ${first?.namespace}/${first?.name} by ${first?.user}`,
    );
    expect(cells[7]).toMatch(/^unknown\nno drift audit ran after the change$/);
  });

  it('lists the CI runs with repository, ref, commit and result', async () => {
    const rows = await page.evaluate<string[][]>(
      "[...document.querySelectorAll('#ci-runs tbody tr')].map((tr) => [...tr.cells].map((cell) => cell.innerText.trim()))",
    );
    expect(rows).toHaveLength(report.ciRuns.length);
    const first = report.ciRuns[0];
    expect(rows[0]?.slice(1, 5)).toEqual([
      'acme/erp-platform',
      first?.ci.ref,
      first?.ci.commit?.slice(0, 12),
      first?.ci.actor,
    ]);
    expect(rows[0]?.[9]).toBe(first?.result === 'fail' ? 'failed' : 'passed');
  });

  it('takes a screenshot and prints to PDF', async () => {
    const shot = await page.send<{ data: string }>('Page.captureScreenshot', { format: 'png' });
    const png = Buffer.from(shot.data, 'base64');
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1280);
    expect(png.length).toBeGreaterThan(50_000);
    writeFileSync(join(artifacts, 'evidence-report.png'), png);
    const printed = await page.send<{ data: string }>('Page.printToPDF', {
      landscape: true,
      printBackground: true,
      preferCSSPageSize: true,
    });
    const pdf = Buffer.from(printed.data, 'base64');
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? [];
    expect(pages.length).toBeGreaterThan(3);
    writeFileSync(join(artifacts, 'evidence-report.pdf'), pdf);
  });
});
