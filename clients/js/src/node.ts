// The package's entry for Node (the "node" condition of package.json's exports): the same
// API, with node:crypto's randomUUID and randomFillSync for runtimes without a global
// `crypto` (Node 18).
import { randomFillSync, randomUUID } from "node:crypto";

import { setRandomFallback, setUuidFallback } from "./client.js";

setUuidFallback(randomUUID);
setRandomFallback((bytes) => {
  randomFillSync(bytes);
});

export * from "./index.js";
