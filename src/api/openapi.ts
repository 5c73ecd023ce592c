/**
 * `GET /v1/openapi.json`: the OpenAPI 3.1 description of the whole API, kept in this repository as
 * src/api/openapi.json so the control plane can generate a client from it. It is a contract, not
 * documentation on the side: test/integration/openapi.test.ts validates real answers of every
 * endpoint against it, and test/unit/api/openapi.test.ts holds it to the routes the code declares.
 * Served with the same authentication as the other /v1 endpoints, with info.version set to the
 * running agent's version.
 *
 * The file is read and parsed per request rather than imported: as a module it would sit in the
 * heap of every agent (~0.3 MB parsed) for an endpoint a code generator calls now and then. The
 * type-only import keeps it in the TypeScript program, so the build still copies it to dist/.
 */
import { readFile } from 'node:fs/promises';
import type openApiJson from './openapi.json';
import type { RouteDefinition } from './routes.ts';

type OpenApiFile = typeof openApiJson;

const FILE = new URL('./openapi.json', import.meta.url);

/** The document as served by an agent of `version`. */
export async function openApiDocument(version: string): Promise<Record<string, unknown>> {
  const document = JSON.parse(await readFile(FILE, 'utf8')) as OpenApiFile;
  return { ...document, info: { ...document.info, version } };
}

export function openApiRoute(version: string): RouteDefinition {
  return { method: 'GET', pattern: '/v1/openapi.json', handler: async () => ({ json: await openApiDocument(version) }) };
}
