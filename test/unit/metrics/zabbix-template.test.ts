// zabbix/dockhand-template.yaml against the agent: the Zabbix 6.0 export structure, every HTTP
// agent URL is a route the agent serves, every dependent item's master exists, every trigger
// references items of this template, every macro is defined, and every JSONPath finds a value
// Zabbix accepts for the item's type — in the documents of a busy agent and of one that has just
// started (no sweep, no ACK yet: where -1 went into unsigned items). The same file is imported
// into a real Zabbix 6.0 server by test/integration/zabbix.test.ts; the rules checked last here
// come from what that server showed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { RouteTable, coreRoutes, parseRequestTarget } from '../../../src/api/routes.ts';
import type { ZabbixEndpoints } from '../../../src/metrics/zabbix.ts';
import { exceptionRoutes, zabbixExceptions } from '../../../src/exceptions/routes.ts';
import { ExceptionSummary } from '../../../src/exceptions/summary.ts';
import { endpoints, freshEndpoints } from './zabbix-fixture.ts';
import { auditRoutes, zabbixAuditDocument } from '../../../src/audit/audit-routes.ts';
import { auditSource } from '../audit/audit-fixture.ts';

interface Preprocessing { type: string; parameters?: string[]; error_handler?: string }
interface Item {
  uuid: string;
  name: string;
  type?: string;
  key: string;
  delay?: string;
  value_type?: string;
  units?: string;
  url?: string;
  request_method?: string;
  retrieve_mode?: string;
  status_codes?: string;
  lifetime?: string;
  history?: string;
  headers?: { name: string; value: string }[];
  preprocessing?: Preprocessing[];
  master_item?: { key: string };
  valuemap?: { name: string };
  triggers?: Trigger[];
}
interface Trigger { uuid: string; expression: string; name: string; priority?: string; opdata?: string }
interface DiscoveryRule extends Item { item_prototypes?: Item[]; trigger_prototypes?: Trigger[]; filter?: { conditions: { macro: string; value: string }[] } }
interface Template {
  uuid: string;
  template: string;
  name: string;
  groups: { name: string }[];
  items: Item[];
  discovery_rules: DiscoveryRule[];
  macros: { macro: string; value?: string; type?: string }[];
  valuemaps: { uuid: string; name: string }[];
}
interface Export { zabbix_export: { version: string; groups: { uuid: string; name: string }[]; templates: Template[] } }

const text = readFileSync(new URL('../../../zabbix/dockhand-template.yaml', import.meta.url), 'utf8');
const doc = parse(text) as Export;
const tpl = doc.zabbix_export.templates[0] as Template;
const BASE = '{$DOCKHAND.SCHEME}://{HOST.CONN}:{$DOCKHAND.PORT}';

