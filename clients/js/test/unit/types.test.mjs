import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { EVENT_TYPES } from "../../dist/index.js";
import { OUTPUT, SCHEMAS, generate } from "../../scripts/generate-types.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const script = join(root, "scripts/generate-types.mjs");

test("the committed generated types match the JSON Schemas (npm run generate after a contract change)", () => {
  const check = spawnSync(process.execPath, [script, "--check"], { encoding: "utf8" });
  assert.equal(check.status, 0, check.stderr);
  assert.equal(readFileSync(OUTPUT, "utf8"), generate(SCHEMAS));
});

test("the check fails when a schema changes and the file is not regenerated", () => {
  const dir = mkdtempSync(join(tmpdir(), "ls-schemas-"));
  cpSync(SCHEMAS, dir, { recursive: true });
  const path = join(dir, "playback.paused.json");
  const schema = JSON.parse(readFileSync(path, "utf8"));
  schema.$defs.PlaybackPayload.properties.volume = { type: "number" };
  for (const f of ["playback.started.json", "playback.resumed.json", "playback.completed.json", "playback.heartbeat.json", "playback.replayed.json"]) {
    const other = JSON.parse(readFileSync(join(dir, f), "utf8"));
    other.$defs.PlaybackPayload = schema.$defs.PlaybackPayload;
    writeFileSync(join(dir, f), JSON.stringify(other));
  }
  writeFileSync(path, JSON.stringify(schema));
  const check = spawnSync(process.execPath, [script, "--check", "--schemas", dir], { encoding: "utf8" });
  assert.equal(check.status, 1);
  assert.match(check.stderr, /out of date with the JSON Schemas/);
  assert.match(generate(dir), /volume\?: number;/);
});

test("one event type per schema file", () => {
  const files = execFileSync("ls", [SCHEMAS], { encoding: "utf8" }).split("\n")
    .filter((f) => f.endsWith(".json") && f !== "event.json" && f !== "asyncapi.json");
  assert.deepEqual([...EVENT_TYPES], files.map((f) => f.replace(/\.json$/, "")));
});

test("the types accept valid calls and refuse wrong ones (tsc on test/types/usage.ts)", () => {
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  const run = spawnSync(process.execPath, [tsc, "--noEmit", "--strict", "--target", "ES2020", "--module", "ES2020",
    "--moduleResolution", "bundler", "--lib", "ES2020,DOM", "--skipLibCheck", join(root, "test/types/usage.ts")], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});

test("the package's exports: the node entry has UUIDs without a global crypto (Node 18)", () => {
  const code = `
    Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
    const ls = await import("@learnstream/client");
    const c = ls.createClient({ endpoint: "http://x", writeKey: "k", storage: null, fetch: async () => { throw new Error("offline"); } });
    const e = c.track("playback.paused", { playback_position: 1, content_characteristics: { format: "narrative" } }, { contentId: "c" });
    await c.shutdown({ timeoutMs: 0 });
    console.log(e.event_id, c.sessionId());`;
  const run = spawnSync(process.execPath, ["--input-type=module", "--eval", code], { cwd: root, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const [eventId, sessionId] = run.stdout.trim().split(" ");
  // node:crypto's random bytes make the event's UUIDv7, its randomUUID the session's v4.
  assert.match(eventId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.match(sessionId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});
