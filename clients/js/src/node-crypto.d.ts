// The Node APIs the client uses, declared here so the package needs no @types/node.
declare module "node:crypto" {
  export function randomUUID(): string;
  export function randomFillSync(buffer: Uint8Array): Uint8Array;
}
