/**
 * Real-world-shaped stack traces for the exception tests, written for the purpose: each is a
 * function of the things that change between two occurrences of the same bug (line numbers,
 * object hashes, lambda and proxy numbers, thread names, ids in the message), so a test can make
 * the "same bug, other build" twin of each.
 */

export interface Variant {
  /** Line number shift (a build that moved lines). */
  line: number;
  /** A number that changes per occurrence / JVM run (lambda ids, proxy numbers, hashes). */
  n: number;
}

export const V1: Variant = { line: 0, n: 1 };
export const V2: Variant = { line: 17, n: 9 };

const hex = (n: number, width = 8): string => (0x1a2b3c + n * 7919).toString(16).padStart(width, '0');

/** Spring MVC: a NestedServletException over the application's IllegalStateException, CGLIB proxies, reflection accessors. */
export function spring(v: Variant, root = 'java.lang.IllegalStateException'): string {
  return `2026-11-22 10:15:3${v.n % 10}.123 ERROR 1 --- [nio-8080-exec-${v.n}] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception
org.springframework.web.util.NestedServletException: Request processing failed; nested exception is ${root}: order ${1000 + v.n} has no lines
\tat org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:${1014 + v.line})
\tat org.springframework.web.servlet.FrameworkServlet.doPost(FrameworkServlet.java:${909 + v.line})
\tat javax.servlet.http.HttpServlet.service(HttpServlet.java:681)
\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)
\tat javax.servlet.http.HttpServlet.service(HttpServlet.java:764)
\tat org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:227)
\tat java.base/java.lang.Thread.run(Thread.java:833)
Caused by: ${root}: order ${1000 + v.n} has no lines
\tat com.example.shop.order.OrderService.checkout(OrderService.java:${88 + v.line})
\tat com.example.shop.order.OrderService$$EnhancerBySpringCGLIB$$${hex(v.n)}.checkout(<generated>)
\tat jdk.internal.reflect.GeneratedMethodAccessor${100 + v.n}.invoke(Unknown Source)
\tat java.base/jdk.internal.reflect.DelegatingMethodAccessorImpl.invoke(DelegatingMethodAccessorImpl.java:43)
\tat com.example.shop.order.OrderController.lambda$checkout$${v.n}(OrderController.java:${41 + v.line})
\tat com.example.shop.order.OrderController$$Lambda$${800 + v.n}/0x0000000800${hex(v.n)}.get(Unknown Source)
\tat org.springframework.web.servlet.mvc.method.annotation.ServletInvocableHandlerMethod.invokeAndHandle(ServletInvocableHandlerMethod.java:117)
\t... 48 more`;
}

/** Hibernate: a constraint violation three causes deep, `... n more`, a JDK dynamic proxy (jdk.proxyN.$ProxyN). */
export function hibernate(v: Variant): string {
  return `2026-11-22 10:16:01.007 WARN  [http-nio-8080-exec-${v.n}] o.h.engine.jdbc.spi.SqlExceptionHelper - could not execute statement
org.springframework.dao.DataIntegrityViolationException: could not execute statement; SQL [n/a]; constraint [uk_customer_email]; nested exception is org.hibernate.exception.ConstraintViolationException: could not execute statement
\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(HibernateJpaDialect.java:${276 + v.line})
\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.translateExceptionIfPossible(HibernateJpaDialect.java:233)
\tat jdk.proxy${2 + v.n}/jdk.proxy${2 + v.n}.$Proxy${120 + v.n}.save(Unknown Source)
\tat com.example.crm.CustomerService.register(CustomerService.java:${55 + v.line})
\tat com.example.crm.CustomerService$$SpringCGLIB$$${v.n}.register(<generated>)
Caused by: org.hibernate.exception.ConstraintViolationException: could not execute statement
\tat org.hibernate.exception.internal.SQLStateConversionDelegate.convert(SQLStateConversionDelegate.java:59)
\tat org.hibernate.engine.jdbc.spi.SqlExceptionHelper.convert(SqlExceptionHelper.java:${113 + v.line})
\tat org.hibernate.persister.entity.AbstractEntityPersister.insert(AbstractEntityPersister.java:3233)
\tat com.example.crm.Customer$HibernateProxy$${hex(v.n, 6)}.getId(Unknown Source)
\t... 23 more
Caused by: org.postgresql.util.PSQLException: ERROR: duplicate key value violates unique constraint "uk_customer_email"
  Detail: Key (email)=(user${v.n}@example.com) already exists.
\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:${2676 + v.line})
\tat org.postgresql.core.v3.QueryExecutorImpl.processResults(QueryExecutorImpl.java:2366)
\tat com.zaxxer.hikari.pool.HikariProxyPreparedStatement.executeUpdate(HikariProxyPreparedStatement.java)
\t... 41 more`;
}

