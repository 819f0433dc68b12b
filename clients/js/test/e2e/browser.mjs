// Run by tests/integration/test_js_client.py (not by `npm test`): the example page in real
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core), against a real
// collector. LS_PAGE: the page's URL (served by the test, with ?endpoint=...&key=...).
// The test and this script talk over stdin/stdout: the script prints "stop-collector" and
// waits for a line "stopped"; later "start-collector" and waits for "started".
//   1. online: playback events, flushed and accepted;
//   2. offline (the collector is stopped: every fetch and beacon meets a closed port): more
//      events, the attempts fail, the page reloads (its pagehide beacon fails too), the queue
//      comes back from localStorage, more events after the reload;
//   3. online again (the collector restarted on the same port): the client's own retry
//      delivers everything;
//   4. a reload while online before the batch timer fired: the pagehide beacon delivers, the
//      next page load sends the same events again (same ids).
// Prints one JSON line: every event id tracked, and what the page saw.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const pageUrl = process.env.LS_PAGE;
if (!pageUrl) {
  console.error("browser.mjs: set LS_PAGE");
  process.exit(2);
}
const executablePath = process.env.LS_CHROMIUM ?? "/usr/bin/chromium";
const { mkdtempSync, rmSync } = await import("node:fs");
const { tmpdir } = await import("node:os");
const { join } = await import("node:path");
const profile = mkdtempSync(join(tmpdir(), "ls-chromium-"));

const browser = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(what, answer) {
  console.log(what);
  const { value, done } = await lines.next();
  if (done || value.trim() !== answer) throw new Error(`expected "${answer}" after "${what}", got ${value}`);
}
const log = [];
const step = (s) => { log.push(s); console.error(`browser.mjs: ${s}`); };
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.on("console", (m) => log.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  const posts = [];
  page.on("request", (r) => {
    if (r.method() === "POST" && r.url().includes("/v1/events")) {
      let n = -1;
      try { n = JSON.parse(r.postData() ?? "{}").events.length; } catch { /* unreadable */ }
      posts.push({ step: log.filter((l) => /^\d/.test(l)).length, kind: r.resourceType(), beacon: r.url().includes("key="), events: n });
    }
  });
  const ready = async () => page.waitForFunction(() => document.body.dataset.ready === "1" && !!window.learnstream);
  const track = (type, position, extra = {}) =>
    page.evaluate(([t, p, x]) => {
      window.learnstream.setPosition(p);
      return window.learnstream.track(t, window.learnstream.playback(x)).event_id;
    }, [type, position, extra]);
  const stats = () => page.evaluate(() => window.learnstream.ls.stats());
  const flush = () => page.evaluate(() => window.learnstream.ls.flush());

  const tracked = [];
  await page.goto(pageUrl);
  await ready();
  step("1. online");
  tracked.push(await track("playback.started", 0));
  tracked.push(await track("playback.heartbeat", 10));
  tracked.push(await track("playback.paused", 12));
  const first = await flush();
  if (first.accepted !== 3 || first.remaining !== 0) throw new Error(`online flush: ${JSON.stringify(first)}`);

  step("2. offline");
  await ask("stop-collector", "stopped");
  tracked.push(await track("playback.resumed", 12));
  tracked.push(await track("playback.heartbeat", 20));
  tracked.push(await track("playback.seeked", 50, { from_position: 20 }));
  const offline = await flush();
  if (offline.remaining !== 3) throw new Error(`offline flush should keep 3: ${JSON.stringify(offline)}`);
  step("2b. reload while offline");
  await page.reload();
  await ready();
  const restored = await stats();
  if (restored.queued !== 3) throw new Error(`after the reload the queue should hold 3: ${JSON.stringify(restored)}`);
  tracked.push(await track("playback.heartbeat", 60));
  tracked.push(await track("playback.paused", 61));

  step("3. online again: the client's own retry delivers");
  await ask("start-collector", "started");
  await page.waitForFunction(() => window.learnstream.ls.stats().queued === 0, null, { timeout: 90_000 });

  step("4. reload before the batch timer: the beacon, then the same ids again after the load");
  tracked.push(await track("playback.resumed", 61));
  tracked.push(await track("playback.completed", 300));
  await page.reload();
  await ready();
  await page.waitForFunction(() => window.learnstream.ls.stats().queued === 0, null, { timeout: 90_000 });
  const final = await stats();
  const storedQueue = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.endsWith(":queue")));
  console.log(JSON.stringify({ tracked, final, storedQueue, posts, log }));
  lines.return?.();
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(0); // stdin (the conversation with the test) would keep the process alive
