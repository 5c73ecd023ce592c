/**
 * Checks real HTTP answers against src/api/openapi.json with Ajv (JSON Schema 2020-12, the
 * dialect of OpenAPI 3.1's Schema Objects, with ajv-formats for date-time): the status must be
 * documented for the operation, the Content-Type must be the documented media type, and the body
 * must validate against its schema. Answers that are not an operation's (an unknown path, another
 * method) are checked against components.responses. Records which statuses each operation was
 * seen answering, so a test can say what it has not covered.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export const OPENAPI_FILE = new URL('../../src/api/openapi.json', import.meta.url);

interface MediaObject { schema: unknown }
interface ResponseObject { description: string; content?: Record<string, MediaObject>; headers?: Record<string, unknown>; $ref?: string }
interface Operation { operationId: string; responses: Record<string, ResponseObject>; security?: unknown[]; parameters?: { name: string; in: string }[] }
export interface OpenApiDocument {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, ResponseObject>; schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string }> };
  security: Record<string, string[]>[];
}

export function loadOpenApi(): OpenApiDocument {
  return JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;
}

/** A JSON pointer segment (`/` → `~1`). */
const escape = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** The documented path template matching a concrete path (`/v1/containers/{ref}`), if any. */
export function templateOf(doc: OpenApiDocument, path: string): string | undefined {
  const segments = path.split('/');
  return Object.keys(doc.paths).find((t) => {
    const ts = t.split('/');
    return ts.length === segments.length && ts.every((s, i) => (/^\{.+\}$/.test(s) ? segments[i] !== '' : s === segments[i]));
  });
}

export interface Answer { status: number; contentType: string | null; body: string }

export class ContractChecker {
  readonly doc: OpenApiDocument;
  readonly #ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();
  /** `GET /v1/host` → statuses seen. */
  readonly seen = new Map<string, Set<number>>();

  constructor(doc: OpenApiDocument = loadOpenApi()) {
    this.doc = doc;
    this.#ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(this.#ajv);
    // the document's own keys around its Schema Objects: known, and not schemas themselves
    this.#ajv.addVocabulary(['openapi', 'info', 'servers', 'paths', 'components', 'security', 'tags']);
    this.#ajv.addSchema(doc, 'openapi.json');
  }

  /** Compiles every schema in components (strict mode: an unknown keyword or a typo fails). */
  compileAll(): number {
    for (const name of Object.keys(this.doc.components.schemas)) this.#validator(`/components/schemas/${escape(name)}`);
    return Object.keys(this.doc.components.schemas).length;
  }

  #validator(pointer: string): ValidateFunction {
    let v = this.#validators.get(pointer);
    if (!v) {
      v = this.#ajv.compile({ $ref: `openapi.json#${pointer}` });
      this.#validators.set(pointer, v);
    }
    return v;
  }

  #resolve(r: ResponseObject, pointer: string): { response: ResponseObject; pointer: string } {
    if (r.$ref === undefined) return { response: r, pointer };
    const name = r.$ref.replace('#/components/responses/', '');
    const response = this.doc.components.responses[name];
    if (!response) throw new Error(`${pointer}: unresolved ${r.$ref}`);
    return { response, pointer: `/components/responses/${escape(name)}` };
  }

  /**
   * Throws unless the answer is what the document says `method path` answers with. HEAD answers
   * are checked as GET's, without a body. Returns the operation's key (`GET /v1/host`) or
   * `(no operation)`.
   */
  check(method: string, path: string, answer: Answer): string {
    const where = `${method} ${path} → ${answer.status}`;
    const template = templateOf(this.doc, path.split('?')[0] ?? path);
    const op = template === undefined ? undefined : this.doc.paths[template]?.[method === 'HEAD' ? 'get' : method.toLowerCase()];
    let found: { response: ResponseObject; pointer: string } | undefined;
    let key = '(no operation)';
    if (op && template) {
      key = `GET ${template}`;
      const r = op.responses[String(answer.status)];
      if (!r) throw new Error(`${where}: status ${answer.status} is not documented for ${key} (documented: ${Object.keys(op.responses).join(', ')})`);
      found = this.#resolve(r, `/paths/${escape(template)}/get/responses/${answer.status}`);
    } else {
      // not an operation of the document: an unknown path (404) or another method (405)
      const name = answer.status === 404 ? 'NotFound' : answer.status === 405 ? 'MethodNotAllowed' : answer.status === 401 ? 'Unauthorized' : answer.status === 400 ? 'BadRequest' : undefined;
      if (!name) throw new Error(`${where}: not an operation of the document, and not a documented 400/401/404/405`);
      found = this.#resolve({ description: '', $ref: `#/components/responses/${name}` }, '');
    }
    const statuses = this.seen.get(key) ?? new Set<number>();
    statuses.add(answer.status);
    this.seen.set(key, statuses);
    const content = found.response.content ?? {};
    const essence = (answer.contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const media = Object.keys(content).find((m) => m.split(';')[0]?.trim().toLowerCase() === essence);
    if (media === undefined) throw new Error(`${where}: Content-Type ${answer.contentType} is not documented (${Object.keys(content).join(', ')})`);
    // documented parameters (text/plain; version=0.0.4) must be there too
    for (const param of media.split(';').slice(1).map((p) => p.trim().toLowerCase())) {
      if (!(answer.contentType ?? '').toLowerCase().split(';').map((p) => p.trim()).includes(param)) throw new Error(`${where}: Content-Type ${answer.contentType} lacks ${param}`);
    }
    if (method === 'HEAD') {
      if (answer.body !== '') throw new Error(`${where}: HEAD answered with a body`);
      return key;
    }
    const schemaPointer = `${found.pointer}/content/${escape(media)}/schema`;
    const value: unknown = essence === 'application/json' ? JSON.parse(answer.body) : answer.body;
    const validate = this.#validator(schemaPointer);
    if (!validate(value)) {
      const errors = (validate.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n  ');
      throw new Error(`${where}: the body does not match ${schemaPointer}:\n  ${errors}\n${answer.body.slice(0, 600)}`);
    }
    return key;
  }
}
