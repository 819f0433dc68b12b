// The one Node API the client uses, declared here so the package needs no @types/node.
declare module "node:crypto" {
  export function randomUUID(): string;
}
