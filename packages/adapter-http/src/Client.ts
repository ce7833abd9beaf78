/**
 * A typed client of {@link Api.Api} for agents, the dashboard and scripts, plus an SSE reader.
 *
 * @since 0.1.0
 */
import * as Sse from "@effect/experimental/Sse"
import { type HttpApi, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { DomainEvent } from "@spotfleet/engine"
import { Effect, Schema, Stream } from "effect"
import { Api } from "./Api.js"

/**
 * Options of a client.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions {
  readonly baseUrl: string
  /** Sent as `Authorization: Bearer <token>` (tenant, agent or admin token). */
  readonly token?: string | undefined
}

/**
 * A typed client: `client.agents.heartbeat({ path: { agentId }, payload: {}, headers: {} })`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ClientOptions): Effect.Effect<Client, never, HttpClient.HttpClient> =>
  HttpApiClient.make(Api, {
    baseUrl: options.baseUrl,
    transformClient: options.token === undefined
      ? undefined
      : HttpClient.mapRequest(HttpClientRequest.bearerToken(options.token))
  })

/**
 * The client's type.
 *
 * @since 0.1.0
 * @category models
 */
export type Client = HttpApiClient.Client<ApiGroups, ApiErrors, never>

/** @since 0.1.0 @category models */
export type ApiGroups = typeof Api extends HttpApi.HttpApi<infer _Id, infer G, infer _E, infer _R> ? G : never
/** @since 0.1.0 @category models */
export type ApiErrors = typeof Api extends HttpApi.HttpApi<infer _Id, infer _G, infer E, infer _R> ? E : never

const decodeEvent = Schema.decodeUnknown(Schema.parseJson(DomainEvent.DomainEvent))

/**
 * Reads `GET /api/events/stream` as typed events, resuming after `lastEventId` when given.
 *
 * @since 0.1.0
 * @category streams
 */
export const events = (
  options: ClientOptions & { readonly lastEventId?: number | undefined }
): Stream.Stream<DomainEvent.DomainEvent, unknown, HttpClient.HttpClient> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    let request = HttpClientRequest.get(new URL("/api/events/stream", options.baseUrl).toString()).pipe(
      HttpClientRequest.setHeader("accept", "text/event-stream")
    )
    if (options.token !== undefined) request = HttpClientRequest.bearerToken(request, options.token)
    if (options.lastEventId !== undefined) request = HttpClientRequest.setHeader(request, "last-event-id", String(options.lastEventId))
    const response = yield* client.execute(request).pipe(Effect.flatMap((r) => r.status === 200 ? Effect.succeed(r) : Effect.fail(r)))
    return response.stream.pipe(
      Stream.decodeText(),
      Stream.pipeThroughChannel(Sse.makeChannel()),
      Stream.mapEffect((event) => decodeEvent(event.data))
    )
  }))
