// A second reporter for node's test runner (scripts/test.ts adds it next to the default one): it
// writes one line per test file with the seconds the file took, slowest first, so a suite that
// grows slow shows where its time went. Files run one at a time (--test-concurrency=1), so a
// file's time is the span from the previous file's last event to its own last one: that includes
// its before hooks, which report nothing until the first test ends.
interface TestEvent { type: string; data?: { file?: string } }

export default async function* fileTimes(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const seconds = new Map<string, number>();
  let previousEnd = Date.now();
  let current: string | undefined;
  let currentEnd = previousEnd;
  for await (const event of source) {
    const file = event.data?.file;
    if (!file) continue;
    const now = Date.now();
    if (file !== current) {
      if (current) seconds.set(current, (seconds.get(current) ?? 0) + (currentEnd - previousEnd) / 1000);
      previousEnd = currentEnd;
      current = file;
    }
    currentEnd = now;
  }
  if (current) seconds.set(current, (seconds.get(current) ?? 0) + (currentEnd - previousEnd) / 1000);
  const rows = [...seconds].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, s]) => sum + s, 0);
  yield `${total.toFixed(0)} s over ${rows.length} files, slowest first\n`;
  for (const [file, s] of rows) yield `${s.toFixed(1).padStart(7)} s  ${file}\n`;
}
