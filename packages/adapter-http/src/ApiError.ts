/**
 * The errors of the HTTP API. Every one is sent as `{ "error": { "code", "message", "details"? } }`
 * with a real status code; `code` is the engine's error tag where one exists (`AgentNotFound`,
 * `InvalidInput`, `FlowConflict`, …), `details.field` names the bad field of a 400.
 *
 * @since 0.1.0
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/**
 * Extra facts about an error (for a 400: `field` and `reason`).
 *
 * @since 0.1.0
 * @category models
 */
export const ErrorDetails = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * The JSON body of every error response.
 *
 * @since 0.1.0
 * @category models
 */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String,
    message: Schema.String,
    details: Schema.optional(ErrorDetails)
  })
}).annotations({ identifier: "ErrorBody", description: "Every error: a stable code, a readable message, optional details" })

/** @since 0.1.0 @category models */
export type ErrorBody = typeof ErrorBody.Type

const fields = {
  code: Schema.String,
  message: Schema.String,
  details: Schema.optional(ErrorDetails)
}

/** Bad input (400); `details.field` names the field. @since 0.1.0 @category errors */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", fields) {}
/** Missing or unknown credentials (401). @since 0.1.0 @category errors */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", fields) {}
/** Valid credentials that may not do this (403). @since 0.1.0 @category errors */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", fields) {}
/** Unknown route or id, including another tenant's ids (404). @since 0.1.0 @category errors */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", fields) {}
/** Version conflict, open flow, duplicate, reused request id (409). @since 0.1.0 @category errors */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", fields) {}
/** The request was not received in time: headers or body too slow (408). @since 0.1.0 @category errors */
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>()("RequestTimeout", fields) {}
/** Request body above the configured limit (413). @since 0.1.0 @category errors */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", fields) {}
/** A request body that is not JSON (415). @since 0.1.0 @category errors */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", fields) {}
/** Rate limited (429). @since 0.1.0 @category errors */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", fields) {}
/** Unexpected failure; never carries a stack trace (500). @since 0.1.0 @category errors */
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", fields) {}
/** The store is unreachable (503). @since 0.1.0 @category errors */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", fields) {}

/**
 * Any API error.
 *
 * @since 0.1.0
 * @category models
 */
export type ApiError =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | Conflict
  | RequestTimeout
  | PayloadTooLarge
  | UnsupportedMediaType
  | TooManyRequests
  | InternalError
  | ServiceUnavailable

type Fields = {
  readonly code: string
  readonly message: string
  readonly details?: { readonly [x: string]: unknown } | undefined
}

const wire = <A extends Fields, Tag extends string>(
  self: Schema.Schema<A, Fields & { readonly _tag: Tag }>,
  tag: Tag,
  status: number
): Schema.Schema<A, ErrorBody> =>
  Schema.transform(ErrorBody, self, {
    strict: true,
    decode: (body) =>
      body.error.details === undefined
        ? { _tag: tag, code: body.error.code, message: body.error.message }
        : { _tag: tag, code: body.error.code, message: body.error.message, details: body.error.details },
    encode: (e) => ({
      error: e.details === undefined
        ? { code: e.code, message: e.message }
        : { code: e.code, message: e.message, details: e.details }
    })
  }).annotations(HttpApiSchema.annotations({ status }))

/** Wire schemas (the class on the type side, {@link ErrorBody} on the wire), with their status. @since 0.1.0 @category schemas */
export const BadRequestWire = wire(BadRequest, "BadRequest", 400)
/** @since 0.1.0 @category schemas */
export const UnauthorizedWire = wire(Unauthorized, "Unauthorized", 401)
/** @since 0.1.0 @category schemas */
export const ForbiddenWire = wire(Forbidden, "Forbidden", 403)
/** @since 0.1.0 @category schemas */
export const NotFoundWire = wire(NotFound, "NotFound", 404)
/** @since 0.1.0 @category schemas */
export const ConflictWire = wire(Conflict, "Conflict", 409)
/** @since 0.1.0 @category schemas */
export const RequestTimeoutWire = wire(RequestTimeout, "RequestTimeout", 408)
/** @since 0.1.0 @category schemas */
export const PayloadTooLargeWire = wire(PayloadTooLarge, "PayloadTooLarge", 413)
/** @since 0.1.0 @category schemas */
export const UnsupportedMediaTypeWire = wire(UnsupportedMediaType, "UnsupportedMediaType", 415)
/** @since 0.1.0 @category schemas */
export const TooManyRequestsWire = wire(TooManyRequests, "TooManyRequests", 429)
/** @since 0.1.0 @category schemas */
export const InternalErrorWire = wire(InternalError, "InternalError", 500)
/** @since 0.1.0 @category schemas */
export const ServiceUnavailableWire = wire(ServiceUnavailable, "ServiceUnavailable", 503)

/**
 * The status code of an error.
 *
 * @since 0.1.0
 * @category getters
 */
export const statusOf = (e: ApiError): number => {
  switch (e._tag) {
    case "BadRequest":
      return 400
    case "Unauthorized":
      return 401
    case "Forbidden":
      return 403
    case "NotFound":
      return 404
    case "Conflict":
      return 409
    case "RequestTimeout":
      return 408
    case "PayloadTooLarge":
      return 413
    case "UnsupportedMediaType":
      return 415
    case "TooManyRequests":
      return 429
    case "InternalError":
      return 500
    case "ServiceUnavailable":
      return 503
  }
}

/**
 * The JSON body of an error.
 *
 * @since 0.1.0
 * @category getters
 */
export const bodyOf = (e: ApiError): ErrorBody => ({
  error: e.details === undefined
    ? { code: e.code, message: e.message }
    : { code: e.code, message: e.message, details: e.details }
})

/**
 * A 400 naming a field.
 *
 * @since 0.1.0
 * @category constructors
 */
export const badField = (field: string, reason: string, code = "InvalidInput"): BadRequest =>
  new BadRequest({ code, message: `${field}: ${reason}`, details: { field, reason } })
