// Regenerates the configuration reference inside docs/configuration.md from src/config/schema.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { REFERENCE_BEGIN, REFERENCE_END, renderConfigReference } from '../src/config/reference.ts';
import { configSchema } from '../src/configuration.ts';

const FILE = 'docs/configuration.md';
const text = readFileSync(FILE, 'utf8');
const start = text.indexOf(REFERENCE_BEGIN);
const end = text.indexOf(REFERENCE_END);
if (start < 0 || end < 0) {
  console.error(`${FILE} has no config-reference markers`);
  process.exit(1);
}
writeFileSync(FILE, text.slice(0, start) + renderConfigReference(configSchema) + text.slice(end + REFERENCE_END.length));
console.log(`${FILE} configuration reference updated`);
