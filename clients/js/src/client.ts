import type { EventContext, EventType, Payloads } from "./generated/events.js";

/** An event as it is queued and sent: the envelope of the contracts. */
export interface QueuedEvent {
  event_id: string;
  event_type: string;
  occurred_at: string;
  session_id: string;
  learner_id?: string | null;
  content_id?: string | null;
  context?: EventContext;
  payload?: unknown;
  schema_version?: number;
}

/** An event the collector (or the client) will not take; it is not retried. */
export interface Rejection {
  event: QueuedEvent;
  /** The collector's RejectionReason (`invalid_field`, ...), `forbidden` (the key may not
   * send this family), or a request-level error code (`unknown_key`, `revoked_key`,
   * `body_too_large`, ...). */
  reason: string;
  detail?: string;
  status: number;
}

/** Where the queue, the session and the learner id are kept: `localStorage` in browsers. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Timers and time, replaceable in tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ClientOptions {
  /** The collector's base URL, e.g. `https://collect.example.com` (POST `{endpoint}/v1/events`). */
  endpoint: string;
  /** A write key from `learnstream keys create`. */
  writeKey: string;
  /** Send when this many events are queued (default 20). */
  flushAt?: number;
  /** Send queued events at most this long after the first was queued (default 5,000 ms). */
  flushIntervalMs?: number;
  /** Events per request (default 100; the collector takes up to 500). */
  maxBatchSize?: number;
  /** Most events kept; beyond it the oldest are dropped, counted and reported (default 1,000). */
  maxQueueSize?: number;
  /** First retry delay (default 1,000 ms); doubled per failed attempt, with jitter. */
  retryBaseMs?: number;
  /** Longest retry delay from backoff (default 60,000 ms). */
  retryMaxMs?: number;
  /** Longest wait a `Retry-After` may ask for (default 600,000 ms). */
  retryAfterMaxMs?: number;
  /** A session id rotates after this much inactivity (default 30 minutes). */
  sessionIdleMs?: number;
  /** Fields added to every event's context (`{ platform: "web", app_version: "1.2" }`). */
  context?: EventContext;
  /** The learner, if known at start (identify() sets it later). */
  learnerId?: string;
  /** Called with the events the collector rejected (they are not retried). */
  onRejected?: (rejections: Rejection[]) => void;
  /** Called when the queue is full and old events are dropped; `total` counts all drops. */
  onDropped?: (dropped: QueuedEvent[], total: number) => void;
  /** Called on a failed attempt that will be retried. */
  onRetry?: (info: { attempt: number; delayMs: number; status?: number; error?: unknown }) => void;
  /** Persistence; default `localStorage` when there is one, else memory only. `null`: memory. */
  storage?: StorageLike | null;
  /** Prefix of the storage keys (default `learnstream:` plus the key's first 12 characters). */
  storageKey?: string;
  /** Flush with `navigator.sendBeacon` on `visibilitychange` (hidden) and `pagehide`
   * (default true where there is a `window` and `navigator.sendBeacon`). */
  beacon?: boolean;
  /** Replaceable in tests. */
  fetch?: typeof fetch;
  clock?: Clock;
  random?: () => number;
  /** Ids for events and sessions. Default: a UUIDv7 of the event's time for each event
   * (see `uuidv7`), a random v4 for each session. */
  uuid?: () => string;
}

export interface TrackOptions {
  learnerId?: string | null;
  sessionId?: string;
  contentId?: string | null;
  context?: EventContext;
}

export interface FlushResult {
  /** Events the collector accepted during this flush. */
  accepted: number;
  /** Events it rejected (also passed to onRejected). */
  rejected: number;
  /** Events still queued (a failed attempt is retried in the background). */
  remaining: number;
}

export interface ClientStats {
  queued: number;
  accepted: number;
  rejected: number;
  dropped: number;
  retries: number;
}

