// A node:test reporter that prints, after the dots of the `dot` reporter, the totals and the time: how many
// tests passed, failed and were skipped (with the reasons given), and how long the run took.
export default async function* summary(source) {
  const counts = { pass: 0, fail: 0, skipped: 0 };
  const reasons = new Set();
  const started = Date.now();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    const suite = data.details?.type === 'suite';
    if (data.skip) {
      if (typeof data.skip === 'string') reasons.add(`${data.name}: ${data.skip}`);
      if (!suite) counts.skipped++;
    } else if (!suite) counts[event.type === 'test:pass' ? 'pass' : 'fail']++;
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  const total = counts.pass + counts.fail + counts.skipped;
  yield `\n${total} tests: ${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped, in ${Math.floor(seconds / 60)} min ${seconds % 60} s\n`;
  for (const reason of reasons) yield `skipped: ${reason}\n`;
}
