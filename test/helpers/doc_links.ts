/**
 * The relative links of the Markdown files the package ships, for the checks that they
 * resolve inside the package (test/packaging.test.ts without packing, test-consumers/run.ts
 * in the installed tarball).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, sep } from 'node:path';

/**
 * Relative link targets of a Markdown text, without their `#anchor`: inline links and
 * images `[text](target "title")`, `<target>` forms, and reference definitions
 * `[label]: target`. Fenced code blocks, inline code, pure anchors and URLs with a scheme
 * (`https:`, `mailto:`) or `//` are left out.
 */
export function relativeLinks(markdown: string): string[] {
  const text = markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
  const targets = [
    ...[...text.matchAll(/\]\(\s*(?:<([^<>\n]+)>|([^()\s]+))(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)].map((m) => m[1] ?? m[2]),
    ...[...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]),
  ];
  return targets.map((t) => t.replace(/#.*$/, '')).filter((t) => t !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('//'));
}

/** A link in `doc` (a package-relative path such as 'docs/API.md') resolved to a package-relative path; starts with '..' when it leaves the package. */
export function resolveLink(doc: string, target: string): string {
  return posix.normalize(posix.join(posix.dirname(doc), decodeURI(target)));
}

/** npm ships these whatever `files` says. */
const ALWAYS_SHIPPED = /^(package\.json|README(\.[^/]*)?|LICEN[CS]E(\.[^/]*)?)$/i;

/** True when package.json `files` (plain paths and folders, no globs) ships `path`. */
export function shippedBy(files: readonly string[], path: string): boolean {
  if (ALWAYS_SHIPPED.test(path)) return true;
  return files.some((f) => {
    const entry = f.replace(/^\.\//, '').replace(/\/$/, '');
    return path === entry || path.startsWith(`${entry}/`);
  });
}

/**
 * The Markdown files `files` ships: README.md, every `.md` entry, and, when `root` (the
 * package directory) is given, the `.md` files inside every folder entry that exists
 * there (such as `docs/guide`), sorted.
 */
export function shippedDocs(files: readonly string[], root?: string): string[] {
  const docs = files.filter((f) => f.endsWith('.md') && f !== 'README.md');
  if (root !== undefined) {
    for (const f of files) {
      const entry = f.replace(/^\.\//, '').replace(/\/$/, '');
      const dir = join(root, entry);
      if (f.endsWith('.md') || !existsSync(dir) || !statSync(dir).isDirectory()) continue;
      const inside = readdirSync(dir, { recursive: true }) as string[];
      docs.push(
        ...inside
          .filter((n) => n.endsWith('.md'))
          .map((n) => posix.join(entry, n.split(sep).join('/')))
          .sort(),
      );
    }
  }
  return ['README.md', ...docs];
}

/** The relative links of `docs` (package-relative paths) that do not resolve to a file under `root`, as 'doc: link'; and how many links were checked. */
export function brokenLinks(root: string, docs: readonly string[]): { broken: string[]; checked: number } {
  const broken: string[] = [];
  let checked = 0;
  for (const doc of docs) {
    for (const link of relativeLinks(readFileSync(join(root, doc), 'utf8'))) {
      checked++;
      const target = resolveLink(doc, link);
      if (target.startsWith('..') || !existsSync(join(root, target))) broken.push(`${doc}: ${link}`);
    }
  }
  return { broken, checked };
}
