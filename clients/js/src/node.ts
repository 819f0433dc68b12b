// The package's entry for Node (the "node" condition of package.json's exports): the same
// API, with node:crypto's randomUUID for runtimes without a global `crypto` (Node 18).
import { randomUUID } from "node:crypto";

import { setUuidFallback } from "./client.js";

setUuidFallback(randomUUID);

export * from "./index.js";