export interface Client {
  /** Queues one event; `event_id` and `occurred_at` are fixed now. Returns the event. */
  track<T extends EventType>(eventType: T, payload: Payloads[T], options?: TrackOptions): QueuedEvent;
  /** Sends `learner.identified` and uses `learnerId` for later events. */
  identify(learnerId: string, options?: { method?: "signup" | "login" | "link" } & TrackOptions): QueuedEvent;
  /** Forgets the learner and starts a new session (e.g. on logout). */
  reset(): void;
  /** Sends everything queued now. */
  flush(): Promise<FlushResult>;
  /** Stops timers and listeners, then sends what is queued until it is empty or
   * `timeoutMs` (default 5,000) passes; what is left stays persisted. */
  shutdown(options?: { timeoutMs?: number }): Promise<FlushResult>;
  /** The session id the next event gets (rotated after `sessionIdleMs` idle). */
  sessionId(): string;
  learnerId(): string | null;
  stats(): ClientStats;
}

const DEFAULTS = {
  flushAt: 20,
  flushIntervalMs: 5_000,
  maxBatchSize: 100,
  maxQueueSize: 1_000,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
  retryAfterMaxMs: 600_000,
  sessionIdleMs: 30 * 60 * 1000,
};

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

let uuidFallback: (() => string) | null = null;

/** Used where the runtime has no global `crypto` (Node 18 without the flag): the package's
 * `node` entry sets node:crypto's randomUUID. */
export function setUuidFallback(fn: () => string): void {
  uuidFallback = fn;
}

/** 16 bytes in the UUID text form (8-4-4-4-12 hex digits). */
function uuidText(b: Uint8Array): string {
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

let randomFallback: ((bytes: Uint8Array) => void) | null = null;

/** Used where the runtime has no global `crypto`: the `node` entry sets node:crypto's
 * randomFillSync, for the random part of event ids. */
export function setRandomFallback(fn: (bytes: Uint8Array) => void): void {
  randomFallback = fn;
}

function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.getRandomValues === "function") c.getRandomValues(bytes);
  else if (randomFallback) randomFallback(bytes);
  else throw new Error("learnstream: no crypto.getRandomValues in this runtime; pass options.uuid");
  return bytes;
}

/** A UUIDv7 (RFC 9562) for an event that happened at `ms` (Unix milliseconds): 48 bits of
 * time, then random bits. Why not v4: ids that grow with time land at the right edge of the
 * log's unique index, where v4's random ids touch a random index page each; with 10-50M rows
 * in the log the write path ran at about half the empty log's rate with v4 and at the same
 * rate with v7 (bench/results/log_growth.md). */
