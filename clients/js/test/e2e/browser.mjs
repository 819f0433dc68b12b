// Run by tests/integration/test_js_client.py (not by `npm test`): the example page in real
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core), against a real
// collector. LS_PAGE: the page's URL (served by the test, with ?endpoint=...&key=...).
// LS_OFFLINE says how step 2 goes offline:
//   devtools (the default): the browser's own offline mode, DevTools'
//     Network.emulateNetworkConditions {offline: true}: every fetch and beacon of the page
//     fails with net::ERR_INTERNET_DISCONNECTED and navigator.onLine is false; the collector
//     keeps running. The reload while offline takes the page's own files from an offline
//     copy the script holds (a route fulfilled from clients/js on disk, as a service
//     worker's cache would give them to an offline-capable app); the collector's requests
//     are not routed and meet the offline network.
//   collector: the collector is stopped (a closed port: the same failures from a server
//     that is down). The test and this script talk over stdin/stdout: the script prints
//     "stop-collector" and waits for a line "stopped"; later "start-collector" and waits
//     for "started".
//   1. online: playback events, flushed and accepted;
//   2. offline: more events, the attempts fail, the page reloads (its pagehide beacon fails
//      too), the queue comes back from localStorage, more events after the reload;
//   3. online again: the client delivers everything;
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
const mode = process.env.LS_OFFLINE ?? "devtools";
if (mode !== "devtools" && mode !== "collector") {
  console.error(`browser.mjs: LS_OFFLINE is devtools or collector, not ${mode}`);
  process.exit(2);
}
const executablePath = process.env.LS_CHROMIUM ?? "/usr/bin/chromium";
const { mkdtempSync, rmSync } = await import("node:fs");
const { tmpdir } = await import("node:os");
const { join, resolve, sep } = await import("node:path");
const { readFile } = await import("node:fs/promises");
const { fileURLToPath } = await import("node:url");
// clients/js: what the offline copy serves (the static server serves the same folder)
const root = resolve(fileURLToPath(new URL("../../", import.meta.url)));
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
  const failed = [];
  page.on("requestfailed", (r) => {
    if (r.url().includes("/v1/events")) failed.push({ step: log.filter((l) => /^\d/.test(l)).length, error: r.failure()?.errorText ?? "" });
  });
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
  const onLine = () => page.evaluate(() => navigator.onLine);
  async function drained() {
    try {
      await page.waitForFunction(() => window.learnstream.ls.stats().queued === 0, null, { timeout: 90_000 });
    } catch (error) {
      const seen = JSON.stringify({ stats: await stats(), posts, failed, log: log.slice(-20) });
      throw new Error(`the queue did not drain: ${error.message.split("\n")[0]}; ${seen}`);
    }
  }
  let cdp = null;
  const emulate = (offline) => cdp.send("Network.emulateNetworkConditions",
    { offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  async function goOffline() {
    if (mode === "collector") return ask("stop-collector", "stopped");
    const site = new URL(pageUrl).origin;
    // Served without an IP address, the reloaded page counts as public, and Chromium's
    // local network access checks then ask before it reaches the collector on loopback:
    // granted, as a user answers the prompt.
    await browser.grantPermissions(["local-network-access"], { origin: site });
    cdp = await browser.newCDPSession(page);
    // Only the page's own files are intercepted (Fetch.enable's pattern): the collector's
    // requests and beacons go to the network as they are, and meet the offline emulation.
    cdp.on("Fetch.requestPaused", ({ requestId, request }) => void offlineCopy(requestId, request.url));
    await cdp.send("Fetch.enable", { patterns: [{ urlPattern: `${site}/*`, requestStage: "Request" }] });
    await cdp.send("Network.enable");
    await emulate(true);
    if (await onLine()) throw new Error("navigator.onLine is still true after the offline emulation");
  }
  async function offlineCopy(requestId, url) {
    const file = resolve(root, `.${decodeURIComponent(new URL(url).pathname)}`);
    const type = file.endsWith(".html") ? "text/html" : file.endsWith(".js") ? "text/javascript" : "application/octet-stream";
    let body = null;
    if (file.startsWith(root + sep)) body = await readFile(file).catch(() => null);
    await cdp.send("Fetch.fulfillRequest", body === null ? { requestId, responseCode: 404 } : {
      requestId, responseCode: 200, responseHeaders: [{ name: "Content-Type", value: type }],
      body: body.toString("base64"),
    }).catch((error) => log.push(`offline copy of ${url}: ${error.message}`));
  }
  async function goOnline() {
    if (mode === "collector") return ask("start-collector", "started");
    await emulate(false);
  }

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
  await goOffline();
  tracked.push(await track("playback.resumed", 12));
  tracked.push(await track("playback.heartbeat", 20));
  tracked.push(await track("playback.seeked", 50, { from_position: 20 }));
  const offline = await flush();
  if (offline.remaining !== 3) throw new Error(`offline flush should keep 3: ${JSON.stringify(offline)}`);
  step("2b. reload while offline");
  await page.reload();
  await ready();
  const restored = await stats();
  if (mode === "devtools" && (await onLine())) throw new Error("online again after the reload");
  if (restored.queued !== 3) throw new Error(`after the reload the queue should hold 3: ${JSON.stringify(restored)}`);
  tracked.push(await track("playback.heartbeat", 60));
  tracked.push(await track("playback.paused", 61));

  step("3. online again: the client delivers");
  await goOnline();
  await drained();

  step("4. reload before the batch timer: the beacon, then the same ids again after the load");
  tracked.push(await track("playback.resumed", 61));
  tracked.push(await track("playback.completed", 300));
  await page.reload();
  await ready();
  await drained();
  const final = await stats();
  const storedQueue = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.endsWith(":queue")));
  console.log(JSON.stringify({ mode, tracked, final, storedQueue, posts, failed, log }));
  lines.return?.();
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(0); // stdin (the conversation with the test) would keep the process alive
