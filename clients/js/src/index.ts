export { createClient, backoffDelay, parseRetryAfter, uuidv7 } from "./client.js";
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
