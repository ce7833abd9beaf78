#!/usr/bin/env -S npx tsx --conditions=@spotfleet/source
/**
 * The `spotfleet` bin: `spotfleet ml export-dataset …`, `spotfleet ml train …`, `spotfleet consolidate …`,
 * `spotfleet backfill --file …` (see src/cli).
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { run } from "./cli/Cli.js"

run(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain)
