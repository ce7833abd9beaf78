/**
 * The embedded in-memory store: every store port in one process, safe under concurrent fibers.
 * It is the default of the example server and the reference the conformance suite is written
 * against. Nothing survives a restart.
 *
 * @since 0.1.0
 */
import { type Context, type Effect, Layer } from "effect"
import type { AgentStore } from "./AgentStore.js"
import type { EventLog } from "./EventLog.js"
import type { IdempotencyStore } from "./IdempotencyStore.js"
import * as internal from "./internal/memoryStore.js"
import type { PriceStore } from "./PriceStore.js"
import type { TenantStore } from "./TenantStore.js"

/**
 * Every store port the engine needs.
 *
 * @since 0.1.0
 * @category models
 */
export type Stores = AgentStore | EventLog | IdempotencyStore | TenantStore | PriceStore

/**
 * Builds a fresh, empty store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Context.Context<Stores>> = internal.make

/**
 * A layer providing every store port from one fresh in-memory store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Stores> = Layer.effectContext(internal.make)