export function uuidv7(ms: number, random: Uint8Array = randomBytes(10)): string {
  const b = new Uint8Array(16);
  let t = Math.max(0, Math.floor(ms));
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b.set(random.subarray(0, 10), 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return uuidText(b);
}

function defaultUuid(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  if (c && typeof c.getRandomValues === "function") {
    const b = c.getRandomValues(new Uint8Array(16));
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    return uuidText(b);
  }
  if (uuidFallback) return uuidFallback();
  throw new Error("learnstream: no crypto.randomUUID or crypto.getRandomValues in this runtime; pass options.uuid");
}

function defaultStorage(): StorageLike | null {
  try {
    const ls = (globalThis as { localStorage?: StorageLike }).localStorage;
    if (!ls) return null;
    const probe = "learnstream:probe";
    ls.setItem(probe, "1");
    ls.removeItem(probe);
    return ls;
  } catch {
    return null; // disabled storage (private mode, sandboxed iframe)
  }
}

/** Seconds or an HTTP date, as milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with "equal jitter": half the window fixed, half random. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const window = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(window / 2 + random() * (window / 2));
}

type Outcome =
  | { kind: "done"; accepted: number; rejected: number }
  | { kind: "retry"; delayMs: number };

interface Persisted {
  v: 1;
  events: QueuedEvent[];
}

export function createClient(options: ClientOptions): Client {
  if (!options || typeof options.endpoint !== "string" || options.endpoint === "") {
    throw new TypeError("learnstream: createClient needs an endpoint (the collector's URL)");
  }
  if (typeof options.writeKey !== "string" || options.writeKey === "") {
    throw new TypeError("learnstream: createClient needs a writeKey (from `learnstream keys create`)");
  }
  const cfg = { ...DEFAULTS, ...stripUndefined(options) };
  const maxBatch = Math.max(1, Math.min(500, cfg.maxBatchSize));
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  const uuid = options.uuid ?? defaultUuid;
  const doFetch: typeof fetch | undefined =
    options.fetch ?? (typeof fetch === "function" ? fetch.bind(globalThis) : undefined);
  if (!doFetch) throw new TypeError("learnstream: no fetch in this runtime; pass options.fetch");
  const storage = options.storage === undefined ? defaultStorage() : options.storage;
  const prefix = options.storageKey ?? `learnstream:${options.writeKey.slice(0, 12)}:`;
  const url = `${options.endpoint.replace(/\/+$/, "")}/v1/events`;

  let queue: QueuedEvent[] = [];
  const stats: ClientStats = { queued: 0, accepted: 0, rejected: 0, dropped: 0, retries: 0 };
  let attempt = 0; // consecutive failed attempts
  let sending: Promise<Outcome> | null = null;
  let flushTimer: unknown = null;
  let retryTimer: unknown = null;
  let closed = false;

  // --- persistence -------------------------------------------------------------------
  function read(key: string): string | null {
    try {
      return storage ? storage.getItem(prefix + key) : null;
    } catch {
      return null;
    }
  }
  function write(key: string, value: string | null): void {
    if (!storage) return;
    try {
      if (value === null) storage.removeItem(prefix + key);
      else storage.setItem(prefix + key, value);
    } catch {
      // quota exceeded or storage gone: the in-memory queue still works
    }
  }
  // Every id this client has had in its queue (bounded): stored events outside it belong to
  // another tab of the same app and are kept when this one writes the queue back.
  const known = new Set<string>();
  function remember(id: string): void {
    known.add(id);
    if (known.size > 4 * cfg.maxQueueSize + 1000) {
      const oldest = known.values().next();
      if (!oldest.done) known.delete(oldest.value);
    }
  }
  function readStored(): QueuedEvent[] {
    const text = read("queue");
    if (!text) return [];
    try {
      const data = JSON.parse(text) as Persisted;
      if (data && data.v === 1 && Array.isArray(data.events)) {
        return data.events.filter((e) => e && typeof e.event_id === "string");
      }
    } catch {
      // unreadable: overwritten by the next write
    }
    return [];
  }
  function persist(): void {
    if (!storage) return;
    const others = readStored().filter((e) => !known.has(e.event_id));
    const room = Math.max(0, cfg.maxQueueSize - queue.length);
    const events = [...others.slice(Math.max(0, others.length - room)), ...queue];
    write("queue", events.length ? JSON.stringify({ v: 1, events } satisfies Persisted) : null);
  }
  function restore(): void {
    queue = readStored().slice(-cfg.maxQueueSize);
    for (const e of queue) remember(e.event_id);
  }

  // --- identity and sessions ------------------------------------------------------------
  let learner: string | null = options.learnerId ?? read("learner");
  let session: { id: string; last: number } | null = null;
  try {
    const s = JSON.parse(read("session") ?? "null") as { id?: unknown; last?: unknown } | null;
    if (s && typeof s.id === "string" && typeof s.last === "number") session = { id: s.id, last: s.last };
  } catch {
    session = null;
  }
  function currentSession(now: number, touch: boolean): string {
    if (!session || now - session.last > cfg.sessionIdleMs) session = { id: uuid(), last: now };
    if (touch) {
      session.last = now;
      write("session", JSON.stringify(session));
    }
    return session.id;
  }

  // --- queue ------------------------------------------------------------------------------
  function enqueue(event: QueuedEvent): void {
    queue.push(event);
    remember(event.event_id);
    if (queue.length > cfg.maxQueueSize) {
      const dropped = queue.splice(0, queue.length - cfg.maxQueueSize);
      stats.dropped += dropped.length;
      safeCall(() => options.onDropped?.(dropped, stats.dropped));
    }
    persist();
    if (closed) return;
    if (queue.length >= cfg.flushAt) void kick();
    else if (flushTimer === null && retryTimer === null) {
      flushTimer = clock.setTimeout(() => {
        flushTimer = null;
        void kick();
      }, cfg.flushIntervalMs);
    }
  }
  function remove(ids: Set<string>): void {
    if (ids.size === 0) return;
    queue = queue.filter((e) => !ids.has(e.event_id));
    persist();
  }

  function safeCall(fn: () => void): void {
    try {
      fn();
    } catch {
      // a callback's error must not break delivery
    }
  }

  // --- sending ------------------------------------------------------------------------------
  /** One request with up to maxBatch events from the head of the queue. */
  async function sendOnce(): Promise<Outcome> {
    const batch = queue.slice(0, maxBatch);
    if (batch.length === 0) return { kind: "done", accepted: 0, rejected: 0 };
    return sendBatch(batch);
  }

  async function sendBatch(batch: QueuedEvent[]): Promise<Outcome> {
    const body = JSON.stringify({ sent_at: new Date(clock.now()).toISOString(), events: batch });
    let response: Response;
    try {
      response = await doFetch!(url, {
        method: "POST",
        headers: { Authorization: `Bearer ${options.writeKey}`, "Content-Type": "application/json" },
        body,
        // keepalive lets a send outlive the page; browsers refuse it above 64 KiB
        keepalive: byteLength(body) < 60_000,
      });
    } catch (error) {
      return failed({ error });
    }
    const status = response.status;
    let answer: unknown = null;
    try {
      answer = await response.json();
    } catch {
      answer = null;
    }
    if (status === 200 || (status === 403 && hasResults(answer))) {
      return settle(batch, answer, status);
    }
    if (status === 429 || status === 503 || status === 408 || status >= 500) {
      const hinted = parseRetryAfter(response.headers.get("Retry-After"), clock.now());
      return failed({ status, retryAfterMs: hinted });
    }
    if (status === 413 && batch.length > 1) {
      // too large for the collector's limits: send halves, each on its own
      const half = Math.ceil(batch.length / 2);
      const first = await sendBatch(batch.slice(0, half));
      if (first.kind === "retry") return first;
      const second = await sendBatch(batch.slice(half));
      if (second.kind === "retry") return second;
      return { kind: "done", accepted: first.accepted + second.accepted, rejected: first.rejected + second.rejected };
    }
    // Any other answer (401 unknown key, 403 revoked, 400, 413 for one event, 415): this batch
    // would fail the same way again. Its events are handed to onRejected, not retried.
    const error = answer && typeof answer === "object" ? (answer as { error?: unknown; detail?: unknown }) : {};
    const reason = typeof error.error === "string" ? error.error : `http_${status}`;
    const detail = typeof error.detail === "string" ? error.detail : undefined;
    const rejections = batch.map((event) => ({ event, reason, status, ...(detail ? { detail } : {}) }));
    finish(rejections, new Set(batch.map((e) => e.event_id)));
    return { kind: "done", accepted: 0, rejected: rejections.length };
  }

  function hasResults(answer: unknown): answer is { results: unknown[] } {
    return !!answer && typeof answer === "object" && Array.isArray((answer as { results?: unknown }).results);
  }

  function settle(batch: QueuedEvent[], answer: unknown, status: number): Outcome {
    if (!hasResults(answer)) {
      // a 200 we cannot read (a proxy?): the events may or may not be in; retrying is safe
      return failed({ status });
    }
    const done = new Set<string>();
    const rejections: Rejection[] = [];
    let accepted = 0;
    for (const raw of answer.results) {
      const r = raw as { index?: number; status?: string; reason?: string; detail?: string };
      const event = typeof r.index === "number" ? batch[r.index] : undefined;
      if (!event) continue;
      done.add(event.event_id);
      if (r.status === "accepted") accepted += 1;
      else {
        rejections.push({
          event,
          reason: r.status === "forbidden" ? "forbidden" : r.reason ?? String(r.status),
          status,
          ...(r.detail !== undefined ? { detail: r.detail } : {}),
        });
      }
    }
    stats.accepted += accepted;
    finish(rejections, done);
    if (done.size < batch.length) {
      // events without a verdict (an answer cut short?) stay queued and go again, after a
      // backoff rather than at once
      return failed({ status });
    }
    attempt = 0;
    return { kind: "done", accepted, rejected: rejections.length };
  }

  function finish(rejections: Rejection[], done: Set<string>): void {
    remove(done);
    if (rejections.length) {
      stats.rejected += rejections.length;
      safeCall(() => options.onRejected?.(rejections));
    }
  }

  function failed(info: { status?: number; error?: unknown; retryAfterMs?: number }): Outcome {
    attempt += 1;
    stats.retries += 1;
    const delayMs =
      info.retryAfterMs !== undefined
        ? Math.min(info.retryAfterMs, cfg.retryAfterMaxMs)
        : backoffDelay(attempt, cfg.retryBaseMs, cfg.retryMaxMs, random);
    safeCall(() =>
      options.onRetry?.({ attempt, delayMs, ...(info.status !== undefined ? { status: info.status } : {}), ...(info.error !== undefined ? { error: info.error } : {}) }),
    );
    return { kind: "retry", delayMs };
  }

  function scheduleRetry(delayMs: number): void {
    if (flushTimer !== null) {
      clock.clearTimeout(flushTimer);
      flushTimer = null;
    }
    if (retryTimer !== null) clock.clearTimeout(retryTimer);
    retryTimer = clock.setTimeout(() => {
      retryTimer = null;
      void kick();
    }, delayMs);
  }

  /** One request at a time; returns its outcome (joining the one in flight, if any). */
  function sendNext(): Promise<Outcome> {
    if (!sending) {
      sending = sendOnce().finally(() => {
        sending = null;
      });
    }
    return sending;
  }

  /** Background delivery: send until the queue is empty or an attempt fails. */
  async function kick(): Promise<void> {
    if (flushTimer !== null) {
      clock.clearTimeout(flushTimer);
      flushTimer = null;
    }
    if (retryTimer !== null) return; // waiting out a backoff
    while (queue.length > 0) {
      const outcome = await sendNext();
      if (outcome.kind === "retry") {
        if (!closed) scheduleRetry(outcome.delayMs);
        return;
      }
      if (closed) return;
    }
  }

  async function drain(deadline: number | null): Promise<FlushResult> {
    let accepted = 0;
    let rejected = 0;
    if (retryTimer !== null) {
      clock.clearTimeout(retryTimer); // flush() is an explicit "try now"
      retryTimer = null;
    }
    while (queue.length > 0) {
      const outcome = await sendNext();
      if (outcome.kind === "done") {
        accepted += outcome.accepted;
        rejected += outcome.rejected;
        continue;
      }
      const now = clock.now();
      if (deadline === null || now + outcome.delayMs > deadline) {
        if (!closed) scheduleRetry(outcome.delayMs);
        break;
      }
      await new Promise<void>((resolve) => clock.setTimeout(resolve, outcome.delayMs));
    }
    return { accepted, rejected, remaining: queue.length };
  }

  // --- browser lifecycle ----------------------------------------------------------------------
  const win = (globalThis as { window?: Window }).window;
  const doc = (globalThis as { document?: Document }).document;
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  const beaconOn = options.beacon ?? !!(win && nav && typeof nav.sendBeacon === "function");

  /** Hands what is queued to the browser, which sends it even after the page is gone. The
   * events stay queued (a beacon's fate is unknown): the next page load sends them again,
   * and the log keeps one row per event_id. */
  let beaconed = new Set<string>(); // handed to a beacon since the page was last visible
  function beaconFlush(): void {
    if (!nav || typeof nav.sendBeacon !== "function") return;
    // visibilitychange (hidden) and then pagehide both come on a reload or a close: each
    // event goes in one beacon only
    const pending = queue.filter((e) => !beaconed.has(e.event_id));
    if (pending.length === 0) return;
    const target = `${url}?key=${encodeURIComponent(options.writeKey)}`;
    /** false when the browser refused it (its beacon quota is full): stop, the rest stay queued */
    const send = (events: QueuedEvent[]): boolean => {
      const body = JSON.stringify({ sent_at: new Date(clock.now()).toISOString(), events });
      try {
        if (!nav.sendBeacon(target, body)) return false;
      } catch {
        return false;
      }
      for (const e of events) beaconed.add(e.event_id);
      return true;
    };
    for (let i = 0; i < pending.length; i += maxBatch) {
      const events = pending.slice(i, i + maxBatch);
      const whole = JSON.stringify({ sent_at: new Date(clock.now()).toISOString(), events });
      if (byteLength(whole) > 60_000 && events.length > 1) {
        // browsers cap beacons at 64 KiB in all: send smaller pieces
        for (const event of events) if (!send([event])) return;
      } else if (!send(events)) return;
    }
  }
  const onVisibility = (): void => {
    if (doc && doc.visibilityState === "hidden") {
      persist();
      beaconFlush();
    } else {
      beaconed = new Set(); // visible again: the next hide beacons what is still queued
    }
  };
  const onPageHide = (): void => {
    persist();
    beaconFlush();
  };
  const onOnline = (): void => {
    if (retryTimer !== null) {
      clock.clearTimeout(retryTimer);
      retryTimer = null;
    }
    attempt = 0;
    void kick();
  };
  if (win && typeof win.addEventListener === "function") {
    if (beaconOn) {
      doc?.addEventListener?.("visibilitychange", onVisibility);
      win.addEventListener("pagehide", onPageHide);
    }
    win.addEventListener("online", onOnline);
  }
  function removeListeners(): void {
    if (win && typeof win.removeEventListener === "function") {
      doc?.removeEventListener?.("visibilitychange", onVisibility);
      win.removeEventListener("pagehide", onPageHide);
      win.removeEventListener("online", onOnline);
    }
  }

  // --- start: events a previous page or process left are sent first ---------------------------
  restore();
  if (queue.length > 0) {
    flushTimer = clock.setTimeout(() => {
      flushTimer = null;
      void kick();
    }, 0);
  }

  function build(eventType: string, payload: unknown, opts: TrackOptions | undefined): QueuedEvent {
    const now = clock.now();
    const event: QueuedEvent = {
      // The event's own time orders its id (UUIDv7), unless the app supplies ids.
      event_id: options.uuid ? options.uuid() : uuidv7(now),
      event_type: eventType,
      occurred_at: new Date(now).toISOString(),
      session_id: opts?.sessionId ?? currentSession(now, true),
    };
    if (opts?.sessionId !== undefined) currentSession(now, true);
    const learnerId = opts?.learnerId !== undefined ? opts.learnerId : learner;
    if (learnerId !== null && learnerId !== undefined) event.learner_id = learnerId;
    if (opts?.contentId !== undefined && opts.contentId !== null) event.content_id = opts.contentId;
    const context = { ...(options.context ?? {}), ...(opts?.context ?? {}) };
    if (Object.keys(context).length) event.context = context;
    if (payload !== undefined) event.payload = payload;
    return event;
  }

  return {
    track(eventType, payload, opts) {
      if (typeof eventType !== "string" || (eventType as string) === "") {
        throw new TypeError("learnstream: track needs an event type, e.g. \"playback.started\"");
      }
      const event = build(eventType, payload, opts);
      enqueue(event);
      return event;
    },
    identify(learnerId, opts) {
      if (typeof learnerId !== "string" || learnerId === "") {
        throw new TypeError("learnstream: identify needs a learner id");
      }
      learner = learnerId;
      write("learner", learnerId);
      const event = build("learner.identified", { method: opts?.method ?? "login" }, { ...opts, learnerId });
      enqueue(event);
      return event;
    },
    reset() {
      learner = null;
      write("learner", null);
      session = null;
      write("session", null);
    },
    flush() {
      return drain(null);
    },
    async shutdown(opts) {
      const timeoutMs = opts?.timeoutMs ?? 5_000;
      closed = true;
      removeListeners();
      if (flushTimer !== null) {
        clock.clearTimeout(flushTimer);
        flushTimer = null;
      }
      if (retryTimer !== null) {
        clock.clearTimeout(retryTimer);
        retryTimer = null;
      }
      if (sending) await sending;
      const result = await drain(clock.now() + timeoutMs);
      if (retryTimer !== null) {
        clock.clearTimeout(retryTimer);
        retryTimer = null;
      }
      persist();
      return result;
    },
    sessionId() {
      return currentSession(clock.now(), false);
    },
    learnerId() {
      return learner;
    },
    stats() {
      return { ...stats, queued: queue.length };
    },
  };
}

let encoder: TextEncoder | null = null;
function byteLength(text: string): number {
  encoder ??= new TextEncoder();
  return encoder.encode(text).length;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
