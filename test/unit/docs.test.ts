// The documentation stays usable and the repository self-contained: every relative link and
// #anchor in the Markdown files resolves, README.md stays a front page (size, the two commands, a
// valid minimal configuration, a link to every docs page), and no file cites documents a reader
// of the repository does not have. docs/development.md describes these checks.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/configuration.ts';
import { REFERENCE_BEGIN, REFERENCE_END } from '../../src/config/reference.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Directories that hold no files of ours (build output, dependencies, scratch). */
const SKIP_DIRS = new Set(['.git', 'node_modules', 'dist', 'coverage', '.tmp', 'test-results', '.nyc_output']);
/** Top-level directories of build output (`npm run package` writes release/). */
const SKIP_TOP_DIRS = new Set(['release']);
/** Large generated files with nothing to check. */
const SKIP_FILES = new Set(['package-lock.json']);
const README_MAX_BYTES = 15_000;

/** Repository-relative paths (with `/`) of every file, skipping SKIP_DIRS. */
function repoFiles(dir = ROOT): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !(dir === ROOT && SKIP_TOP_DIRS.has(entry.name))) files.push(...repoFiles(full));
    } else if (entry.isFile() && !SKIP_FILES.has(entry.name)) {
      files.push(path.relative(ROOT, full).split(path.sep).join('/'));
    }
  }
  return files.sort();
}

const FILES = repoFiles();
const MARKDOWN = FILES.filter((f) => f.endsWith('.md'));

function read(file: string): string {
  return readFileSync(path.join(ROOT, file), 'utf8');
}

/** Text files: no NUL byte in the first 8 KiB. */
function isText(file: string): boolean {
  const head = readFileSync(path.join(ROOT, file)).subarray(0, 8192);
  return !head.includes(0);
}

// ---------------------------------------------------------------------------------------------
// Links and anchors

/** The Markdown with fenced code blocks blanked out (their lines kept, so line numbers hold). */
function withoutFences(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      const marker = (m[1] as string)[0] as string;
      if (fence === undefined) fence = marker;
      else if (fence === marker) fence = undefined;
      return '';
    }
    return fence === undefined ? line : '';
  });
}

/** GitHub's heading anchor: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // [text](url) → text
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

const anchorCache = new Map<string, Set<string>>();

function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (anchors) return anchors;
  anchors = new Set();
  const seen = new Map<string, number>();
  for (const line of withoutFences(read(file))) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1] as string);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  anchorCache.set(file, anchors);
  return anchors;
}

interface Link { line: number; target: string }

function linksOf(file: string): Link[] {
  const links: Link[] = [];
  withoutFences(read(file)).forEach((raw, i) => {
    const line = raw.replace(/`[^`]*`/g, '``'); // inline code is not a link
    for (const m of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) links.push({ line: i + 1, target: m[1] as string });
  });
  return links;
}

/** Problems with one link from `file`, or undefined when it resolves. */
function checkLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto:: not ours to check
  const hash = target.indexOf('#');
  const pathPart = hash < 0 ? target : target.slice(0, hash);
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const resolved = pathPart === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURIComponent(pathPart)));
  if (resolved.startsWith('../')) return `${target} points outside the repository`;
  if (!existsSync(path.join(ROOT, resolved))) return `${target}: ${resolved} does not exist`;
  if (anchor === undefined) return undefined;
  if (!resolved.endsWith('.md') || !statSync(path.join(ROOT, resolved)).isFile()) return `${target}: an anchor into a file that is not Markdown`;
  if (!anchorsOf(resolved).has(anchor)) return `${target}: ${resolved} has no heading with anchor #${anchor}`;
  return undefined;
}

test('the slug of a heading is GitHub\'s anchor', () => {
  assert.equal(slug('Health probes and restart policies'), 'health-probes-and-restart-policies');
  assert.equal(slug('(a) Ansible + systemd'), 'a-ansible--systemd');
  assert.equal(slug('Beats / Lumberjack v2'), 'beats--lumberjack-v2');
  assert.equal(slug('A pure `decide()`'), 'a-pure-decide');
  assert.equal(slug("The sampler's own series"), 'the-samplers-own-series');
  assert.equal(slug('Log lines: names, splitting, multiline, encoding'), 'log-lines-names-splitting-multiline-encoding');
});

