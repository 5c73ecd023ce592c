// A second reporter for node's test runner (scripts/test.ts adds it next to the default one): it
// writes one line per test file with the seconds the file took, slowest first, so a suite that
// grows slow shows where its time went. Files may run at once (lanes, scripts/test.ts), so a
// file's time is the span from the runner taking it up (its first event, `test:dequeue` of the
// file itself) to its last `test:complete` (live, unlike the start/pass events the runner holds
// back and replays in order while another file runs); that includes its before hooks. Each line
// also says when, from the start of the run, the runner took the file up: the suite's critical
// path (the release tests wait for fixtures built beside the others) shows in those. The first
// line also gives the wall time of the whole run.
interface TestEvent { type: string; data?: { file?: string } }

export default async function* fileTimes(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const spans = new Map<string, { first: number; last: number }>();
  const started = Date.now();
  for await (const event of source) {
    const file = event.data?.file;
    if (!file) continue;
    const now = Date.now();
    // every file is enqueued at the start; a file's time starts when the runner dequeues it
    const span = spans.get(file);
    if (!span) {
      if (event.type === 'test:dequeue') spans.set(file, { first: now, last: now });
    } else if (event.type === 'test:complete') span.last = now;
  }
  const rows = [...spans].map(([file, s]) => [file, (s.last - s.first) / 1000, (s.first - started) / 1000] as const).sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, s]) => sum + s, 0);
  yield `${total.toFixed(0)} s over ${rows.length} files, in ${((Date.now() - started) / 1000).toFixed(0)} s, slowest first\n`;
  for (const [file, s, from] of rows) yield `${s.toFixed(1).padStart(7)} s  from ${from.toFixed(0).padStart(4)} s  ${file}\n`;
}
