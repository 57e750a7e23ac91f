/**
 * The documentation's relative links lead somewhere: every `[text](target)` in README.md,
 * ARCHITECTURE.md, CONTRIBUTING.md, docs/*.md and policies/*\/README.md that is not a URL names an
 * existing file or folder, and its `#anchor` names a heading of the target page (GitHub's slugs).
 * A moved file or a renamed heading fails here instead of in a newcomer's browser.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

function pagesUnder(dir: string, pattern: RegExp): string[] {
  const path = join(root, dir);
  if (!existsSync(path)) return [];
  return readdirSync(path)
    .filter((name) => pattern.test(name))
    .map((name) => join(path, name));
}

/** The pages whose links are checked. */
const pages = [
  ...['README.md', 'ARCHITECTURE.md', 'CONTRIBUTING.md'].map((name) => join(root, name)),
  ...pagesUnder('docs', /\.md$/),
  ...readdirSync(join(root, 'policies'))
    .map((name) => join(root, 'policies', name, 'README.md'))
    .filter((path) => existsSync(path)),
].sort();

/** Markdown without fenced code blocks and inline code, where link syntax means nothing. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const match of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = (match[1] ?? '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(text) ?? 0;
    seen.set(text, count + 1);
    slugs.add(count === 0 ? text : `${text}-${count}`);
  }
  return slugs;
}

/** Relative link targets of a page (URLs and mail links left out). */
function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const match of prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = match[1] ?? '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    links.push(target);
  }
  return links;
}

describe('documentation links', () => {
  it('finds the pages', () => {
    const names = pages.map((page) => relative(root, page));
    for (const name of ['README.md', 'ARCHITECTURE.md', 'CONTRIBUTING.md', 'docs/commands.md'])
      expect(names).toContain(name);
    expect(names.filter((name) => name.startsWith('policies/')).length).toBeGreaterThanOrEqual(7);
  });

  it('slugs headings as GitHub does', () => {
    expect([...headingSlugs('# `tollgate check`\n## Quick start\n## Quick start\n## A, b & c.\n')]).toEqual([
      'tollgate-check',
      'quick-start',
      'quick-start-1',
      'a-b--c',
    ]);
  });

  it.each(pages.map((page) => [relative(root, page), page]))('%s', (_name, page) => {
    const markdown = readFileSync(page, 'utf8');
    const broken: string[] = [];
    for (const link of relativeLinks(markdown)) {
      const [pathPart = '', anchor] = link.split('#', 2);
      const target = pathPart === '' ? page : resolve(dirname(page), decodeURIComponent(pathPart));
      if (!existsSync(target)) {
        broken.push(`${link}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (statSync(target).isDirectory() || !target.endsWith('.md')) {
        broken.push(`${link}: an anchor on a page that is not markdown`);
        continue;
      }
      if (!headingSlugs(readFileSync(target, 'utf8')).has(anchor))
        broken.push(`${link}: no heading #${anchor} in ${relative(root, target)}`);
    }
    expect(broken).toEqual([]);
  });
});
