// Stack traces taken apart (src/exceptions/trace.ts, trace-other.ts, frames.ts) over the corpus:
// the same bug in another build (lines moved, other lambda/proxy/accessor numbers, hashes, ids in
// the message) keeps its fingerprint; another root cause, another class chain or other frames
// change it; the error.* values are the outermost exception's, the root cause the innermost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeGoFrame, normalizeJavaFrame, normalizePythonFrame } from '../../../src/exceptions/frames.ts';
import { errorFields } from '../../../src/exceptions/inspector.ts';
import { parseTrace } from '../../../src/exceptions/trace.ts';
import type { ParsedTrace } from '../../../src/exceptions/trace.ts';
import { V1, V2, go, hibernate, kotlin, lambdaNpe, python, spring, suppressed } from '../../helpers/exception-traces.ts';
import type { Variant } from '../../helpers/exception-traces.ts';

const KINDS: Record<string, (v: Variant) => string> = { spring, hibernate, suppressed, kotlin, lambdaNpe, python, go };

function parsed(text: string): ParsedTrace {
  const t = parseTrace(text);
  assert.ok(t, `no trace found in:\n${text}`);
  return t;
}

test('the same bug at other line numbers, object ids, lambda/proxy/accessor numbers gets one fingerprint', () => {
  for (const [name, make] of Object.entries(KINDS)) {
    const a = parsed(make(V1));
    const b = parsed(make(V2));
    assert.notEqual(make(V1), make(V2), `${name}: the variants differ`);
    assert.match(a.fingerprint, /^[0-9a-f]{16}$/);
    assert.equal(a.fingerprint, b.fingerprint, `${name}: one bug, one fingerprint`);
  }
});

test('different kinds of trace have different fingerprints', () => {
  const prints = Object.values(KINDS).map((make) => parsed(make(V1)).fingerprint);
  assert.equal(new Set(prints).size, prints.length);
});

test('a different root cause under the same wrapper gives another fingerprint; so does another frame', () => {
  const a = parsed(spring(V1));
  const other = parsed(spring(V1, 'java.lang.IllegalArgumentException'));
  assert.equal(other.rootType, 'java.lang.IllegalArgumentException');
  assert.equal(other.type, a.type, 'same outermost exception');
  assert.notEqual(other.fingerprint, a.fingerprint);
  const moved = spring(V1).replace('OrderService.checkout(OrderService', 'OrderService.pay(OrderService');
  assert.notEqual(parsed(moved).fingerprint, a.fingerprint, 'another method where it was thrown');
});

test('error.* of a Spring trace: outermost type and message, trace from the header, innermost root cause', () => {
  const t = parsed(spring(V1));
  assert.equal(t.language, 'java');
  assert.equal(t.type, 'org.springframework.web.util.NestedServletException');
  assert.equal(t.message, 'Request processing failed; nested exception is java.lang.IllegalStateException: order 1001 has no lines');
  assert.equal(t.rootType, 'java.lang.IllegalStateException');
  assert.equal(t.rootMessage, 'order 1001 has no lines');
  assert.ok(t.stackTrace.startsWith('org.springframework.web.util.NestedServletException: Request processing failed'));
  assert.ok(t.stackTrace.endsWith('\t... 48 more'));
  assert.ok(!t.stackTrace.includes('dispatcherServlet'), 'the log line before the trace is not part of it');
});

test('Hibernate: the root cause is the last unindented Caused by, across `... n more`', () => {
  const t = parsed(hibernate(V1));
  assert.equal(t.type, 'org.springframework.dao.DataIntegrityViolationException');
  assert.equal(t.rootType, 'org.postgresql.util.PSQLException');
  assert.equal(t.rootMessage, 'ERROR: duplicate key value violates unique constraint "uk_customer_email"');
});