/** The JSONPath subset the template uses: `$.a.b`, `[?(@.k == "v")]` filters and `.first()`. */
function jsonPath(root: unknown, path: string): unknown {
  assert.ok(path.startsWith('$'), path);
  let nodes: unknown[] = [root];
  let rest = path.slice(1);
  while (rest.length > 0) {
    let m: RegExpExecArray | null;
    if ((m = /^\.first\(\)/.exec(rest))) {
      nodes = nodes.length > 0 ? [nodes[0]] : [];
    } else if ((m = /^\[\?\(@\.(\w+) == "([^"]*)"\)\]/.exec(rest))) {
      const [, key, value] = m;
      nodes = nodes.flatMap((n): unknown[] => (Array.isArray(n) ? (n as unknown[]) : [])).filter((n) => typeof n === 'object' && n !== null && String((n as Record<string, unknown>)[key ?? '']) === value);
    } else if ((m = /^\.(\w+)/.exec(rest))) {
      const key = m[1] ?? '';
      nodes = nodes.flatMap((n) => (typeof n === 'object' && n !== null && key in n ? [(n as Record<string, unknown>)[key]] : []));
    } else {
      assert.fail(`unsupported JSONPath at "${rest}" in ${path}`);
    }
    rest = rest.slice(m[0].length);
  }
  return nodes.length === 1 ? nodes[0] : nodes.length === 0 ? undefined : nodes;
}

function substitute(s: string, macros: Record<string, string>): string {
  return s.replace(/\{#[A-Z0-9_.]+\}/g, (m) => {
    const v = macros[m];
    assert.ok(v !== undefined, `LLD macro ${m} is not produced by the discovery rule`);
    return v;
  });
}

const routes = new RouteTable();
for (const r of [...coreRoutes(), ...endpoints().routes(), ...auditRoutes(auditSource()), ...exceptionRoutes(() => null)]) routes.add(r);

/** The exception summary of an agent that has counted one trace of app `shop` (the exceptions discovery needs a row). */
function exceptionSummary(): ExceptionSummary {
  const s = new ExceptionSummary({ maxApps: 5, topPerApp: 5, sampleBytes: 4096 });
  s.record('shop', '/data/application/logs/app_shop_pro_1_h_20261122.log', { language: 'java', type: 'java.lang.X', message: 'm', stackTrace: 'java.lang.X: m', rootType: 'java.lang.X', rootMessage: 'm', fingerprint: '0123456789abcdef' }, Date.parse('2026-11-22T04:00:00Z'));
  return s;
}

function assertServedUrl(item: Item, macros: Record<string, string>): string {
  assert.ok(item.url?.startsWith(BASE), `${item.key}: URL ${item.url} must start with ${BASE}`);
  const path = substitute((item.url ?? '').slice(BASE.length), macros);
  const match = routes.match('GET', parseRequestTarget(path).segments);
  assert.equal(match.kind, 'found', `${item.key}: ${path} is not a route the agent serves`);
  assert.deepEqual(item.headers, [{ name: 'Authorization', value: 'Bearer {$DOCKHAND.TOKEN}' }], `${item.key}: sends the token`);
  return path;
}

/** The audit's LLD documents, as its routes answer them. */
function auditDiscovery(path: string): { data: Record<string, string>[] } {
  const route = auditRoutes(auditSource()).find((r) => r.pattern === path);
  const answer = route?.handler({} as never) as { json: { data: Record<string, string>[] } };
  return answer.json;
}

const AGENTS: readonly [string, () => ZabbixEndpoints][] = [['a busy agent', endpoints], ['an agent that has just started', freshEndpoints]];

/** The JSON the master item at `path` gets, from the endpoints the agent routes to. */
function documentAt(path: string, z: ZabbixEndpoints): unknown {
  if (path === '/v1/zabbix/agent') return z.agentDocument();
  if (path === '/v1/zabbix/audit') return zabbixAuditDocument(auditSource());
  if (path === '/v1/zabbix/exceptions') return zabbixExceptions(exceptionSummary());
  const m = /^\/v1\/zabbix\/containers\/(.+)$/.exec(path);
  if (m) return z.containerDocument(m[1] ?? '');
  assert.fail(`no document for ${path}`);
}

/**
 * What Zabbix stores for the item: a value of its type, as Zabbix 6.0 accepts it — an unsigned
 * item refuses -1 and fractions ("Value "-1" of type "string" is not suitable for value type
 * "Numeric (unsigned)"", the item turns "not supported"); a unixtime of 0 shows as 1970.
 */
function assertAccepted(item: Item, path: string, value: unknown): void {
  const what = `${item.key}: ${path} = ${JSON.stringify(value)}`;
  if (item.value_type === 'CHAR' || item.value_type === 'TEXT') {
    assert.equal(typeof value, 'string', `${what} must be a string`);
    return;
  }
  assert.ok(typeof value === 'number' && Number.isFinite(value), `${what} must be a number`);
  if (item.value_type === undefined || item.value_type === 'UNSIGNED') assert.ok(Number.isInteger(value) && value >= 0, `${what} does not fit Numeric (unsigned)`);
  if (item.units === 'unixtime') assert.ok(value > 0, `${what} would show as 1970`);
}

function checkDependent(item: Item, masters: Map<string, Item>, macros: Record<string, string>, documents: Map<string, unknown>): void {
  assert.equal(item.delay, '0', `${item.key}: dependent items have delay 0`);
  const master = masters.get(item.master_item?.key ?? '');
  assert.ok(master, `${item.key}: master item ${item.master_item?.key} not in the template`);
  const json = documents.get(master.key);
  const [step, ...rest] = item.preprocessing ?? [];
  assert.equal(step?.type, 'JSONPATH', `${item.key}: first step is JSONPATH`);
  const path = substitute(step?.parameters?.[0] ?? '', macros);
  const value = jsonPath(json, path);
  for (const r of rest) assert.ok(['DISCARD_UNCHANGED_HEARTBEAT', 'DISCARD_UNCHANGED', 'CHANGE_PER_SECOND', 'MULTIPLIER'].includes(r.type), `${item.key}: step ${r.type} is not modelled by this test`);
  if (value === undefined && step?.error_handler === 'DISCARD_VALUE') return; // a filter that matches nothing: no value, no error
  assertAccepted(item, path, value);
}

function triggerKeys(expression: string): string[] {
  const refs = [...expression.matchAll(/\/([^/]+)\/([^,)]+(?:\[[^\]]*\])?)/g)];
  assert.ok(refs.length > 0, `no item reference in ${expression}`);
  for (const r of refs) assert.equal(r[1], tpl.template, `${expression}: references another host/template`);
  return refs.map((r) => r[2] ?? '');
}

