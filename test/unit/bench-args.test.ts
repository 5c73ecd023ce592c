// The benches' --help: the usage is the comment at the top of each bench file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { usageOf } from '../../bench/args.ts';

test('the usage is the leading comment without its slashes, up to the first line of code', () => {
  assert.equal(usageOf('// bench/x: what it measures.\n//\n//   node bench/x.ts [--n 5]\nimport x from "y";\n// not usage\n'), 'bench/x: what it measures.\n\n  node bench/x.ts [--n 5]\n');
  assert.equal(usageOf('import x from "y";\n'), '\n');
});

test('every bench that takes options says how it is run', () => {
  const dir = new URL('../../bench/', import.meta.url);
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(new URL(name, dir), 'utf8');
    if (!source.includes('benchArgs(import.meta.url')) continue;
    const stem = name.slice(0, -'.ts'.length);
    assert.match(usageOf(source), new RegExp(`node bench/${stem}\\.ts|npm run bench:${stem}`), `${name}: its leading comment shows the command`);
  }
});

test('a bad option or value gets one line naming it and exit 2, not a stack trace', () => {
  const bench = fileURLToPath(new URL('../../bench/logs.ts', import.meta.url));
  for (const [args, said] of [[['--bogus'], /Unknown option '--bogus'/], [['--workers', '0,x'], /--workers takes counts from 0 to 16, got x/]] as const) {
    const run = spawnSync(process.execPath, [bench, ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, said);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.equal(run.stdout, '');
  }
});
