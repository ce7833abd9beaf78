/**
 * The error of every AWS call in this package: the AWS error code and message in one line, never
 * a stack trace.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** The first line of a text (AWS and Node messages never need more; no stack trace). */
const firstLine = (text: string): string => (text.split("\n")[0] ?? text).slice(0, 500)

/**
 * An AWS call failed. `code` is the AWS error code (`AuthFailure`, `UnauthorizedOperation`,
 * `RequestLimitExceeded`, …) or, when no answer came, the network or SDK error's code
 * (`ECONNREFUSED`, `CredentialsProviderError`, …).
 *
 * @since 0.1.0
 * @category errors
 */
export class AwsError extends Schema.TaggedError<AwsError>()("AwsError", {
  operation: Schema.String,
  code: Schema.String,
  region: Schema.NullOr(Schema.String),
  httpStatus: Schema.NullOr(Schema.Number),
  /** What AWS (or the network) said, one line. */
  reason: Schema.String
}) {
  override get message() {
    return `${this.operation}${this.region === null ? "" : ` (${this.region})`}: ${this.code}: ${this.reason}`
  }

  /**
   * Maps what the SDK threw (a service exception, a network or credentials error) to an
   * {@link AwsError}.
   *
   * @since 0.1.0
   */
  static fromUnknown(e: unknown, operation: string, region: string | null): AwsError {
    const err = (typeof e === "object" && e !== null ? e : {}) as {
      readonly name?: unknown
      readonly Code?: unknown
      readonly code?: unknown
      readonly message?: unknown
      readonly $metadata?: { readonly httpStatusCode?: unknown }
      readonly cause?: { readonly code?: unknown } | undefined
      readonly errors?: ReadonlyArray<{ readonly code?: unknown }> | undefined
    }
    const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined)
    // The SDK puts $metadata on network errors too; only an answer has an HTTP status.
    const answered = typeof err.$metadata?.httpStatusCode === "number"
    const code = answered
      ? str(err.Code) ?? str(err.name) ?? "UnknownError"
      : str(err.code) ?? str(err.cause?.code) ?? str(err.errors?.[0]?.code) ?? (str(err.name) !== "Error" ? str(err.name) : undefined) ?? "NetworkError"
    const status = typeof err.$metadata?.httpStatusCode === "number" ? err.$metadata.httpStatusCode : null
    const message = firstLine(str(err.message) ?? String(e))
    return new AwsError({ operation, code, region, httpStatus: status, reason: message })
  }
}