test('Zabbix 6.0 export structure: version, group, one template, v4 UUIDs unique', () => {
  assert.equal(doc.zabbix_export.version, '6.0');
  assert.equal(doc.zabbix_export.templates.length, 1);
  assert.ok(doc.zabbix_export.groups.some((g) => g.name === tpl.groups[0]?.name));
  const uuids = [...text.matchAll(/uuid: (\S+)/g)].map((m) => m[1] ?? '');
  assert.ok(uuids.length > 40);
  for (const u of uuids) assert.match(u, /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/, `${u} is not a 32-hex UUIDv4 (Zabbix 6.0 import rejects others)`);
  assert.equal(new Set(uuids).size, uuids.length, 'UUIDs are unique');
  const keys = [...tpl.items, ...tpl.discovery_rules, ...tpl.discovery_rules.flatMap((d) => d.item_prototypes ?? [])].map((i) => i.key);
  assert.equal(new Set(keys).size, keys.length, 'item keys are unique');
});

for (const [agent, build] of AGENTS) {
test(`template items, ${agent}: the agent document master, dependents with JSONPaths that find values Zabbix accepts, triggers on own items`, () => {
  const z = build();
  const masters = new Map(tpl.items.filter((i) => i.type === 'HTTP_AGENT').map((i) => [i.key, i]));
  const documents = new Map([...masters.values()].map((m) => [m.key, documentAt(assertServedUrl(m, {}), z)]));
  for (const item of tpl.items.filter((i) => i.type === 'DEPENDENT')) checkDependent(item, masters, {}, documents);
  const keys = new Set(tpl.items.map((i) => i.key));
  for (const t of tpl.items.flatMap((i) => i.triggers ?? [])) for (const k of triggerKeys(t.expression)) assert.ok(keys.has(k), `${t.name}: unknown item ${k}`);
});

test(`discovery rules, ${agent}: served LLD URLs, prototypes resolved with the macros the rule produces, trigger prototypes on prototypes`, () => {
  const z = build();
  const lld: Record<string, () => { data: Record<string, string>[] }> = {
    '/v1/zabbix/containers': () => z.containerDiscovery(),
    '/v1/zabbix/logs': () => z.logDiscovery(),
    '/v1/zabbix/logs/containers': () => z.logContainerDiscovery(),
    '/v1/zabbix/probes': () => z.probeDiscovery(),
    '/v1/zabbix/audit/checks': () => auditDiscovery('/v1/zabbix/audit/checks'),
    '/v1/zabbix/audit/certificates': () => auditDiscovery('/v1/zabbix/audit/certificates'),
    '/v1/zabbix/exceptions': () => zabbixExceptions(exceptionSummary()),
  };
  const templateMasters = new Map(tpl.items.filter((i) => i.type === 'HTTP_AGENT').map((i) => [i.key, i]));
  assert.deepEqual(tpl.discovery_rules.map((d) => d.key).sort(), ['dockhand.audit.certificates.discovery', 'dockhand.audit.checks.discovery', 'dockhand.containers.discovery', 'dockhand.exceptions.discovery', 'dockhand.logs.containers.discovery', 'dockhand.logs.discovery', 'dockhand.probes.discovery']);
  for (const rule of tpl.discovery_rules) {
    const path = assertServedUrl(rule, {});
    const rows = lld[path]?.().data ?? [];
    assert.ok(rows.length > 0, `${rule.key}: fixture discovery has rows`);
    const macros = rows[0] as Record<string, string>;
    for (const c of rule.filter?.conditions ?? []) assert.ok(c.macro in macros, `${rule.key}: filter on unknown macro ${c.macro}`);
    const prototypes = rule.item_prototypes ?? [];
    // master items by key as Zabbix resolves it (LLD macros substituted), with the JSON each gets
    const masters = new Map<string, Item>();
    const documents = new Map<string, unknown>();
    for (const m of [...templateMasters.values(), ...prototypes.filter((p) => p.type === 'HTTP_AGENT')]) {
      const key = substitute(m.key, macros);
      masters.set(key, { ...m, key });
      documents.set(key, documentAt(assertServedUrl(m, macros), z));
    }
    for (const p of prototypes.filter((i) => i.type === 'DEPENDENT')) {
      checkDependent({ ...p, master_item: { key: substitute(p.master_item?.key ?? '', macros) } }, masters, macros, documents);
    }
    const protoKeys = new Set(prototypes.map((p) => p.key));
    for (const t of rule.trigger_prototypes ?? []) {
      const keys = triggerKeys(t.expression);
      assert.ok(keys.some((k) => protoKeys.has(k)), `${t.name}: a trigger prototype must use an item prototype`);
      for (const k of keys) assert.ok(protoKeys.has(k) || templateMasters.has(k) || tpl.items.some((i) => i.key === k), `${t.name}: unknown item ${k}`);
      // an LLD macro in a problem's name must say something ("Probe of x failing (tcp )" did not)
      for (const m of t.name.matchAll(/\{#[A-Z0-9_.]+\}/g)) assert.notEqual(macros[m[0]], '', `${t.name}: ${m[0]} is empty`);
    }
  }
});
}

test('the triggers the issue asks for exist: container down, restarted, OOM, CPU and memory high, log shipping stalled', () => {
  const all = [...tpl.items.flatMap((i) => i.triggers ?? []), ...tpl.discovery_rules.flatMap((d) => d.trigger_prototypes ?? [])];
  for (const [what, pattern] of [['down', /is down/], ['restarted', /restarted/], ['OOM', /OOM-killed/], ['CPU high', /High CPU/], ['memory high', /High memory/], ['log shipping stalled', /Log shipping .*stalled/]] as const) {
    assert.ok(all.some((t) => pattern.test(t.name)), `no trigger for ${what}`);
  }
});

test('every user macro is defined, every value map exists', () => {
  const defined = new Set(tpl.macros.map((m) => m.macro));
  const used = new Set([...text.matchAll(/\{\$[A-Z0-9_.]+\}/g)].map((m) => m[0]));
  for (const m of used) assert.ok(defined.has(m), `macro ${m} is used but not defined`);
  assert.equal(tpl.macros.find((m) => m.macro === '{$DOCKHAND.TOKEN}')?.type, 'SECRET_TEXT');
  const maps = new Set(tpl.valuemaps.map((v) => v.name));
  const items = [...tpl.items, ...tpl.discovery_rules.flatMap((d) => d.item_prototypes ?? [])];
  for (const i of items) if (i.valuemap) assert.ok(maps.has(i.valuemap.name), `${i.key}: value map ${i.valuemap.name} missing`);
});

// What a real Zabbix 6.0 server showed (test/integration/zabbix.test.ts runs these cases for real):

const allTriggers = [...tpl.items.flatMap((i) => i.triggers ?? []), ...tpl.discovery_rules.flatMap((d) => d.trigger_prototypes ?? [])];
const allItems = [...tpl.items, ...tpl.discovery_rules.flatMap((d) => d.item_prototypes ?? [])];

test('a trigger on a change holds for a period: changecount(…, period), never change(), which the next poll sets back to 0', () => {
  for (const t of allTriggers) assert.doesNotMatch(t.expression, /(^|[^a-z])change\(/, `${t.name}: opens and closes within one polling interval`);
  const restarted = allTriggers.find((t) => /has been restarted/.test(t.name));
  assert.match(restarted?.expression ?? '', /changecount\([^)]*,\{\$DOCKHAND\.CONTAINER\.RESTART\.PERIOD\}\)/);
});

test('operational data shows the item it names: "Stalled for" is the stalled-seconds item, not the 0/1 one through its value map', () => {
  for (const t of allTriggers) {
    for (const m of (t.opdata ?? '').matchAll(/\{ITEM\.LASTVALUE(\d*)\}/g)) {
      const n = Number(m[1] || '1');
      assert.ok(n <= triggerKeys(t.expression).length, `${t.name}: {ITEM.LASTVALUE${n}} but the expression has fewer items`);
    }
  }
  const stall = allTriggers.find((t) => /Log shipping .*stalled/.test(t.name));
  const n = Number(/\{ITEM\.LASTVALUE(\d*)\}/.exec(stall?.opdata ?? '')?.[1] || '1');
  const shown = allItems.find((i) => i.key === triggerKeys(stall?.expression ?? '')[n - 1]);
  assert.equal(shown?.key, 'dockhand.logs.stalled_seconds');
  assert.equal(shown.units, 's');
});

test('discovery mirrors the agent: what it stops listing (past keep_stopped, a removed probe) is deleted at once, lifetime 0', () => {
  for (const key of ['dockhand.containers.discovery', 'dockhand.probes.discovery']) {
    assert.equal(tpl.discovery_rules.find((d) => d.key === key)?.lifetime, '0', `${key}: items of a vanished container must not linger with 404s and open problems`);
  }
});

test('a wrong token is a problem of its own: the API status item (HEAD, any status accepted) and a trigger on 401', () => {
  const status = tpl.items.find((i) => i.key === 'dockhand.api.status');
  assert.ok(status);
  assert.equal(status.request_method, 'HEAD');
  assert.equal(status.retrieve_mode, 'HEADERS');
  assert.equal(status.status_codes, '', 'every status is a value, not an error');
  const [step] = status.preprocessing ?? [];
  assert.equal(step?.type, 'REGEX');
  const m = new RegExp(step.parameters?.[0] ?? '').exec('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n');
  assert.equal(m?.[1], '401');
  assert.ok(status.triggers?.some((t) => /=401$/.test(t.expression)));
});

test('exceptions: a discovery of apps with their rate, and a trigger on a new fingerprint that holds for a period', () => {
  const rule = tpl.discovery_rules.find((d) => d.key === 'dockhand.exceptions.discovery');
  assert.ok(rule);
  const rate = rule.item_prototypes?.find((i) => i.key === 'dockhand.exceptions.rate[{#APP}]');
  assert.deepEqual(rate?.preprocessing?.map((p) => p.type), ['JSONPATH', 'CHANGE_PER_SECOND', 'MULTIPLIER']);
  assert.equal(rate.value_type, 'FLOAT');
  const fresh = rule.trigger_prototypes?.find((t) => /New exception fingerprint/.test(t.name));
  assert.match(fresh?.expression ?? '', /^changecount\(\/dockhand by HTTP\/dockhand\.exceptions\.last_new\[\{#APP\}\],\{\$DOCKHAND\.EXCEPTION\.NEW\.PERIOD\}\)>0$/);
});

test('every master item without history has a dependent that stores each value (what shows it was polled: a real server showed none for one whose dependents all discard)', () => {
  const prototypes = tpl.discovery_rules.flatMap((d) => d.item_prototypes ?? []);
  const items = [...tpl.items, ...prototypes];
  for (const master of items.filter((i) => i.type === 'HTTP_AGENT' && i.key !== 'dockhand.api.status')) {
    const dependents = items.filter((d) => d.master_item?.key === master.key);
    const stores = dependents.filter((d) => !(d.preprocessing ?? []).some((p) => ['DISCARD_UNCHANGED', 'DISCARD_UNCHANGED_HEARTBEAT'].includes(p.type) || p.error_handler === 'DISCARD_VALUE'));
    assert.ok(master.history !== '0' || stores.length > 0, `${master.key}: no dependent stores every value`);
  }
});

test('container output: a discovery of its own with pending and state items and a trigger on unreadable output; the file discovery keeps its keys and macros', () => {
  const files = tpl.discovery_rules.find((d) => d.key === 'dockhand.logs.discovery');
  assert.equal(files?.url, `${BASE}/v1/zabbix/logs`);
  assert.equal(files.filter, undefined, 'file rows are not filtered (templates imported before keep working)');
  assert.deepEqual(files.item_prototypes?.map((i) => i.key), ['dockhand.log.lag["{#LOG.PATH}"]'], 'the file lag key operators use is unchanged');
  const rule = tpl.discovery_rules.find((d) => d.key === 'dockhand.logs.containers.discovery');
  assert.equal(rule?.url, `${BASE}/v1/zabbix/logs/containers`);
  assert.deepEqual(rule.item_prototypes?.map((i) => [i.key, i.master_item?.key]), [
    ['dockhand.log.container.pending[{#LOG.CONTAINER}]', 'dockhand.agent.get'],
    ['dockhand.log.container.state[{#LOG.CONTAINER}]', 'dockhand.agent.get'],
  ]);
  const z = endpoints();
  const unreadable = z.logContainerDiscovery().data.find((r) => r['{#LOG.CONTAINER}'] === 'batch') as Record<string, string>;
  const state = rule.item_prototypes?.find((i) => i.key.startsWith('dockhand.log.container.state'));
  assert.equal(jsonPath(z.agentDocument(), substitute(state?.preprocessing?.[0]?.parameters?.[0] ?? '', unreadable)), 'unreadable');
  const trigger = rule.trigger_prototypes?.[0];
  assert.match(trigger?.expression ?? '', /^last\(\/dockhand by HTTP\/dockhand\.log\.container\.state\[\{#LOG\.CONTAINER\}\]\)="unreadable" and nodata\(/, 'fires on unreadable; nodata closes it once the agent lets the container go');
});
