/**
 * Settings of the HTTP adapter: the admin token, the body size limit, per-agent tokens, SSE
 * timings.
 *
 * @since 0.1.0
 */
import { Config, ConfigError, Context, Effect, Either, Layer, Option, Redacted } from "effect"
import * as RateLimit from "./RateLimit.js"

/**
 * Limits on the shape of a JSON request body, checked in one pass over its text before it is
 * parsed (parsing, decoding and error formatting are recursive: a body nested thousands deep
 * overflowed the stack).
 *
 * @since 0.1.0
 * @category models
 */
export interface JsonLimits {
  /** Deepest nesting of arrays and objects. */
  readonly maxDepth: number
  /** Most items in one array, or members in one object. */
  readonly maxItems: number
  /** Longest string (UTF-16 code units; an escape counts as one). */
  readonly maxStringLength: number
}

/**
 * The default JSON limits: far above anything an agent or the dashboard sends (a v5 heartbeat
 * nests 4 deep; the longest legal strings are model artifacts in base64).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultJsonLimits: JsonLimits = { maxDepth: 32, maxItems: 10_000, maxStringLength: 256 * 1024 }

/**
 * Options as given by the host.
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpOptions {
  /** The operator's token for `/api/admin/*`. Without one every admin call is refused (401). */
  readonly adminToken?: Redacted.Redacted<string> | undefined
  /** Largest accepted request body in bytes (default 1 MiB); larger bodies get 413. */
  readonly maxBodyBytes?: number | undefined
  /** Secret for per-agent tokens issued at registration (HMAC); without it none are issued. */
  readonly agentTokenSecret?: Redacted.Redacted<string> | undefined
  /** How often an SSE stream looks for new events in the event log (default 250 ms). */
  readonly ssePollMillis?: number | undefined
  /** Interval of SSE keep-alive comments (default 15 s). */
  readonly sseKeepAliveMillis?: number | undefined
  /**
   * How long a successful tenant-token lookup is reused in this process (default 5 s; 0 = look
   * every token up on every request). A token removed from the store keeps working here for
   * at most this long.
   */
  readonly tokenCacheMillis?: number | undefined
  /** Most token lookups kept (default 10,000; the oldest is dropped first). */
  readonly tokenCacheSize?: number | undefined
  /** Per-token and per-IP rate limits (429); see {@link RateLimit.RateLimitOptions}. On by default with high limits. */
  readonly rateLimit?: RateLimit.RateLimitOptions | undefined
  /**
   * The longest a call on the agent fast path waits to join a batch (default 10 ms; 0 = never
   * past the turn of the event loop it arrived in). Batching is group commit: when none of a
   * lane's batches is being answered, what arrived in this turn goes at once (no wait when the
   * server is idle); while one is, arrivals wait for it and go together when it finishes — at
   * most this long. A batch costs one fiber, one engine call and one set of statements however
   * many calls it holds, so at tens of thousands of agents batches buy most of the server's CPU
   * back (docs/PERFORMANCE.md). A batch that reaches 500 calls goes at once.
   */
  readonly batchWindowMillis?: number | undefined
  /**
   * Limits on the shape of a JSON body, checked before it is parsed (400 `InputLimit` beyond
   * them): nesting depth (default 32), items of one array or object (default 10,000), string
   * length (default 262,144 characters).
   */
  readonly jsonLimits?: Partial<JsonLimits> | undefined
}

/**
 * Resolved settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpSettings {
  readonly adminToken: Option.Option<Redacted.Redacted<string>>
  readonly maxBodyBytes: number
  readonly agentTokenSecret: Option.Option<Redacted.Redacted<string>>
  readonly ssePollMillis: number
  readonly sseKeepAliveMillis: number
  readonly tokenCacheMillis: number
  readonly tokenCacheSize: number
  readonly rateLimit: RateLimit.RateLimitSettings
  readonly batchWindowMillis: number
  readonly jsonLimits: JsonLimits
}

/**
 * The settings tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class HttpConfig extends Context.Tag("@spotfleet/adapter-http/HttpConfig")<HttpConfig, HttpSettings>() {}

/**
 * Resolves options with their defaults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: HttpOptions = {}): HttpSettings => ({
  adminToken: Option.fromNullable(options.adminToken).pipe(Option.filter((t) => Redacted.value(t).length > 0)),
  maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
  agentTokenSecret: Option.fromNullable(options.agentTokenSecret).pipe(Option.filter((t) => Redacted.value(t).length > 0)),
  ssePollMillis: options.ssePollMillis ?? 250,
  sseKeepAliveMillis: options.sseKeepAliveMillis ?? 15_000,
  tokenCacheMillis: Math.max(0, options.tokenCacheMillis ?? 5_000),
  tokenCacheSize: Math.max(0, options.tokenCacheSize ?? 10_000),
  rateLimit: RateLimit.resolve(options.rateLimit),
  batchWindowMillis: Math.max(0, options.batchWindowMillis ?? 10),
  jsonLimits: {
    maxDepth: Math.max(1, options.jsonLimits?.maxDepth ?? defaultJsonLimits.maxDepth),
    maxItems: Math.max(1, options.jsonLimits?.maxItems ?? defaultJsonLimits.maxItems),
    maxStringLength: Math.max(1, options.jsonLimits?.maxStringLength ?? defaultJsonLimits.maxStringLength)
  }
})

/**
 * The settings as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: HttpOptions = {}): Layer.Layer<HttpConfig> => Layer.succeed(HttpConfig, make(options))

/**
 * A rate limit from configuration: `<per second>/<burst>` (e.g. `10/100`), `<per second>` (the
 * burst is then twice the rate, at least 1), or `off`.
 */
