// The benches' --help: the usage is the comment at the top of each bench file.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
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
