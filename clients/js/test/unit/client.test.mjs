import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { backoffDelay, createClient, parseRetryAfter, uuidv7 } from "../../dist/index.js";
import { FakeClock, MemoryStorage, PLAY, accepted, fakeFetch, json, sequence, settle } from "./helpers.mjs";

const ENDPOINT = "http://collector.test";
const KEY = "lsk_test_0123456789abcdef";

function make(overrides = {}) {
  const clock = overrides.clock ?? new FakeClock();
  const fetch = overrides.fetch ?? fakeFetch();
  const client = createClient({
    endpoint: ENDPOINT, writeKey: KEY, clock, fetch, storage: null, uuid: sequence(),
    random: () => 0.5, flushAt: 100, flushIntervalMs: 1000, ...overrides,
  });
  return { client, clock, fetch };
}

const networkDown = () => {
  throw new TypeError("fetch failed");
};

describe("events", () => {
  test("event_id and occurred_at are fixed when the event happens, not when it is sent", async () => {
    const { client, clock, fetch } = make();
    const tracked = client.track("playback.started", PLAY, { contentId: "story-1", learnerId: "l-1" });
    assert.equal(tracked.occurred_at, "2026-12-03T10:00:00.000Z");
    await clock.advance(1000);
    assert.equal(fetch.requests.length, 1);
    const [sent] = fetch.events();
    assert.deepEqual(sent, {
      event_id: tracked.event_id, event_type: "playback.started",
      occurred_at: "2026-12-03T10:00:00.000Z", session_id: client.sessionId(),
      learner_id: "l-1", content_id: "story-1", payload: PLAY,
    });
    const body = JSON.parse(fetch.requests[0].body);
    assert.equal(body.sent_at, "2026-12-03T10:00:01.000Z"); // the batch's own time
    assert.equal(fetch.requests[0].url, `${ENDPOINT}/v1/events`);
    assert.equal(fetch.requests[0].headers.Authorization, `Bearer ${KEY}`);
    assert.equal(fetch.requests[0].headers["Content-Type"], "application/json");
  });

  test("event ids are UUIDv7 carrying the event's time by default; session ids are v4", async () => {
    const clock = new FakeClock();
    const client = createClient({ endpoint: ENDPOINT, writeKey: KEY, storage: null, fetch: fakeFetch(), clock });
    const e = client.track("playback.paused", PLAY, { contentId: "c" });
    const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    assert.match(e.event_id, v7);
    // The first 48 bits are the event's Unix time in milliseconds.
    assert.equal(parseInt(e.event_id.replace(/-/g, "").slice(0, 12), 16), clock.now());
    await clock.advance(5);
    const later = client.track("playback.paused", PLAY, { contentId: "c" });
    assert.match(later.event_id, v7);
    assert.notEqual(later.event_id, e.event_id);
    assert.ok(later.event_id > e.event_id, "ids sort in time order");
    assert.match(client.sessionId(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test("uuidv7 puts the time first and the version and variant bits in place", () => {
    const id = uuidv7(0x0123456789ab, new Uint8Array(10).fill(0xff));
    assert.equal(id, "01234567-89ab-7fff-bfff-ffffffffffff");
    assert.equal(uuidv7(0, new Uint8Array(10)), "00000000-0000-7000-8000-000000000000");
  });

  test("default context is merged with the event's own", async () => {
    const { client, clock, fetch } = make({ context: { platform: "web", app_version: "1.0" } });
    client.track("playback.paused", PLAY, { contentId: "c", context: { locale: "it-IT", app_version: "1.1" } });
    await clock.advance(1000);
    assert.deepEqual(fetch.events()[0].context, { platform: "web", app_version: "1.1", locale: "it-IT" });
  });

  test("identify sends learner.identified and later events carry the learner", async () => {
    const storage = new MemoryStorage();
    const { client, clock, fetch } = make({ storage });
    client.track("playback.started", PLAY, { contentId: "c" });
    const id = client.identify("learner-7", { method: "signup" });
    client.track("playback.paused", PLAY, { contentId: "c" });
    await clock.advance(1000);
    const events = fetch.events();
    assert.equal(events[0].learner_id, undefined);
    assert.deepEqual([events[1].event_type, events[1].learner_id, events[1].payload], ["learner.identified", "learner-7", { method: "signup" }]);
    assert.equal(events[1].event_id, id.event_id);
    assert.equal(events[2].learner_id, "learner-7");
    assert.equal(new Set(events.map((e) => e.session_id)).size, 1);
    // kept across a reload
    const again = make({ storage, clock });
    assert.equal(again.client.learnerId(), "learner-7");
    again.client.reset();
    assert.equal(again.client.learnerId(), null);
  });

  test("wrong calls fail at once with one clear message", () => {
    assert.throws(() => createClient({ writeKey: KEY }), /needs an endpoint/);
    assert.throws(() => createClient({ endpoint: ENDPOINT }), /needs a writeKey/);
    const { client } = make();
    assert.throws(() => client.track(""), /needs an event type/);
    assert.throws(() => client.identify(""), /needs a learner id/);
  });
});

describe("batching", () => {
  test("a batch goes when flushAt events are queued", async () => {
    const { client, fetch } = make({ flushAt: 3 });
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    await settle();
    assert.equal(fetch.requests.length, 0);
    for (let i = 0; i < 5; i++) client.track("playback.heartbeat", PLAY, { contentId: "c" });
    await settle();
    // the first request takes the 3 queued then; what arrived while it was in flight goes next
    assert.deepEqual(fetch.requests.map((r) => JSON.parse(r.body).events.length), [3, 4]);
    assert.equal(client.stats().queued, 0);
  });

  test("a batch goes flushIntervalMs after the first event, not before", async () => {
    const { client, clock, fetch } = make({ flushIntervalMs: 5000 });
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    await clock.advance(3000);
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    await clock.advance(1999);
    assert.equal(fetch.requests.length, 0);
    await clock.advance(1);
    assert.equal(fetch.requests.length, 1);
    assert.equal(fetch.events().length, 2);
  });

  test("batches hold at most maxBatchSize events; flush sends them all", async () => {
    const { client, fetch } = make({ maxBatchSize: 4 });
    for (let i = 0; i < 10; i++) client.track("playback.heartbeat", PLAY, { contentId: "c" });
    const result = await client.flush();
    assert.deepEqual(result, { accepted: 10, rejected: 0, remaining: 0 });
    assert.deepEqual(fetch.requests.map((r) => JSON.parse(r.body).events.length), [4, 4, 2]);
    assert.equal(new Set(fetch.events().map((e) => e.event_id)).size, 10);
  });

  test("one request at a time", async () => {
    let inFlight = 0;
    let most = 0;
    const fetch = fakeFetch(async (req) => {
      most = Math.max(most, ++inFlight);
      await settle();
      inFlight--;
      return accepted(req.body);
    });
    const { client } = make({ fetch, flushAt: 2 });
    for (let i = 0; i < 9; i++) client.track("playback.heartbeat", PLAY, { contentId: "c" });
    await client.flush();
    assert.equal(most, 1);
    assert.equal(fetch.events().length, 9);
  });
});

describe("retries", () => {
  test("network errors back off exponentially with jitter and keep every event_id", async () => {
    const delays = [];
    let calls = 0;
    const fetch = fakeFetch((req) => (++calls <= 4 ? networkDown() : accepted(req.body)));
    const { client, clock } = make({ fetch, retryBaseMs: 1000, retryMaxMs: 60000, random: () => 1, onRetry: (i) => delays.push(i.delayMs) });
    const ids = [0, 1, 2].map(() => client.track("playback.heartbeat", PLAY, { contentId: "c" }).event_id);
    await clock.advance(1000);
    await clock.advance(60_000);
    assert.deepEqual(delays, [1000, 2000, 4000, 8000]);
    assert.equal(fetch.requests.length, 5);
    for (const r of fetch.requests) assert.deepEqual(JSON.parse(r.body).events.map((e) => e.event_id), ids);
    assert.equal(client.stats().queued, 0);
    assert.equal(client.stats().retries, 4);
  });

  test("the retry does not come before its delay", async () => {
    let calls = 0;
    const fetch = fakeFetch((req) => (++calls === 1 ? networkDown() : accepted(req.body)));
    const { client, clock } = make({ fetch, retryBaseMs: 1000, random: () => 0 });
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    await clock.advance(1000); // first attempt, fails; retry in 500 ms (random 0: half the window)
    await clock.advance(499);
    assert.equal(fetch.requests.length, 1);
    await clock.advance(1);
    assert.equal(fetch.requests.length, 2);
  });

  test("backoff: equal jitter within [window/2, window], capped", () => {
    assert.equal(backoffDelay(1, 1000, 60000, () => 0), 500);
    assert.equal(backoffDelay(1, 1000, 60000, () => 1), 1000);
    assert.equal(backoffDelay(3, 1000, 60000, () => 0.5), 3000);
    assert.equal(backoffDelay(30, 1000, 60000, () => 1), 60000);
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(4, 1000, 60000, Math.random)));
    for (const d of seen) assert.ok(d >= 4000 && d <= 8000);
  });

  for (const status of [429, 503]) {
    test(`${status} waits out Retry-After, then sends the same batch`, async () => {
      let calls = 0;
      const fetch = fakeFetch((req) =>
        ++calls === 1 ? json(status, { error: status === 429 ? "rate_limited" : "kafka_unavailable" }, { "Retry-After": "7" }) : accepted(req.body));
      const { client, clock } = make({ fetch });
      const e = client.track("playback.heartbeat", PLAY, { contentId: "c" });
      await clock.advance(1000);
      await clock.advance(6999);
      assert.equal(fetch.requests.length, 1);
      await clock.advance(1);
      assert.equal(fetch.requests.length, 2);
      assert.equal(fetch.events()[1].event_id, e.event_id);
      assert.notEqual(JSON.parse(fetch.requests[1].body).sent_at, JSON.parse(fetch.requests[0].body).sent_at);
      assert.equal(client.stats().queued, 0);
    });
  }

  test("Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-12-03T10:00:00Z");
    assert.equal(parseRetryAfter("5", now), 5000);
    assert.equal(parseRetryAfter("Thu, 03 Dec 2026 10:00:30 GMT", now), 30000);
    assert.equal(parseRetryAfter(null, now), undefined);
    assert.equal(parseRetryAfter("soon", now), undefined);
  });

  test("a 503 without Retry-After backs off", async () => {
    const delays = [];
    let calls = 0;
    const fetch = fakeFetch((req) => (++calls === 1 ? json(503, { error: "overloaded" }) : accepted(req.body)));
    const { client, clock } = make({ fetch, onRetry: (i) => delays.push([i.status, i.delayMs]) });
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    await clock.advance(1000);
    await clock.advance(1000);
    assert.deepEqual(delays, [[503, 750]]);
    assert.equal(client.stats().queued, 0);
  });

  test("flush() tries at once even while a backoff is pending", async () => {
    let calls = 0;
    const fetch = fakeFetch((req) => (++calls === 1 ? networkDown() : accepted(req.body)));
    const { client, clock } = make({ fetch, retryBaseMs: 60000 });
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    await clock.advance(1000);
    assert.equal(client.stats().queued, 1);
    assert.deepEqual(await client.flush(), { accepted: 1, rejected: 0, remaining: 0 });
  });
});

