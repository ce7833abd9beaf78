#!/usr/bin/env -S node --conditions=@spotfleet/source
// The `spotfleet` CLI from its TypeScript sources: tsx registered in this process (no npx, no
// child process), workspace packages resolved to src through the @spotfleet/source condition.
import { register } from "tsx/esm/api"

register()
await import("../src/bin.ts")
