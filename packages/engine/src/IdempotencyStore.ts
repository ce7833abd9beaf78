/**
 * Port: idempotency records. A repeated request with the same key gets the first answer.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Option, Schema } from "effect"
import type { DuplicateKey, StoreError } from "./EngineError.js"
import { TenantId } from "./Ids.js"

/**
 * The stored first answer to a request.
 *
 * @since 0.1.0
 * @category models
 */
export class IdempotencyRecord extends Schema.Class<IdempotencyRecord>("IdempotencyRecord")({
  tenantId: TenantId,
  key: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255)),
  /** The operation the key was first used for; reuse for another one is rejected. */
  operation: Schema.String,
  /** The encoded (JSON-safe) answer. */
  response: Schema.Unknown,
  createdAt: Schema.Number
}) {}

/**
 * The idempotency store port.
 *
 * @since 0.1.0
 * @category models
 */
export interface IdempotencyStoreService {
  readonly get: (tenantId: TenantId, key: string) => Effect.Effect<Option.Option<IdempotencyRecord>, StoreError>
  /** Inserts a record; fails with DuplicateKey when the key exists (the first one stays). */
  readonly put: (record: IdempotencyRecord) => Effect.Effect<void, DuplicateKey | StoreError>
  /** Removes records created before a time (retention). Returns how many. */
  readonly purgeBefore: (time: number) => Effect.Effect<number, StoreError>
}

/**
 * The idempotency store tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class IdempotencyStore extends Context.Tag("@spotfleet/engine/IdempotencyStore")<
  IdempotencyStore,
  IdempotencyStoreService
>() {}