describe("rejections", () => {
  test("events the collector rejected are reported and never retried; the rest are done", async () => {
    const reported = [];
    const fetch = fakeFetch((req) => {
      const events = JSON.parse(req.body).events;
      return json(200, {
        accepted: 1, rejected: 1, forbidden: 1,
        results: [
          { index: 0, status: "accepted", event_id: events[0].event_id },
          { index: 1, status: "rejected", reason: "invalid_field", detail: "payload.playback_position: Input should be a valid number", event_id: events[1].event_id },
          { index: 2, status: "forbidden", event_id: events[2].event_id },
        ],
      });
    });
    const { client, clock } = make({ fetch, onRejected: (r) => reported.push(...r) });
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    const bad = client.track("playback.heartbeat", { ...PLAY, playback_position: "x" }, { contentId: "c" });
    const forbidden = client.identify("l-1");
    const result = await client.flush();
    assert.deepEqual(result, { accepted: 1, rejected: 2, remaining: 0 });
    assert.deepEqual(reported.map((r) => [r.event.event_id, r.reason, r.status]), [
      [bad.event_id, "invalid_field", 200], [forbidden.event_id, "forbidden", 200]]);
    assert.match(reported[0].detail, /playback_position/);
    await clock.advance(120_000);
    assert.equal(fetch.requests.length, 1);
    assert.deepEqual(client.stats(), { queued: 0, accepted: 1, rejected: 2, dropped: 0, retries: 0 });
  });

  test("every event forbidden (403 with verdicts) is reported, not retried", async () => {
    const reported = [];
    const fetch = fakeFetch((req) => {
      const events = JSON.parse(req.body).events;
      return json(403, { accepted: 0, rejected: 0, forbidden: 1, results: [{ index: 0, status: "forbidden", event_id: events[0].event_id }] });
    });
    const { client, clock } = make({ fetch, onRejected: (r) => reported.push(...r) });
    client.identify("l-1");
    await client.flush();
    await clock.advance(120_000);
    assert.deepEqual(reported.map((r) => [r.reason, r.status]), [["forbidden", 403]]);
    assert.equal(fetch.requests.length, 1);
  });

  for (const [status, error] of [[401, "unknown_key"], [403, "revoked_key"], [400, "malformed_json"]]) {
    test(`a ${status} ${error} rejects the batch with that reason, no retry`, async () => {
      const reported = [];
      const fetch = fakeFetch(() => json(status, { error, detail: "no" }));
      const { client, clock } = make({ fetch, onRejected: (r) => reported.push(...r) });
      client.track("playback.heartbeat", PLAY, { contentId: "c" });
      client.track("playback.heartbeat", PLAY, { contentId: "c" });
      await client.flush();
      await clock.advance(120_000);
      assert.deepEqual(reported.map((r) => [r.reason, r.status, r.detail]), [[error, status, "no"], [error, status, "no"]]);
      assert.equal(fetch.requests.length, 1);
      assert.equal(client.stats().queued, 0);
    });
  }

  test("a 413 batch is split in halves until it fits", async () => {
    const fetch = fakeFetch((req) => (JSON.parse(req.body).events.length > 2 ? json(413, { error: "body_too_large" }) : accepted(req.body)));
    const { client } = make({ fetch });
    for (let i = 0; i < 6; i++) client.track("playback.heartbeat", PLAY, { contentId: "c" });
    assert.deepEqual(await client.flush(), { accepted: 6, rejected: 0, remaining: 0 });
    assert.equal(new Set(fetch.events().map((e) => e.event_id)).size, 6);
  });

  test("events a 200 gives no verdict for are sent again after a backoff, not at once", async () => {
    let calls = 0;
    const fetch = fakeFetch((req) => {
      const events = JSON.parse(req.body).events;
      if (++calls > 1) return accepted(req.body);
      return json(200, { accepted: 1, rejected: 0, forbidden: 0, results: [{ index: 0, status: "accepted", event_id: events[0].event_id }] });
    });
    const { client, clock } = make({ fetch, retryBaseMs: 1000, random: () => 1 });
    const ids = [0, 1].map(() => client.track("playback.heartbeat", PLAY, { contentId: "c" }).event_id);
    await clock.advance(1000);
    assert.equal(fetch.requests.length, 1);
    assert.equal(client.stats().queued, 1);
    await clock.advance(1000);
    assert.deepEqual(JSON.parse(fetch.requests[1].body).events.map((e) => e.event_id), [ids[1]]);
    assert.equal(client.stats().queued, 0);
  });

  test("a callback that throws does not stop delivery", async () => {
    const fetch = fakeFetch(() => json(400, { error: "not_a_batch" }));
    const { client } = make({ fetch, onRejected: () => { throw new Error("app bug"); } });
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    assert.deepEqual(await client.flush(), { accepted: 0, rejected: 1, remaining: 0 });
  });
});

