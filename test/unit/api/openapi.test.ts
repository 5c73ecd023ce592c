// src/api/openapi.json against the code, without a running agent: every route the source declares
// is an operation of the document and every operation a route, with the same access and media
// type; every schema compiles under Ajv's strict JSON Schema 2020-12; every operation documents
// the answers every route can give. test/integration/openapi.test.ts validates real answers.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '../../../src/api/openapi.ts';
import { ContractChecker, loadOpenApi } from '../../helpers/openapi.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const doc = loadOpenApi();

interface DeclaredRoute { method: string; path: string; access: string; produces: string }

/** The route literals of src/ (`{ method: 'GET', pattern: '/v1/x/:ref', access: …, produces: … }`). */
function declaredRoutes(dir = join(ROOT, 'src')): DeclaredRoute[] {
  const out: DeclaredRoute[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...declaredRoutes(full));
    else if (entry.name.endsWith('.ts')) {
      const text = readFileSync(full, 'utf8');
      for (const m of text.matchAll(/method: '([A-Z]+)',\s*pattern: '([^']+)'(?:,\s*access: '(\w+)')?(?:,\s*produces: '([^']+)')?/g)) {
        out.push({ method: m[1] as string, path: (m[2] as string).replace(/:(\w+)/g, '{$1}'), access: m[3] ?? 'protected', produces: m[4] ?? 'application/json' });
      }
    }
  }
  return out;
}

test('the document: OpenAPI 3.1, the package version, bearer and mutual TLS schemes, every schema compiles strictly', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(doc.info.version, pkg.version, 'info.version follows package.json (the served copy says the running version)');
  const served = await openApiDocument('9.9.9');
  assert.equal((served.info as { version: string }).version, '9.9.9');
  assert.deepEqual({ ...served, info: doc.info }, doc, 'served: the file with info.version replaced');
  assert.deepEqual(Object.values(doc.components.securitySchemes).map((s) => s.type).sort(), ['http', 'mutualTLS']);
  assert.ok(new ContractChecker(doc).compileAll() > 20);
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(schemas|responses)\/([^"]+)"/g)];
  for (const [, kind, name] of refs) assert.ok((kind === 'schemas' ? doc.components.schemas : doc.components.responses)[name as string], `unresolved #/components/${kind}/${name}`);
});

test('every route the code declares is an operation of the document, and every operation a route', () => {
  const routes = declaredRoutes();
  assert.ok(routes.length >= 15, `${routes.length} routes found`);
  const declared = routes.map((r) => `${r.method} ${r.path}`).sort();
  const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`)).sort();
  assert.deepEqual(declared, documented);
});

test('each operation: its access, its media type, its path parameters, and the answers every route can give', () => {
  for (const r of declaredRoutes()) {
    const op = doc.paths[r.path]?.[r.method.toLowerCase()];
    assert.ok(op, r.path);
    // public routes need no auth (security: []); the others take the document's (bearer, mTLS)
    if (r.access === 'public') assert.deepEqual(op.security, [], `${r.path} is public`);
    else assert.equal(op.security, undefined, `${r.path} uses the document's security`);
    assert.equal(Object.keys(op.responses['200']?.content ?? {})[0]?.split(';')[0], r.produces, `${r.path}: media type`);
    const statuses = Object.keys(op.responses);
    for (const s of ['200', '400', '406', '500', '503', ...(r.access === 'public' ? [] : ['401'])]) assert.ok(statuses.includes(s), `${r.path}: ${s} documented`);
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    assert.deepEqual((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name), params, `${r.path}: path parameters`);
    if (params.length > 0) assert.ok(statuses.includes('404'), `${r.path}: 404 documented`);
  }
  assert.deepEqual(doc.security, [{ bearerToken: [] }, { mutualTLS: [] }, { bearerToken: [], mutualTLS: [] }, {}], 'a token, a client certificate, both, or neither (loopback only)');
});