test('suppressed exceptions (and their causes) stay out of the chain; Exception in thread "…" is not part of the type', () => {
  const t = parsed(suppressed(V1));
  assert.equal(t.type, 'java.io.UncheckedIOException');
  assert.equal(t.message, 'export of batch 31 failed');
  assert.equal(t.rootType, 'java.io.IOException', 'not the suppressed one’s SocketException');
  assert.equal(t.rootMessage, 'No space left on device');
  const withoutSuppressed = suppressed(V1).replace(/\n\tSuppressed:[\s\S]*?(?=\nCaused by)/, '');
  assert.equal(parsed(withoutSuppressed).fingerprint, t.fingerprint, 'a suppressed close() failure does not split the bug');
});

test('Kotlin coroutines: numbered continuation classes and the coroutine boundary normalize', () => {
  const t = parsed(kotlin(V1));
  assert.equal(t.type, 'java.lang.IllegalArgumentException');
  assert.equal(t.rootType, t.type, 'no cause: the root cause is the exception itself');
  assert.equal(normalizeJavaFrame('com.example.billing.PriceService$quote$7.invokeSuspend(PriceService.kt:27)'), 'com.example.billing.PriceService$quote$N.invokeSuspend');
});

test('frame normalization: modules, lambdas (JDK 8-21), proxies, generated classes, synthetic methods, hashes', () => {
  const cases: [string, string][] = [
    ['java.base/java.lang.Thread.run(Thread.java:833)', 'java.lang.Thread.run'],
    ['app//com.example.A.b(A.java:1)', 'com.example.A.b'],
    ['java.base@17.0.2/java.util.HashMap.get(HashMap.java:5)', 'java.util.HashMap.get'],
    ['com.example.A$$Lambda$812/0x0000000800c4b040.apply(Unknown Source)', 'com.example.A$$Lambda.apply'],
    ['com.example.A$$Lambda/0x000000080012a3f0.apply(Unknown Source)', 'com.example.A$$Lambda.apply'],
    ['com.sun.proxy.$Proxy123.save(Unknown Source)', 'com.sun.proxy.$Proxy.save'],
    ['jdk.proxy3/jdk.proxy3.$Proxy45.find(Unknown Source)', 'jdk.proxy.$Proxy.find'],
    ['jdk.internal.reflect.GeneratedMethodAccessor77.invoke(Unknown Source)', 'jdk.internal.reflect.GeneratedMethodAccessor.invoke'],
    ['sun.reflect.GeneratedSerializationConstructorAccessor9.newInstance(Unknown Source)', 'sun.reflect.GeneratedSerializationConstructorAccessor.newInstance'],
    ['com.example.Svc$$EnhancerBySpringCGLIB$$5d1f2a3b.run(<generated>)', 'com.example.Svc$$EnhancerBySpringCGLIB.run'],
    ['com.example.Svc$$SpringCGLIB$$0.run(<generated>)', 'com.example.Svc$$SpringCGLIB.run'],
    ['com.example.Customer$HibernateProxy$Ab12Cd.getId(Unknown Source)', 'com.example.Customer$HibernateProxy.getId'],
    ['com.example.Job.lambda$run$3(Job.java:9)', 'com.example.Job.lambda$run'],
    ['com.example.Job.lambda$0(Job.java:9)', 'com.example.Job.lambda$'],
    ['com.example.Job$1.run(Job.java:9)', 'com.example.Job$N.run'],
    ['com.example.Job.access$000(Job.java:9)', 'com.example.Job.access$N'],
    ['com.example.Holder@5a2e4553.get(Holder.java:3)', 'com.example.Holder.get'],
  ];
  for (const [frame, want] of cases) assert.equal(normalizeJavaFrame(frame), want, frame);
  assert.equal(normalizePythonFrame('/srv/venv/lib/python3.11/site-packages/app/db.py', 'query'), 'app/db.py:query');
  assert.equal(normalizePythonFrame('/srv/app/worker.py', 'run'), 'app/worker.py:run');
  assert.equal(normalizeGoFrame('main.(*Server).handle(0xc000010000, {0x0, 0x0})'), 'main.(*Server).handle');
  assert.equal(normalizeGoFrame('example.com/x.Run.func3.2()'), 'example.com/x.Run.funcN');
});