describe("the queue", () => {
  test("is bounded: the oldest events are dropped, counted and reported", async () => {
    const drops = [];
    const { client } = make({ fetch: fakeFetch(networkDown), maxQueueSize: 5, onDropped: (d, total) => drops.push([d.map((e) => e.event_id), total]) });
    const ids = Array.from({ length: 8 }, () => client.track("playback.heartbeat", PLAY, { contentId: "c" }).event_id);
    assert.deepEqual(drops, [[[ids[0]], 1], [[ids[1]], 2], [[ids[2]], 3]]);
    assert.equal(client.stats().dropped, 3);
    assert.equal(client.stats().queued, 5);
  });

  test("survives a reload: the next client sends what the last one could not, same ids", async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock();
    const first = make({ storage, clock, fetch: fakeFetch(networkDown) });
    const ids = [0, 1, 2].map(() => first.client.track("playback.heartbeat", PLAY, { contentId: "c" }).event_id);
    await clock.advance(1000);
    assert.equal(first.fetch.requests.length, 1);
    // the page reloads: a new client on the same storage
    const second = make({ storage, clock, uuid: () => crypto.randomUUID() });
    assert.equal(second.client.stats().queued, 3);
    await clock.advance(0);
    assert.deepEqual(second.fetch.events().map((e) => e.event_id), ids);
    assert.equal(second.client.stats().queued, 0);
    assert.equal(storage.getItem(`learnstream:${KEY.slice(0, 12)}:queue`), null);
  });

  test("two tabs share the stored queue: neither erases the other's events; a page load adopts all", async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock();
    const a = make({ storage, clock, fetch: fakeFetch(networkDown), uuid: () => crypto.randomUUID() });
    const b = make({ storage, clock, fetch: fakeFetch(networkDown), uuid: () => crypto.randomUUID() });
    const ids = [a, b, a, b].map((tab) => tab.client.track("playback.heartbeat", PLAY, { contentId: "c" }).event_id);
    const stored = () => JSON.parse(storage.getItem(`learnstream:${KEY.slice(0, 12)}:queue`)).events.map((e) => e.event_id).sort();
    assert.deepEqual(stored(), [...ids].sort());
    await b.client.shutdown({ timeoutMs: 0 }); // tab b closes, offline
    const c = make({ storage, clock, uuid: () => crypto.randomUUID() }); // a new page load, online
    assert.equal(c.client.stats().queued, 4);
    await c.client.flush();
    assert.deepEqual(c.fetch.events().map((e) => e.event_id).sort(), [...ids].sort());
    assert.equal(storage.getItem(`learnstream:${KEY.slice(0, 12)}:queue`), null);
    // tab a still holds its own two; when it writes again, c's sent ones are not brought back
    a.client.track("playback.paused", PLAY, { contentId: "c" });
    assert.equal(stored().length, 3);
  });

  test("storage that throws (quota, private mode) does not stop tracking", async () => {
    const storage = { getItem() { throw new Error("denied"); }, setItem() { throw new Error("quota"); }, removeItem() { throw new Error("denied"); } };
    const { client, fetch } = make({ storage });
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    await client.flush();
    assert.equal(fetch.events().length, 1);
  });

  test("shutdown sends what is queued, retrying within its timeout", async () => {
    let calls = 0;
    const fetch = fakeFetch((req) => (++calls === 1 ? json(503, { error: "kafka_unavailable" }, { "Retry-After": "1" }) : accepted(req.body)));
    const { client, clock } = make({ fetch });
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    const done = client.shutdown({ timeoutMs: 5000 });
    await clock.advance(1000);
    assert.deepEqual(await done, { accepted: 1, rejected: 0, remaining: 0 });
    assert.equal(clock.pending().length, 0);
  });

  test("shutdown gives up at its timeout and leaves the events persisted", async () => {
    const storage = new MemoryStorage();
    const { client, clock } = make({ storage, fetch: fakeFetch(networkDown) });
    client.track("playback.heartbeat", PLAY, { contentId: "c" });
    const done = client.shutdown({ timeoutMs: 3000 });
    await clock.advance(10_000);
    assert.deepEqual(await done, { accepted: 0, rejected: 0, remaining: 1 });
    assert.equal(clock.pending().length, 0);
    assert.equal(JSON.parse(storage.getItem(`learnstream:${KEY.slice(0, 12)}:queue`)).events.length, 1);
  });
});

