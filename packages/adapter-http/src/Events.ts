/**
 * Server-sent events: a tenant's event log as `text/event-stream`. The stream tails the event
 * log by id (so events written by any server process arrive), labels each event with its log id
 * (`id:`) and type (`event:`), resumes after `Last-Event-ID`, and sends keep-alive comments.
 * Streams end when the server shuts down ({@link SseShutdown}).
 *
 * @since 0.1.0
 */
import * as Sse from "@effect/experimental/Sse"
import { HttpServerResponse } from "@effect/platform"
import { DomainEvent, EventLog, type Ids } from "@spotfleet/engine"
import { Chunk, Context, Deferred, Duration, Effect, Layer, Ref, Schema, Stream } from "effect"
import { HttpConfig } from "./HttpConfig.js"

/**
 * Ends every open event stream (graceful shutdown).
 *
 * @since 0.1.0
 * @category models
 */
export interface SseShutdownService {
  readonly shutdown: Effect.Effect<void>
  readonly await: Effect.Effect<void>
}

/**
 * The shutdown signal of event streams.
 *
 * @since 0.1.0
 * @category tags
 */
export class SseShutdown extends Context.Tag("@spotfleet/adapter-http/SseShutdown")<SseShutdown, SseShutdownService>() {}

/**
 * A fresh shutdown signal; it also fires when the layer is released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerShutdown: Layer.Layer<SseShutdown> = Layer.scoped(
  SseShutdown,
  Effect.gen(function*() {
    const signal = yield* Deferred.make<void>()
    yield* Effect.addFinalizer(() => Deferred.succeed(signal, undefined))
    return SseShutdown.of({ shutdown: Effect.asVoid(Deferred.succeed(signal, undefined)), await: Deferred.await(signal) })
  })
)

const encodeEvent = Schema.encodeSync(DomainEvent.DomainEvent)
const encoder = new TextEncoder()

/**
 * Renders one event as an SSE block.
 *
 * @since 0.1.0
 * @category encoding
 */
export const renderEvent = (event: DomainEvent.DomainEvent): string =>
  Sse.encoder.write({ _tag: "Event", event: event.type, id: String(event.id), data: JSON.stringify(encodeEvent(event)) })

/**
 * The events of one tenant (optionally of one agent) after an id, forever: polls the log every
 * `ssePollMillis` while it has nothing new.
 *
 * @since 0.1.0
 * @category streams
 */
export const tail = (
  tenantId: Ids.TenantId,
  afterId: number,
  options: { readonly agentId?: Ids.AgentId | undefined } = {}
): Stream.Stream<DomainEvent.DomainEvent, never, EventLog.EventLog | HttpConfig> =>
  Stream.unwrap(Effect.map(EventLog.EventLog, (log) =>
    polled(afterId, (after) => log.read({ tenantId, afterId: after, limit: 500, agentId: options.agentId }), (event) => event.id)))

/**
 * An SSE response over rendered blocks: the `retry:` hint and a `: connected` comment, then the
 * blocks and keep-alive comments, until the client goes away or the server shuts down. Every
 * stream of this adapter (the event log, notifications) is served through it.
 *
 * @since 0.2.0
 * @category responses
 */
export const sseResponse = <R>(
  connected: string,
  blocks: Stream.Stream<string, never, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R | HttpConfig | SseShutdown> =>
  Effect.gen(function*() {
    const config = yield* HttpConfig
    const shutdown = yield* SseShutdown
    const context = yield* Effect.context<R>()
    const keepAlive = Stream.tick(Duration.millis(config.sseKeepAliveMillis)).pipe(Stream.drop(1), Stream.as(": keep-alive\n\n"))
    const body = Stream.make(`retry: 2000\n: ${connected}\n\n`).pipe(
      Stream.concat(Stream.merge(blocks, keepAlive, { haltStrategy: "left" })),
      Stream.interruptWhen(shutdown.await),
      Stream.map((s) => encoder.encode(s)),
      Stream.provideContext(context)
    )
    return HttpServerResponse.stream(body, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" }
    })
  })

/**
 * A source polled every `ssePollMillis` while it has nothing new: `next(cursor)` answers the items
 * after the cursor (in order) and the cursor after them. A store that fails for a moment keeps the
 * stream: the poll is tried again.
 *
 * @since 0.2.0
 * @category streams
 */
export const polled = <A, E, R>(
  start: number,
  next: (cursor: number) => Effect.Effect<ReadonlyArray<A>, E, R>,
  cursorOf: (item: A) => number
): Stream.Stream<A, never, R | HttpConfig> =>
  Stream.unwrap(Effect.gen(function*() {
    const config = yield* HttpConfig
    const cursor = yield* Ref.make(start)
    const idle = Effect.as(Effect.sleep(Duration.millis(config.ssePollMillis)), Chunk.empty<A>())
    const step = Effect.gen(function*() {
      const items = yield* next(yield* Ref.get(cursor))
      if (items.length === 0) return yield* idle
      yield* Ref.set(cursor, cursorOf(items[items.length - 1]!))
      return Chunk.fromIterable(items)
    }).pipe(Effect.catchAll(() => idle))
    return Stream.repeatEffectChunk(step)
  }))

/**
 * The SSE response of a tenant's event log after an id (or from now on).
 *
 * @since 0.1.0
 * @category responses
 */
export const response = (
  tenantId: Ids.TenantId,
  afterId: number | undefined,
  options: { readonly agentId?: Ids.AgentId | undefined } = {}
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, EventLog.EventLog | HttpConfig | SseShutdown> =>
  Effect.gen(function*() {
    const log = yield* EventLog.EventLog
    const start = afterId ?? (yield* Effect.orElseSucceed(log.latestId, () => 0))
    return yield* sseResponse(`connected, after id ${start}`, tail(tenantId, start, options).pipe(Stream.map(renderEvent)))
  })
