// Run by tests/integration/test_js_client.py against a real collector (not by `npm test`).
// LS_ENDPOINT, LS_KEY: the collector and a write key. The collector is NOT up yet when this
// starts: the first attempts fail with network errors and back off. The script prints
// "queued" once its events are tracked, and "retry STATUS" (or "retry network") for each
// failed attempt; the test starts a collector that cannot reach Kafka (503, Retry-After),
// then one that can, on the same port. The first answer
// the collector gives is thrown away (as if the connection dropped after the collector took
// the batch), so that batch is sent again with the same event ids. At the end it prints one
// JSON line: the ids it tracked, what was rejected, the HTTP answers it saw, its stats.
import { createClient } from "../../dist/index.js";

const endpoint = process.env.LS_ENDPOINT;
const writeKey = process.env.LS_KEY;
if (!endpoint || !writeKey) {
  console.error("node-client.mjs: set LS_ENDPOINT and LS_KEY");
  process.exit(2);
}

const answers = [];
let lostOne = false;
async function flakyFetch(url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    answers.push("network_error");
    throw error;
  }
  answers.push(response.status);
  if (response.status === 200 && !lostOne) {
    lostOne = true;
    await response.text();
    throw new TypeError("connection reset after the collector answered (simulated)");
  }
  return response;
}

const rejected = [];
const ls = createClient({
  endpoint, writeKey, fetch: flakyFetch, storage: null,
  flushAt: 10, flushIntervalMs: 200, maxBatchSize: 8, retryBaseMs: 200, retryMaxMs: 1000,
  context: { platform: "node", app_version: "e2e" },
  onRetry: ({ status }) => console.log(`retry ${status ?? "network"}`),
  onRejected: (rs) => rejected.push(...rs.map((r) => ({ event_id: r.event.event_id, reason: r.reason, detail: r.detail }))),
});

const characteristics = { format: "podcast", language: "it" };
const tracked = [ls.identify("learner-node-1").event_id]; // the key has the catalog family
let position = 0;
for (const type of ["playback.started", "playback.heartbeat", "playback.paused", "playback.resumed", "playback.heartbeat", "playback.completed"]) {
  position += 20;
  tracked.push(ls.track(type, { playback_position: position, duration: 300, content_characteristics: characteristics }, { contentId: "podcast-1" }).event_id);
}
tracked.push(ls.track("playback.seeked", { playback_position: 10, from_position: 120, content_characteristics: characteristics }, { contentId: "podcast-1" }).event_id);
tracked.push(ls.track("content.liked", { reaction_type: "love", content_characteristics: characteristics }, { contentId: "podcast-1" }).event_id);
tracked.push(ls.track("lesson.started", { lesson_id: "lesson-1", course_id: "course-1" }).event_id);
for (let i = 0; i < 20; i++) {
  tracked.push(ls.track("playback.heartbeat", { playback_position: i, duration: 300, content_characteristics: characteristics }, { contentId: "podcast-2" }).event_id);
}
// one the collector rejects: never retried, reported
const bad = ls.track("playback.heartbeat", { playback_position: -5, duration: 300, content_characteristics: characteristics }, { contentId: "podcast-2" });
console.log("queued");

const result = await ls.shutdown({ timeoutMs: 120_000 });
console.log(JSON.stringify({ tracked, bad: bad.event_id, rejected, answers, result, stats: ls.stats() }));