/** try-with-resources: a suppressed exception (with its own cause) next to the cause chain. */
export function suppressed(v: Variant): string {
  return `Exception in thread "worker-${v.n}" java.io.UncheckedIOException: export of batch ${v.n * 31} failed
\tat com.example.export.Exporter.run(Exporter.java:${70 + v.line})
\tat java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)
\tat java.base/java.lang.Thread.run(Thread.java:840)
\tSuppressed: java.io.IOException: close failed on stream@${hex(v.n)}
\t\tat com.example.export.CsvSink.close(CsvSink.java:${30 + v.line})
\t\tat com.example.export.Exporter.run(Exporter.java:${72 + v.line})
\t\t... 2 more
\tCaused by: java.net.SocketException: Broken pipe
\t\tat java.base/sun.nio.ch.NioSocketImpl.implWrite(NioSocketImpl.java:420)
\t\t... 4 more
Caused by: java.io.IOException: No space left on device
\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)
\tat com.example.export.CsvSink.write(CsvSink.java:${22 + v.line})
\t... 3 more`;
}

/** Kotlin coroutines: invokeSuspend of numbered continuation classes, a coroutine boundary, a suppressed diagnostic context. */
export function kotlin(v: Variant): string {
  return `Exception in thread "DefaultDispatcher-worker-${v.n}" java.lang.IllegalArgumentException: Invalid currency: XY${v.n}
\tat com.example.billing.PriceService.convert(PriceService.kt:${42 + v.line})
\tat com.example.billing.PriceService$quote$${v.n}.invokeSuspend(PriceService.kt:${27 + v.line})
\tat kotlin.coroutines.jvm.internal.BaseContinuationImpl.resumeWith(ContinuationImpl.kt:33)
\tat _COROUTINE._BOUNDARY._(CoroutineDebugging.kt)
\tat com.example.billing.BillingJob$run$${v.n + 1}.invokeSuspend(BillingJob.kt:${15 + v.line})
\tat kotlinx.coroutines.DispatchedTask.run(DispatchedTask.kt:108)
\tat kotlinx.coroutines.scheduling.CoroutineScheduler$Worker.run(CoroutineScheduler.kt:${749 + v.line})
\tSuppressed: kotlinx.coroutines.internal.DiagnosticCoroutineContextException: [StandaloneCoroutine{Cancelling}@${hex(v.n)}, Dispatchers.Default]`;
}

/** An NPE inside a stream lambda, with an anonymous inner class and a synthetic accessor. */
export function lambdaNpe(v: Variant): string {
  return `2026-11-22 10:17:45,${100 + v.n} ERROR [pool-3-thread-${v.n}] c.e.r.ReportJob - report failed
java.lang.NullPointerException: Cannot invoke "com.example.report.Row.total()" because "row" is null
\tat com.example.report.ReportJob.lambda$build$${v.n}(ReportJob.java:${61 + v.line})
\tat java.base/java.util.stream.ReferencePipeline$3$1.accept(ReferencePipeline.java:197)
\tat com.example.report.ReportJob$${v.n}.run(ReportJob.java:${90 + v.line})
\tat com.example.report.ReportJob.access$${String(v.n).padStart(3, '0')}(ReportJob.java:12)
\tat com.example.report.ReportJob$$Lambda/0x000000080${hex(v.n)}.run(Unknown Source)
\tat java.base/java.util.concurrent.Executors$RunnableAdapter.call(Executors.java:539)`;
}

export function python(v: Variant): string {
  return `2026-11-22 10:18:00,${v.n}00 ERROR app.worker: job ${v.n} failed
Traceback (most recent call last):
  File "/srv/app/venv${v.n}/lib/python3.11/site-packages/app/db.py", line ${120 + v.line}, in query
    rows = cursor.execute(sql, params)
  File "/srv/app/venv${v.n}/lib/python3.11/site-packages/psycopg/cursor.py", line ${723 + v.line}, in execute
    raise ex.with_traceback(None)
psycopg.errors.UndefinedTable: relation "orders_${v.n}" does not exist

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/srv/app/worker.py", line ${33 + v.line}, in run
    result = handler(job)
  File "/srv/app/venv${v.n}/lib/python3.11/site-packages/app/jobs.py", line ${58 + v.line}, in handler
    return db.query(job.sql)
app.errors.JobFailed: job ${v.n} failed`;
}

export function go(v: Variant): string {
  return `panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x${v.n}8 pc=0x${hex(v.n, 6)}]

goroutine ${v.n + 20} [running]:
example.com/api/server.(*Handler).ServeUser(0xc000${hex(v.n, 6)}, {0x7f${hex(v.n, 6)}, 0xc0001${v.n}2000}, 0xc000${v.n}3a00)
\t/build/api/server/user.go:${88 + v.line} +0x${v.n}26
example.com/api/server.(*Router).dispatch.func${1 + (v.n % 2 === 0 ? 0 : 0)}(0xc000${hex(v.n, 6)})
\t/build/api/server/router.go:${40 + v.line} +0x4d
net/http.HandlerFunc.ServeHTTP(0xc0000a6000, {0x8a${hex(v.n, 6)}, 0xc0001d2000}, 0xc000123a00)
\t/usr/local/go/src/net/http/server.go:2136 +0x29
created by net/http.(*Server).Serve in goroutine 1
\t/usr/local/go/src/net/http/server.go:3086 +0x4cc`;
}