const limitConfig = (name: string): Config.Config<Option.Option<RateLimit.Limit | false>> =>
  Config.option(Config.string(name).pipe(
    Config.mapOrFail((text): Either.Either<RateLimit.Limit | false, ConfigError.ConfigError> => {
      const value = text.trim().toLowerCase()
      if (value === "off" || value === "false" || value === "0") return Either.right(false)
      const match = /^(\d+(?:\.\d+)?)(?:\/(\d+))?$/.exec(value)
      const perSecond = match === null ? NaN : Number(match[1])
      const burst = match?.[2] === undefined ? Math.max(1, Math.ceil(2 * perSecond)) : Number(match[2])
      return match === null || !(perSecond > 0) || !(burst >= 1)
        ? Either.left(ConfigError.InvalidData([], `expected <per second>/<burst> (e.g. 10/100) or off, got ${JSON.stringify(text)}`))
        : Either.right({ perSecond, burst })
    })
  ))

const secret = (name: string) =>
  Config.option(Config.redacted(name)).pipe(Config.map(Option.filter((v) => Redacted.value(v).length > 0)))

/**
 * The options from configuration (every one optional; unset = the default):
 *
 * | variable | option |
 * |---|---|
 * | `SPOTFLEET_ADMIN_TOKEN` | {@link HttpOptions.adminToken} |
 * | `SPOTFLEET_AGENT_TOKEN_SECRET` | {@link HttpOptions.agentTokenSecret} |
 * | `SPOTFLEET_MAX_BODY_BYTES` | {@link HttpOptions.maxBodyBytes} |
 * | `SPOTFLEET_BATCH_WINDOW_MILLIS` | {@link HttpOptions.batchWindowMillis} |
 * | `SPOTFLEET_RATE_LIMIT` | `false` turns every rate limit off |
 * | `SPOTFLEET_RATE_LIMIT_AGENT`, `SPOTFLEET_RATE_LIMIT_TENANT`, `SPOTFLEET_RATE_LIMIT_IP` | `<per second>/<burst>` or `off` (see `RateLimit`) |
 * | `SPOTFLEET_TRUST_FORWARDED_FOR` | rate-limit by the first `X-Forwarded-For` address (behind a proxy you trust) |
 * | `SPOTFLEET_JSON_MAX_DEPTH`, `SPOTFLEET_JSON_MAX_ITEMS`, `SPOTFLEET_JSON_MAX_STRING_LENGTH` | {@link HttpOptions.jsonLimits} |
 *
 * @since 0.1.0
 * @category config
 */
export const options: Config.Config<HttpOptions> = Config.all({
  adminToken: secret("SPOTFLEET_ADMIN_TOKEN"),
  agentTokenSecret: secret("SPOTFLEET_AGENT_TOKEN_SECRET"),
  maxBodyBytes: Config.option(Config.integer("SPOTFLEET_MAX_BODY_BYTES")),
  batchWindowMillis: Config.option(Config.number("SPOTFLEET_BATCH_WINDOW_MILLIS")),
  rateLimit: Config.boolean("SPOTFLEET_RATE_LIMIT").pipe(Config.withDefault(true)),
  perAgent: limitConfig("SPOTFLEET_RATE_LIMIT_AGENT"),
  perTenant: limitConfig("SPOTFLEET_RATE_LIMIT_TENANT"),
  perIp: limitConfig("SPOTFLEET_RATE_LIMIT_IP"),
  trustForwardedFor: Config.boolean("SPOTFLEET_TRUST_FORWARDED_FOR").pipe(Config.withDefault(false)),
  maxDepth: Config.option(Config.integer("SPOTFLEET_JSON_MAX_DEPTH")),
  maxItems: Config.option(Config.integer("SPOTFLEET_JSON_MAX_ITEMS")),
  maxStringLength: Config.option(Config.integer("SPOTFLEET_JSON_MAX_STRING_LENGTH"))
}).pipe(Config.map((c): HttpOptions => ({
  adminToken: Option.getOrUndefined(c.adminToken),
  agentTokenSecret: Option.getOrUndefined(c.agentTokenSecret),
  maxBodyBytes: Option.getOrUndefined(c.maxBodyBytes),
  batchWindowMillis: Option.getOrUndefined(c.batchWindowMillis),
  rateLimit: {
    enabled: c.rateLimit,
    perAgent: Option.getOrUndefined(c.perAgent),
    perTenant: Option.getOrUndefined(c.perTenant),
    perIp: Option.getOrUndefined(c.perIp),
    trustForwardedFor: c.trustForwardedFor
  },
  jsonLimits: {
    ...Option.match(c.maxDepth, { onNone: () => ({}), onSome: (maxDepth) => ({ maxDepth }) }),
    ...Option.match(c.maxItems, { onNone: () => ({}), onSome: (maxItems) => ({ maxItems }) }),
    ...Option.match(c.maxStringLength, { onNone: () => ({}), onSome: (maxStringLength) => ({ maxStringLength }) })
  }
})))

/**
 * The settings from configuration (see {@link options}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<HttpConfig, import("effect/ConfigError").ConfigError> = Layer.effect(
  HttpConfig,
  Effect.map(options, make)
)
