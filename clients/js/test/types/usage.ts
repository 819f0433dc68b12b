// Compiled with `tsc --noEmit` by test/unit/types.test.mjs: the generated types must accept
// what the contracts accept and refuse the mistakes marked @ts-expect-error.
import { createClient, EVENT_TYPES, type EventType, type Payloads } from "../../src/index.js";

const ls = createClient({ endpoint: "http://127.0.0.1:8090", writeKey: "lsk_x", context: { platform: "web" } });
ls.track("playback.started", { playback_position: 0, duration: 300, content_characteristics: { format: "narrative" } }, { contentId: "story-1" });
ls.track("content.liked", { reaction_type: "love", content_characteristics: { format: "podcast" } }, { contentId: "story-1" });
ls.identify("learner-1", { method: "signup" });
const t: EventType = EVENT_TYPES[0];
void t;
const p: Payloads["playback.paused"] = { playback_position: 1, content_characteristics: { format: "educational", genre: null } };
void p;

// @ts-expect-error: not an event type of the contracts
ls.track("playback.exploded", {});
// @ts-expect-error: playback_position is a number
ls.track("playback.paused", { playback_position: "1", content_characteristics: { format: "narrative" } });
// @ts-expect-error: content_characteristics is required
ls.track("playback.paused", { playback_position: 1 });
// @ts-expect-error: format is one of the contracts' formats
ls.track("playback.paused", { playback_position: 1, content_characteristics: { format: "movie" } });
// @ts-expect-error: the payload is closed (additionalProperties false)
ls.track("playback.paused", { playback_position: 1, content_characteristics: { format: "narrative" }, volume: 3 });
// @ts-expect-error: identify's methods are signup, login, link
ls.identify("learner-1", { method: "sso" });
