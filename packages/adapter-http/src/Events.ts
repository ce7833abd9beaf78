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
  Stream.unwrap(Effect.gen(function*() {
    const log = yield* EventLog.EventLog
    const config = yield* HttpConfig
    const cursor = yield* Ref.make(afterId)
    const idle = Effect.as(Effect.sleep(Duration.millis(config.ssePollMillis)), Chunk.empty<DomainEvent.DomainEvent>())
    const next = Effect.gen(function*() {
      const after = yield* Ref.get(cursor)
      const events = yield* log.read({ tenantId, afterId: after, limit: 500, agentId: options.agentId })
      if (events.length === 0) return yield* idle
      yield* Ref.set(cursor, events[events.length - 1]!.id)
      return Chunk.fromIterable(events)
    }).pipe(
      // The store is unreachable for a moment: keep the stream, try again.
      Effect.catchAll(() => idle)
    )
    return Stream.repeatEffectChunk(next)
  }))

/**
 * The SSE response: `retry:` hint, then events and keep-alive comments, until the client goes
 * away or the server shuts down.
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
    const config = yield* HttpConfig
    const shutdown = yield* SseShutdown
    const start = afterId ?? (yield* Effect.orElseSucceed(log.latestId, () => 0))
    const context = yield* Effect.context<EventLog.EventLog | HttpConfig>()
    const events = tail(tenantId, start, options).pipe(Stream.map(renderEvent))
    const keepAlive = Stream.tick(Duration.millis(config.sseKeepAliveMillis)).pipe(Stream.drop(1), Stream.as(": keep-alive\n\n"))
    const body = Stream.make(`retry: 2000\n: connected, after id ${start}\n\n`).pipe(
      Stream.concat(Stream.merge(events, keepAlive, { haltStrategy: "left" })),
      Stream.interruptWhen(shutdown.await),
      Stream.map((s) => encoder.encode(s)),
      Stream.provideContext(context)
    )
    return HttpServerResponse.stream(body, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" }
    })
  })
