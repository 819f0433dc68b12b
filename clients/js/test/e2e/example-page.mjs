// Run by tests/integration/test_demo_example.py (not by `npm test`): the example page as
// `learnstream demo --serve-example` serves it, in headless Chromium, used with its buttons:
// play, pause, seek, complete, log in (a catalog event the page's key may not send), flush.
// LS_PAGE: the address the demo printed (endpoint and key in its query, nothing added here).
// Prints one JSON line: the event ids the page logged as tracked, its stats and its log.
import { chromium } from "playwright-core";

const pageUrl = process.env.LS_PAGE;
if (!pageUrl) {
  console.error("example-page.mjs: set LS_PAGE");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.LS_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const errors = [];
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(pageUrl);
  await page.waitForFunction(() => document.body.dataset.ready === "1");
  for (const button of ["play", "pause", "seek", "play", "complete", "login"]) {
    await page.click(`#${button}`);
  }
  // the forbidden identification comes back through onRejected: wait for its answer
  await page.click("#flush");
  await page.waitForFunction(() => {
    const s = window.learnstream.ls.stats();
    return s.queued === 0 && s.rejected >= 1;
  }, null, { timeout: 60_000 });
  const stats = await page.evaluate(() => window.learnstream.ls.stats());
  const log = (await page.textContent("#log")).split("\n").filter(Boolean).reverse();
  const tracked = log.map((line) => /^(\S+\.\S+) ([0-9a-f-]{36})$/.exec(line))
    .filter(Boolean).map((m) => ({ type: m[1], id: m[2] }));
  console.log(JSON.stringify({ tracked, stats, log, errors }));
} finally {
  await browser.close();
}
