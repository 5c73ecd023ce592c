// Regenerates the configuration reference inside README.md from src/config/schema.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { REFERENCE_BEGIN, REFERENCE_END, renderConfigReference } from '../src/config/reference.ts';
import { configSchema } from '../src/configuration.ts';

const readme = readFileSync('README.md', 'utf8');
const start = readme.indexOf(REFERENCE_BEGIN);
const end = readme.indexOf(REFERENCE_END);
if (start < 0 || end < 0) {
  console.error('README.md has no config-reference markers');
  process.exit(1);
}
writeFileSync('README.md', readme.slice(0, start) + renderConfigReference(configSchema) + readme.slice(end + REFERENCE_END.length));
console.log('README.md configuration reference updated');
