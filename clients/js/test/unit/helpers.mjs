// Fakes for the unit tests: a clock whose time moves only when told, a fetch that answers
// from a script, a storage like localStorage, and a browser-ish window for beacons.

export class FakeClock {
  constructor(start = Date.parse("2026-12-03T10:00:00Z")) {
    this.time = start;
    this.timers = new Map();
    this.next = 1;
  }
  now() {
    return this.time;
  }
  setTimeout(fn, ms) {
    const id = this.next++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(id) {
    this.timers.delete(id);
  }
  /** Moves time forward by ms, running each timer that falls due (in order) and letting
   * the promises it starts settle. */
  async advance(ms) {
    const end = this.time + ms;
    await settle();
    for (;;) {
      let due = null;
      for (const [id, t] of this.timers) {
        if (t.at <= end && (due === null || t.at < due[1].at)) due = [id, t];
      }
      if (due === null) break;
      this.timers.delete(due[0]);
      this.time = Math.max(this.time, due[1].at);
      due[1].fn();
      await settle();
    }
    this.time = end;
    await settle();
  }
  pending() {
    return [...this.timers.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }
}

/** Lets every pending promise chain run (fetch answers, awaits inside the client). */
export async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

export function accepted(body) {
  const events = JSON.parse(body).events;
  return json(200, {
    accepted: events.length, rejected: 0, forbidden: 0,
    results: events.map((e, index) => ({ index, status: "accepted", event_id: e.event_id })),
  });
}

export function json(status, value, headers = {}) {
  return new Response(JSON.stringify(value), {
    status, headers: { "Content-Type": "application/json", ...headers },
  });
}

/** fetch that records each request and answers with `respond(request)` (a Response, or a
 * thrown error for a network failure). Defaults to accepting everything. */
export function fakeFetch(respond = (req) => accepted(req.body)) {
  const requests = [];
  const fn = async (url, init) => {
    const req = { url, method: init.method, headers: init.headers, body: init.body };
    requests.push(req);
    return respond(req, requests.length);
  };
  fn.requests = requests;
  fn.events = () => requests.flatMap((r) => JSON.parse(r.body).events);
  return fn;
}

export class MemoryStorage {
  constructor() {
    this.data = new Map();
  }
  getItem(k) {
    return this.data.has(k) ? this.data.get(k) : null;
  }
  setItem(k, v) {
    this.data.set(k, String(v));
  }
  removeItem(k) {
    this.data.delete(k);
  }
}

export function sequence() {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
}

export const PLAY = {
  playback_position: 0,
  duration: 300,
  content_characteristics: { format: "narrative" },
};