describe("sessions", () => {
  test("the session id rotates after 30 minutes idle, not before", async () => {
    const storage = new MemoryStorage();
    const { client, clock } = make({ storage });
    const s1 = client.track("playback.heartbeat", PLAY, { contentId: "c" }).session_id;
    await clock.advance(29 * 60_000);
    assert.equal(client.track("playback.heartbeat", PLAY, { contentId: "c" }).session_id, s1);
    await clock.advance(29 * 60_000); // active 29 min ago: still the same session
    assert.equal(client.track("playback.heartbeat", PLAY, { contentId: "c" }).session_id, s1);
    await clock.advance(30 * 60_000 + 1);
    const s2 = client.track("playback.heartbeat", PLAY, { contentId: "c" }).session_id;
    assert.notEqual(s2, s1);
    // a reload within the window keeps the session
    await clock.advance(60_000);
    assert.equal(make({ storage, clock }).client.sessionId(), s2);
  });

  test("an explicit sessionId wins", () => {
    const { client } = make();
    assert.equal(client.track("playback.heartbeat", PLAY, { contentId: "c", sessionId: "mine" }).session_id, "mine");
  });
});

describe("browsers", () => {
  const saved = {};
  function browser() {
    const win = new EventTarget();
    const doc = new EventTarget();
    doc.visibilityState = "visible";
    const beacons = [];
    const nav = { sendBeacon: (url, body) => { beacons.push({ url, body }); return true; } };
    for (const [name, value] of [["window", win], ["document", doc], ["navigator", nav]]) {
      saved[name] = Object.getOwnPropertyDescriptor(globalThis, name);
      Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
    }
    return { win, doc, beacons };
  }
  afterEach(() => {
    for (const [name, d] of Object.entries(saved)) {
      if (d) Object.defineProperty(globalThis, name, d);
      else delete globalThis[name];
      delete saved[name];
    }
  });

  test("pagehide hands the queue to sendBeacon: key in the query, a string body (text/plain), sent_at", async () => {
    const { win, beacons } = browser();
    const storage = new MemoryStorage();
    const { client } = make({ storage, fetch: fakeFetch(networkDown) });
    const ids = [0, 1].map(() => client.track("playback.paused", PLAY, { contentId: "c" }).event_id);
    win.dispatchEvent(new Event("pagehide"));
    assert.equal(beacons.length, 1);
    assert.equal(beacons[0].url, `${ENDPOINT}/v1/events?key=${KEY}`);
    assert.equal(typeof beacons[0].body, "string"); // sendBeacon sends a string as text/plain
    const body = JSON.parse(beacons[0].body);
    assert.equal(body.sent_at, "2026-12-03T10:00:00.000Z");
    assert.deepEqual(body.events.map((e) => e.event_id), ids);
    // the events stay queued and persisted: the beacon's fate is unknown
    assert.equal(client.stats().queued, 2);
    assert.equal(JSON.parse(storage.getItem(`learnstream:${KEY.slice(0, 12)}:queue`)).events.length, 2);
  });

  test("visibilitychange to hidden beacons; to visible does not; pagehide after it sends each event once", async () => {
    const { win, doc, beacons } = browser();
    const { client } = make({ fetch: fakeFetch(networkDown) });
    const a = client.track("playback.paused", PLAY, { contentId: "c" });
    doc.dispatchEvent(new Event("visibilitychange"));
    assert.equal(beacons.length, 0);
    doc.visibilityState = "hidden";
    doc.dispatchEvent(new Event("visibilitychange"));
    win.dispatchEvent(new Event("pagehide")); // a reload or close fires both
    assert.deepEqual(beacons.map((b) => JSON.parse(b.body).events.map((e) => e.event_id)), [[a.event_id]]);
    const b = client.track("playback.resumed", PLAY, { contentId: "c" });
    win.dispatchEvent(new Event("pagehide"));
    assert.deepEqual(JSON.parse(beacons[1].body).events.map((e) => e.event_id), [b.event_id]);
    // back to visible and hidden again: what is still queued goes in the next beacon
    doc.visibilityState = "visible";
    doc.dispatchEvent(new Event("visibilitychange"));
    doc.visibilityState = "hidden";
    doc.dispatchEvent(new Event("visibilitychange"));
    assert.deepEqual(JSON.parse(beacons[2].body).events.map((e) => e.event_id), [a.event_id, b.event_id]);
  });

  test("beacons are cut to fit the browser's 64 KiB", async () => {
    const { win, beacons } = browser();
    const { client } = make({ maxBatchSize: 500 });
    // "è" is two bytes in UTF-8: the limit is on bytes, not characters
    const big = { ...PLAY, content_characteristics: { format: "narrative", note: "è".repeat(1000) } };
    for (let i = 0; i < 30; i++) client.track("playback.heartbeat", big, { contentId: "c" });
    win.dispatchEvent(new Event("pagehide"));
    assert.ok(beacons.length > 1);
    for (const b of beacons) assert.ok(Buffer.byteLength(b.body) < 65536);
    assert.equal(beacons.flatMap((b) => JSON.parse(b.body).events).length, 30);
  });

  test("a beacon the browser refuses (quota) is tried again at pagehide", async () => {
    const { win, doc, beacons } = browser();
    const { client } = make({ fetch: fakeFetch(networkDown) });
    client.track("playback.paused", PLAY, { contentId: "c" });
    let refuse = true;
    const original = globalThis.navigator.sendBeacon;
    globalThis.navigator.sendBeacon = (url, body) => (refuse ? false : original(url, body));
    doc.visibilityState = "hidden";
    doc.dispatchEvent(new Event("visibilitychange"));
    assert.equal(beacons.length, 0);
    refuse = false;
    win.dispatchEvent(new Event("pagehide"));
    assert.equal(beacons.length, 1);
  });

  test("coming back online retries at once", async () => {
    const { win } = browser();
    let down = true;
    const fetch = fakeFetch((req) => (down ? networkDown() : accepted(req.body)));
    const { client, clock } = make({ fetch, retryBaseMs: 60_000 });
    client.track("playback.paused", PLAY, { contentId: "c" });
    await clock.advance(1000);
    down = false;
    win.dispatchEvent(new Event("online"));
    await settle();
    assert.equal(client.stats().queued, 0);
  });

  test("shutdown removes the listeners", async () => {
    const { win, beacons } = browser();
    const { client } = make({ fetch: fakeFetch(networkDown) });
    client.track("playback.paused", PLAY, { contentId: "c" });
    await client.shutdown({ timeoutMs: 0 });
    win.dispatchEvent(new Event("pagehide"));
    assert.equal(beacons.length, 0);
  });
});