test('Python: the last traceback is the outermost exception, the first the root cause', () => {
  const t = parsed(python(V1));
  assert.equal(t.language, 'python');
  assert.equal(t.type, 'app.errors.JobFailed');
  assert.equal(t.message, 'job 1 failed');
  assert.equal(t.rootType, 'psycopg.errors.UndefinedTable');
  assert.ok(t.stackTrace.startsWith('Traceback (most recent call last):'));
});

test('Go: a runtime panic is runtime.Error; runtime frames and arguments are left out', () => {
  const t = parsed(go(V1));
  assert.equal(t.language, 'go');
  assert.equal(t.type, 'runtime.Error');
  assert.equal(t.message, 'runtime error: invalid memory address or nil pointer dereference');
  const plain = parsed('panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d\nexit status 2');
  assert.equal(plain.type, 'panic');
  assert.equal(plain.message, 'boom');
  const elsewhere = parsed('panic: boom\n\ngoroutine 1 [running]:\nmain.other()\n\t/app/main.go:5 +0x1d');
  assert.notEqual(elsewhere.fingerprint, plain.fingerprint);
});

test('no trace: joined events that are not stack traces, and garbage, give null without throwing', () => {
  for (const text of [
    'line one\nline two',
    '2026-11-22 INFO config:\n  key: value\n  other: at least',
    '\tat \n\tat (',
    'Caused by: x\n\t... 3 more',
    'Traceback (most recent call last):\n',
    'panic: x\n',
    '\uFFFD\uFFFD\n\tat \uFFFD.(\uFFFD)',
    '',
  ]) {
    assert.equal(parseTrace(text), null, JSON.stringify(text));
  }
});

test('errorFields: valid JSON members with ECS error.* and dockhand.exception.root_cause', () => {
  const t = parsed(hibernate(V1));
  const doc = JSON.parse(`{"message":"x"${errorFields(t)}}`) as { error: Record<string, string>; dockhand: { exception: { language: string; root_cause: Record<string, string> } } };
  assert.deepEqual(Object.keys(doc.error), ['type', 'message', 'stack_trace', 'fingerprint']);
  assert.equal(doc.error['type'], t.type);
  assert.equal(doc.error['fingerprint'], t.fingerprint);
  assert.equal(doc.error['stack_trace'], t.stackTrace);
  assert.deepEqual(doc.dockhand.exception, { language: 'java', root_cause: { type: 'org.postgresql.util.PSQLException', message: t.rootMessage } });
});

test('random bytes and mangled traces never throw (the inspector would ship the event without error.* if one did)', () => {
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pieces = ['\tat ', '  at ', 'Caused by: ', '\tSuppressed: ', '... 3 more', 'Traceback (most recent call last):', '  File "x", line 1, in f', 'panic: ', 'goroutine 1 [running]:', 'java.lang.X: ', '$$Lambda$', '(', ')', '\n', ':', '$', '/', '@ff00ff', 'Exception in thread "', '\uFFFD'];
  const samples = Object.values(KINDS).map((make) => make(V1));
  for (let i = 0; i < 3000; i++) {
    let text: string;
    if (i % 2 === 0) {
      text = Array.from({ length: 1 + rand(40) }, () => pieces[rand(pieces.length)]).join('');
    } else {
      const s = samples[rand(samples.length)] as string;
      const cut = rand(s.length);
      text = s.slice(0, cut) + (pieces[rand(pieces.length)] as string) + s.slice(cut + rand(50));
    }
    const t = parseTrace(text);
    if (t !== null) assert.match(t.fingerprint, /^[0-9a-f]{16}$/);
  }
});
