#!/usr/bin/env node
// The `spotfleet` CLI from its TypeScript sources: tsx registered in this process (no npx, no
// child process), workspace packages resolved to their sources through the @spotfleet/source
// export condition.
import { register } from "node:module"
import { register as registerTsx } from "tsx/esm/api"

if (!process.execArgv.some((a) => a.includes("@spotfleet/source"))) register("./source-condition.mjs", import.meta.url)
registerTsx()
await import("../src/bin.ts")
