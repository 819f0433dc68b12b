export { createClient, backoffDelay, parseRetryAfter } from "./client.js";
export type {
  Client,
  ClientOptions,
  ClientStats,
  Clock,
  FlushResult,
  QueuedEvent,
  Rejection,
  StorageLike,
  TrackOptions,
} from "./client.js";
export * from "./generated/events.js";