test('every relative link and #anchor in the Markdown files resolves', () => {
  assert.ok(MARKDOWN.includes('README.md') && MARKDOWN.some((f) => f.startsWith('docs/')), `found: ${MARKDOWN.join(', ')}`);
  const broken: string[] = [];
  for (const file of MARKDOWN) {
    for (const { line, target } of linksOf(file)) {
      const problem = checkLink(file, target);
      if (problem) broken.push(`${file}:${line}: ${problem}`);
    }
  }
  assert.deepEqual(broken, []);
});

// ---------------------------------------------------------------------------------------------
// README.md as the front page

const README = read('README.md');

test(`README.md stays under ${README_MAX_BYTES} bytes`, () => {
  const bytes = Buffer.byteLength(README);
  assert.ok(bytes < README_MAX_BYTES, `README.md is ${bytes} bytes; move detail into docs/ and link to it`);
});

test('README.md keeps the two commands operators and CI rely on', () => {
  assert.match(README, /^## The two commands$/m);
  assert.match(README, /^npm ci && npm start$/m);
  assert.match(README, /^bash \.ci\/run$/m);
});

test('README.md links every page of docs/', () => {
  const linked = new Set(linksOf('README.md').map(({ target }) => target.split('#')[0]));
  const pages = FILES.filter((f) => /^docs\/[^/]+\.md$/.test(f));
  assert.ok(pages.length > 0);
  assert.deepEqual(pages.filter((p) => !linked.has(p)), []);
});

test("README.md's minimal configuration is valid", () => {
  const section = README.slice(README.indexOf('## Minimal configuration'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, 'no yaml block under "## Minimal configuration"');
  const dir = mkdtempSync(path.join(tmpdir(), 'dockhand-docs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'dockhand.yaml');
  writeFileSync(file, yaml);
  // checkFiles: false — the token file it names exists on a host, not here.
  const { config } = loadConfig({ file, env: {}, checkFiles: false });
  assert.equal(config.api.token_file, '/etc/dockhand/token');
  assert.ok(config.outputs.length > 0);
});

// ---------------------------------------------------------------------------------------------
// Self-contained: no pointers to documents outside the repository

/**
 * Citations of documents that exist only outside this repository, by name. The patterns (and
 * the names below) are written so that this file does not match them itself.
 */
const OUTSIDE_REFERENCES = {
  sharedDir: /\.\.\/shared\//g,
  specSection: /\bSPEC(?:\.md|\s*§)/g,
  designDoc: /\bDESIGN\.md\b/g,
  seedDocs: /\bseeds\b/gi,
  seedNumber: /\bseed\s+0\d+/gi,
} as const satisfies Record<string, RegExp>;
type OutsideReference = keyof typeof OUTSIDE_REFERENCES;

/** The text that is checked: the generated reference comes from the schema's sources under src/, which are checked themselves. */
function checkedText(file: string): string {
  const text = read(file);
  if (file !== 'docs/configuration.md') return text;
  const begin = text.indexOf(REFERENCE_BEGIN);
  const end = text.indexOf(REFERENCE_END);
  return begin < 0 || end < 0 ? text : text.slice(0, begin) + text.slice(end);
}

interface Hit { kind: OutsideReference; line: number; match: string }

function outsideReferences(file: string): Hit[] {
  const text = checkedText(file);
  const hits: (Hit & { index: number })[] = [];
  for (const [kind, pattern] of Object.entries(OUTSIDE_REFERENCES) as [OutsideReference, RegExp][]) {
    for (const m of text.matchAll(pattern)) {
      hits.push({ kind, index: m.index, line: text.slice(0, m.index).split('\n').length, match: m[0].replace(/\s+/g, ' ') });
    }
  }
  return hits.sort((a, b) => a.index - b.index).map(({ kind, line, match }) => ({ kind, line, match }));
}

test('no file refers to documents outside the repository', () => {
  const textFiles = FILES.filter(isText);
  assert.ok(textFiles.includes('README.md') && textFiles.some((f) => f.startsWith('src/')));
  const found: string[] = [];
  for (const file of textFiles) {
    for (const hit of outsideReferences(file)) found.push(`${file}:${hit.line}: "${hit.match}" — cite this repository's docs/ or a public source instead`);
  }
  assert.deepEqual(found, []);
});
