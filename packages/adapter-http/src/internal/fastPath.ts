/**
 * What both dialects of the node:http fast path share (AgentFastPath.ts for v1,
 * internal/legacyFastPath.ts for v5): answers and how they are written, the synchronous
 * decoding of the caller, and the lanes that send calls to the engine in batches.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { Ids } from "@spotfleet/engine"
import { Cause, type Effect as EffectNs, Effect, Either, Exit, type Fiber, type ParseResult, Schema } from "effect"
import * as ApiError from "../ApiError.js"
import type { TenantTokens } from "../Auth.js"
import type * as Security from "../Security.js"
import * as errors from "./errors.js"

/** Most calls in one batch of a lane. */
export const maxBatch = 500

/** An answer to write: status, JSON body, extra headers. */
export interface Answer {
  readonly status: number
  readonly body: unknown
  readonly headers?: Record<string, string>
}

/** A 200 with a body. */
export const ok = (body: unknown): Answer => ({ status: 200, body })

/** An error answered as HttpApi answers it. */
export const failure = (e: ApiError.ApiError): Answer => ({ status: ApiError.statusOf(e), body: ApiError.bodyOf(e) })

/** The 500 of a defect. */
export const internalError = () => failure(new ApiError.InternalError({ code: "InternalError", message: "internal error" }))

/** A parse failure the way HttpApi answers it (400 naming the field). */
export const decoded = <A>(result: Either.Either<A, ParseResult.ParseError>): EffectNs.Effect<A, ApiError.ApiError> =>
  Either.isRight(result)
    ? Effect.succeed(result.right)
    : Effect.flatMap(HttpApiDecodeError.fromParseError(result.left), (d) => Effect.fail(errors.fromDecodeError(d)))

/** An answer the schema cannot encode is a defect (500), as in HttpApi. */
export const encoded = <A>(result: Either.Either<A, ParseResult.ParseError>): EffectNs.Effect<A> =>
  Either.isRight(result) ? Effect.succeed(result.right) : Effect.die(result.left)

/** Writes an answer (unless the response is already gone). */
export const write = (response: ServerResponse, answer: Answer) => {
  if (response.headersSent || response.destroyed) return
  const text = JSON.stringify(answer.body)
  response.writeHead(answer.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...answer.headers
  })
  response.end(text)
}

/** `decodeURIComponent`, or the text as it is when it is not well-formed. */
export const safeDecodeURIComponent = (s: string): string => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

const AgentPath = Schema.Struct({ agentId: Ids.AgentId })
/** The agent id of a path (synchronous: no fiber work per request for the decoding itself). */
export const decodePath = Schema.decodeUnknownEither(AgentPath)

/** A caller the fast path may answer for on its own. */
export interface KnownCaller {
  readonly principal: Security.PrincipalService
  readonly agentId: Ids.AgentId
}

/**
 * The caller and agent of a request, when the token cache knows the caller, the agent id in
 * the path decodes and the token may act for that agent; else undefined (the fiber path then
 * answers, exactly as before).
 */
export const knownCaller = (tokens: TenantTokens["Type"], now: number, request: IncomingMessage, rawAgentId: string): KnownCaller | undefined => {
  if (tokens.peek === undefined) return undefined
  const principal = tokens.peek((request.headers["authorization"] ?? "").slice("Bearer ".length), now)
  if (principal === undefined) return undefined
  const path = decodePath({ agentId: safeDecodeURIComponent(rawAgentId) })
  if (Either.isLeft(path)) return undefined
  const agentId = path.right.agentId
  if (principal.agentId !== null && principal.agentId !== agentId) return undefined
  return { principal, agentId }
}

/** Runs an effect on the server's runtime. */
export type RunFork = <A>(effect: EffectNs.Effect<A>) => Fiber.RuntimeFiber<A, never>

/** The lanes of one server (see {@link Lanes.lane}). */
export interface Lanes {
  /**
   * A lane: calls that passed every check synchronously wait here together and go to `send` as
   * one batch, group-commit style. When none of the lane's batches is being answered, the calls
   * of this turn of the event loop go at once (no fixed wait when the server is idle); while one
   * is, what arrives waits for it to finish and then goes at once — but never longer than the
   * batch window (`HttpConfig.batchWindowMillis`, the bound; 0 = never past this turn), and a
   * batch of {@link maxBatch} goes at once. So latency stays low at low load and batches grow
   * with the load.
   */
  readonly lane: <T>(send: (batch: Array<T>) => { readonly addObserver: (observer: () => void) => void } | void) => (item: T) => void
  /** Runs a batch's answers in one fiber and writes each to its response (500 for all on a defect). */
  readonly answerBatch: (
    batch: ReadonlyArray<{ readonly response: ServerResponse }>,
    answers: EffectNs.Effect<ReadonlyArray<Answer>>
  ) => Fiber.RuntimeFiber<ReadonlyArray<Answer>, never>
  /** A batch whose calls run side by side in its fiber, each answered as on its own. */
  readonly sideBySide: <T extends { readonly response: ServerResponse }>(
    one: (item: T) => EffectNs.Effect<Answer, ApiError.ApiError>
  ) => (batch: Array<T>) => Fiber.RuntimeFiber<ReadonlyArray<Answer>, never>
}

/** The lanes of a server with this batch window, running their batches with `runFork`. */
export const makeLanes = (batchWindowMillis: number, runFork: RunFork): Lanes => {
  const lane: Lanes["lane"] = <T>(send: (batch: Array<T>) => { readonly addObserver: (observer: () => void) => void } | void) => {
    let waiting: Array<T> = []
    let timer: ReturnType<typeof setTimeout> | undefined = undefined
    let immediate: ReturnType<typeof setImmediate> | undefined = undefined
    let answering = 0
    const flush = () => {
      if (timer !== undefined) clearTimeout(timer)
      if (immediate !== undefined) clearImmediate(immediate)
      timer = undefined
      immediate = undefined
      const batch = waiting
      waiting = []
      if (batch.length === 0) return
      const running = send(batch)
      if (running === undefined) return
      answering++
      running.addObserver(() => {
        answering--
        // What gathered meanwhile goes now (its answers follow this batch's).
        if (waiting.length > 0) flush()
      })
    }
    return (item: T) => {
      waiting.push(item)
      if (waiting.length >= maxBatch) flush()
      else if (waiting.length === 1) {
        if (answering === 0 || batchWindowMillis <= 0) immediate = setImmediate(flush)
        else timer = setTimeout(flush, batchWindowMillis)
      }
    }
  }

  const answerBatch: Lanes["answerBatch"] = (batch, answers) => {
    const fiber = runFork(answers)
    fiber.addObserver((exit) => {
      if (Exit.isSuccess(exit)) {
        for (let i = 0; i < batch.length; i++) write(batch[i]!.response, exit.value[i]!)
      } else if (!Cause.isInterruptedOnly(exit.cause)) {
        for (const { response } of batch) write(response, internalError())
      }
    })
    return fiber
  }

  const sideBySide: Lanes["sideBySide"] = (one) => (batch) =>
    answerBatch(batch, Effect.forEach(batch, (item) => Effect.catchAllCause(one(item), errors.recover(failure)), { concurrency: "unbounded" }))

  return { lane, answerBatch, sideBySide }
}
