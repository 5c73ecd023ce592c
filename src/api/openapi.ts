/**
 * `GET /v1/openapi.json`: the OpenAPI 3.1 description of the whole API, kept in this repository as
 * src/api/openapi.json so the control plane can generate a client from it. It is a contract, not
 * documentation on the side: test/integration/openapi.test.ts validates real answers of every
 * endpoint against it, and test/unit/api/openapi.test.ts holds it to the routes the code declares.
 * Served with the same authentication as the other /v1 endpoints, with info.version set to the
 * running agent's version.
 */
import document from './openapi.json' with { type: 'json' };
import type { RouteDefinition } from './routes.ts';

/** The document as served by an agent of `version`. */
export function openApiDocument(version: string): Record<string, unknown> {
  return { ...document, info: { ...document.info, version } };
}

export function openApiRoute(version: string): RouteDefinition {
  const body = openApiDocument(version);
  return { method: 'GET', pattern: '/v1/openapi.json', handler: () => ({ json: body }) };
}
