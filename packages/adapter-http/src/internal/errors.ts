import type { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import type { Engine } from "@spotfleet/engine"
import { Cause, Effect, Option } from "effect"
import * as ApiError from "../ApiError.js"

const apiErrorTags = new Set([
  "BadRequest",
  "Unauthorized",
  "Forbidden",
  "NotFound",
  "Conflict",
  "RequestTimeout",
  "PayloadTooLarge",
  "UnsupportedMediaType",
  "TooManyRequests",
  "InternalError",
  "ServiceUnavailable"
])

export const isApiError = (u: unknown): u is ApiError.ApiError =>
  typeof u === "object" && u !== null && "_tag" in u && apiErrorTags.has((u as { _tag: string })._tag) && "code" in u

/** Maps an engine failure onto the HTTP error it is answered with. */
export const fromEngine = (e: Engine.EngineFailure): ApiError.ApiError => {
  switch (e._tag) {
    case "InvalidInput":
      return ApiError.badField(e.field, e.reason)
    case "AgentNotFound":
      return new ApiError.NotFound({ code: e._tag, message: e.message, details: { field: "agentId", agentId: e.agentId } })
    case "TenantNotFound":
      return new ApiError.NotFound({ code: e._tag, message: e.message, details: { field: "tenantId", tenantId: e.tenantId } })
    case "InstanceNotFound":
      return new ApiError.NotFound({ code: e._tag, message: e.message, details: { field: "instanceId", instanceId: e.instanceId } })
    case "CommandNotFound":
      return new ApiError.NotFound({ code: e._tag, message: e.message, details: { field: "commandId", commandId: e.commandId } })
    case "InvalidTransition":
      return new ApiError.Conflict({ code: e._tag, message: e.message, details: { reason: e.reason } })
    case "FlowConflict":
      return new ApiError.Conflict({
        code: e._tag,
        message: e.message,
        details: { openFlow: e.openFlow, openPriority: e.openPriority, requestedPriority: e.requestedPriority }
      })
    case "VersionConflict":
      return new ApiError.Conflict({ code: e._tag, message: e.message, details: { agentId: e.agentId } })
    case "DuplicateKey":
      return new ApiError.Conflict({ code: e._tag, message: e.message, details: { entity: e.entity } })
    case "IdempotencyKeyReused":
      return new ApiError.Conflict({ code: e._tag, message: e.message, details: { field: "request_id", operation: e.operation } })
    case "LimitExceeded":
      return new ApiError.Forbidden({ code: e._tag, message: e.message, details: { limit: e.limit, max: e.max } })
    case "StoreError":
      // The reason may describe the driver; it is logged, not sent.
      return new ApiError.ServiceUnavailable({ code: e._tag, message: "the store is unavailable, try again" })
  }
}

export const fromDecodeError = (e: HttpApiDecodeError): ApiError.BadRequest => {
  const first = e.issues[0]
  const field = first === undefined || first.path.length === 0 ? "body" : first.path.map(String).join(".")
  const reason = first?.message ?? e.message
  return new ApiError.BadRequest({
    code: "InvalidInput",
    message: `${field}: ${reason}`,
    details: {
      field,
      reason,
      issues: e.issues.map((i) => ({ field: i.path.length === 0 ? "body" : i.path.map(String).join("."), message: i.message }))
    }
  })
}

/** The error a failed request is answered with; `None` for an interruption (client gone). */
export const fromCause = (cause: Cause.Cause<unknown>): Option.Option<ApiError.ApiError> => {
  if (Cause.isInterruptedOnly(cause)) return Option.none()
  const failure = Cause.failureOption(cause)
  const error: unknown = Option.isSome(failure) ? failure.value : Option.getOrUndefined(Cause.dieOption(cause))
  if (isApiError(error)) return Option.some(error)
  const tag = typeof error === "object" && error !== null && "_tag" in error ? (error as { _tag: unknown })._tag : undefined
  switch (tag) {
    case "HttpApiDecodeError":
      return Option.some(fromDecodeError(error as HttpApiDecodeError))
    case "RouteNotFound":
      return Option.some(new ApiError.NotFound({ code: "RouteNotFound", message: "no such route" }))
    case "RequestError":
      return Option.some(ApiError.badField("body", "the request body could not be read", "MalformedBody"))
  }
  return Option.some(new ApiError.InternalError({ code: "InternalError", message: "internal error" }))
}

/**
 * Turns a failed request's cause into its error answer with `render` (an internal error is
 * logged first); an interruption (client gone) stays an interruption.
 */
export const recover = <A>(render: (e: ApiError.ApiError) => A) => (cause: Cause.Cause<unknown>): Effect.Effect<A> =>
  Option.match(fromCause(cause), {
    onNone: () => Effect.failCause(cause) as Effect.Effect<never>,
    onSome: (e) =>
      e._tag === "InternalError"
        ? Effect.as(Effect.logError("unexpected failure", cause), render(e))
        : Effect.succeed(render(e))
  })
