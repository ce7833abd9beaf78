/**
 * The `DecisionLog` port of `@spotfleet/engine` on MySQL 8 / MariaDB 10.6+, in the `decisions`
 * table of migration 2: the model, features, action, target, confidence, reasoning, latency,
 * guard verdicts and whether it acted have their own columns; the rest of the record (mode,
 * dry-run, flow, note, error, expected savings and risk) is kept in the `outcome` JSON column
 * under `record`. Listed newest first by `createdAt`.
 *
 * ```ts
 * import { MysqlDecisionLog } from "@spotfleet/adapter-mysql"
 * import { AutoSwitch, DecisionModel } from "@spotfleet/engine"
 *
 * AutoSwitch.runOnce().pipe(Effect.provide(MysqlDecisionLog.layer), Effect.provide(DecisionModel.layerRuleBased))
 * ```
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { DecisionLog } from "@spotfleet/engine"
import { type Effect, Layer } from "effect"
import * as internal from "./internal/decisionLog.js"

/**
 * Builds the decision log on the `SqlClient` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<DecisionLog.DecisionLogService, never, SqlClient.SqlClient> = internal.make

/**
 * The decision log on the `SqlClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<DecisionLog.DecisionLog, never, SqlClient.SqlClient> = Layer.effect(DecisionLog.DecisionLog, internal.make)
