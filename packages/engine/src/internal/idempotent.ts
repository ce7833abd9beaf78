import { Effect, Option, Schema } from "effect"
import { DuplicateKey, IdempotencyKeyReused, type StoreError } from "../EngineError.js"
import { IdempotencyRecord, type IdempotencyStoreService } from "../IdempotencyStore.js"
import type { AgentId, TenantId } from "../Ids.js"

/**
 * The operation a key is recorded under for a call of one agent. A key names one request: the
 * same key sent for another agent (or another kind of call) is a reuse, answered with
 * `IdempotencyKeyReused` rather than with the first call's answer.
 */
export const agentOperation = (operation: string, agentId: AgentId): string => `${operation} ${agentId}`

const isKeyTaken = (e: { readonly _tag: string }): boolean =>
  e._tag === "DuplicateKey" && (e as DuplicateKey).entity === "idempotency key"

/**
 * Makes the engine's idempotency rule over a store: the first answer under a key is replayed
 * to every repeat of the request; a fresh request runs `fresh`, which must write the record it
 * is handed in the same commit as the change it guards (so a failure leaves neither).
 */
export const make = (idempotency: IdempotencyStoreService) =>
<A, I, E extends { readonly _tag: string }>(
  tenantId: TenantId,
  key: string | undefined,
  operation: string,
  schema: Schema.Schema<A, I>,
  fresh: (record: (answer: A, now: number) => IdempotencyRecord | undefined) => Effect.Effect<A, E>
): Effect.Effect<A, E | IdempotencyKeyReused | DuplicateKey | StoreError> => {
  if (key === undefined) return fresh(() => undefined)
  const replay = Effect.flatMap(idempotency.get(tenantId, key), (found) => {
    if (Option.isNone(found)) return Effect.succeed(Option.none<A>())
    if (found.value.operation !== operation) return Effect.fail(new IdempotencyKeyReused({ key, operation: found.value.operation }))
    return Effect.map(
      Effect.orDie(Schema.decodeUnknown(schema)(found.value.response)),
      Option.some
    )
  })
  const makeRecord = (answer: A, now: number) =>
    IdempotencyRecord.make({ tenantId, key, operation, response: Schema.encodeSync(schema)(answer), createdAt: now })
  return Effect.flatMap(replay, Option.match({
    onSome: Effect.succeed,
    onNone: () =>
      fresh(makeRecord).pipe(
        // A concurrent twin won the race for the key: answer what it answered. The twin may
        // have committed between our replay check and our load, so any failure (a
        // FlowConflict against the twin's own change, say) is checked against the key too.
        Effect.catchAll((e) =>
          Effect.flatMap(replay, Option.match({
            onSome: Effect.succeed,
            onNone: () =>
              Effect.fail(
                isKeyTaken(e) ? new DuplicateKey({ entity: "idempotency key", key }) : e
              )
          }))
        )
      )
  }))
}
