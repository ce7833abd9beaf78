/**
 * The engine's `ModelRegistry` on MySQL: versions in the `models` table; the active version of
 * each name in `model_active` (primary key: the name, so the database itself refuses a second
 * active version) and the activation stack in `model_activations` (migration 5). Every write
 * locks the name's rows first, so activate, rollback and share changes on one name serialise,
 * and each runs in one transaction: a reader sees the state before or after, never between.
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { ModelRegistry } from "@spotfleet/engine"
import { type Effect, Layer } from "effect"
import * as internal from "./internal/modelRegistry.js"

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<ModelRegistry.ModelRegistryService, never, SqlClient.SqlClient> = internal.make

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ModelRegistry.ModelRegistry, never, SqlClient.SqlClient> = Layer.effect(
  ModelRegistry.ModelRegistry,
  internal.make
)
