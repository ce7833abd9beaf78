/**
 * In-process rate limiting (docs/DESIGN.md, "HTTP surface"): a token bucket per bearer token and
 * one per client IP, kept in a bounded map; a request over either limit is answered `429` with
 * `{error:{code:"RateLimited",message,details:{scope,retryAfterSeconds}}}` and a `Retry-After`
 * header before any handler (or body parsing) runs. `/health`, `/ready` and `/metrics` are never
 * limited. Each server process limits on its own: with N processes behind a balancer a client gets
 * at most N times the configured rate.
 *
 * @since 0.1.0
 */
import { type HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Clock, Context, Effect } from "effect"
import * as ApiError from "./ApiError.js"

/**
 * One limit: a sustained rate and the burst above it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limit {
  /** Sustained requests per second. */
  readonly perSecond: number
  /** Bucket size: how many requests may arrive at once after a quiet period. */
  readonly burst: number
}

/**
 * Options as given by the host (every field optional).
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitOptions {
  /** `false` turns rate limiting off altogether (default on). */
  readonly enabled?: boolean | undefined
  /** Per bearer token (tenant, agent or admin token); `false` = no per-token limit. Default 10,000/s, burst 20,000. */
  readonly perToken?: Limit | false | undefined
  /** Per client IP; `false` = no per-IP limit. Default 20,000/s, burst 40,000. */
  readonly perIp?: Limit | false | undefined
  /** Most buckets kept per scope (default 100,000); beyond it full buckets, then the least recently used, are dropped. */
  readonly maxKeys?: number | undefined
  /** Take the client IP from the first `X-Forwarded-For` entry (only behind a proxy you trust; default false). */
  readonly trustForwardedFor?: boolean | undefined
}

/**
 * Resolved settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitSettings {
  readonly perToken: Limit | null
  readonly perIp: Limit | null
  readonly maxKeys: number
  readonly trustForwardedFor: boolean
}

/**
 * The default per-token limit: far above what one tenant's 100,000 agents send (≈ 3,300 requests/s),
 * so the demo, the tests and the benches never meet it.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPerToken: Limit = { perSecond: 10_000, burst: 20_000 }

/**
 * The default per-IP limit.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPerIp: Limit = { perSecond: 20_000, burst: 40_000 }

const checkLimit = (limit: Limit): Limit => {
  if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
    throw new RangeError(`rate limit: perSecond must be > 0 and burst ≥ 1 (got ${limit.perSecond}/${limit.burst})`)
  }
  return limit
}

/**
 * Resolves options with their defaults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (options: RateLimitOptions = {}): RateLimitSettings => {
  const on = options.enabled !== false
  const pick = (given: Limit | false | undefined, fallback: Limit) =>
    !on || given === false ? null : checkLimit(given ?? fallback)
  return {
    perToken: pick(options.perToken, defaultPerToken),
    perIp: pick(options.perIp, defaultPerIp),
    maxKeys: Math.max(1, options.maxKeys ?? 100_000),
    trustForwardedFor: options.trustForwardedFor ?? false
  }
}

/**
 * A set of token buckets, one per key, in a bounded map.
 *
 * @since 0.1.0
 * @category models
 */
export interface Buckets {
  /** Takes one token for `key` at `now` (ms): `0` when allowed, otherwise the seconds to wait. */
  readonly take: (key: string, now: number) => number
  /** Buckets currently held. */
  readonly size: () => number
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * Token buckets for one limit. When `maxKeys` buckets exist, a new key first drops every bucket
 * that has refilled completely (it is the same as a fresh one), then the least recently used.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBuckets = (limit: Limit, maxKeys: number): Buckets => {
  const map = new Map<string, Bucket>()
  const perMilli = limit.perSecond / 1000
  const refill = (bucket: Bucket, now: number) => {
    if (now > bucket.at) {
      bucket.tokens = Math.min(limit.burst, bucket.tokens + (now - bucket.at) * perMilli)
      bucket.at = now
    }
  }
  const evict = (now: number) => {
    for (const [key, bucket] of map) {
      refill(bucket, now)
      if (bucket.tokens >= limit.burst) map.delete(key)
    }
    // Still full: the least recently used go first (a Map iterates in insertion order and a
    // used bucket is re-inserted).
    for (const key of map.keys()) {
      if (map.size < maxKeys) break
      map.delete(key)
    }
  }
  return {
    take: (key, now) => {
      let bucket = map.get(key)
      if (bucket === undefined) {
        if (map.size >= maxKeys) evict(now)
        bucket = { tokens: limit.burst, at: now }
      } else {
        refill(bucket, now)
        map.delete(key)
      }
      map.set(key, bucket)
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return 0
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond))
    },
    size: () => map.size
  }
}

const unlimitedPaths = new Set(["/health", "/ready", "/metrics"])

const bearerOf = (authorization: string | undefined): string | undefined => {
  if (authorization === undefined) return undefined
  const match = /^bearer\s+(.+)$/i.exec(authorization.trim())
  return match === null ? undefined : match[1]
}

const clientIp = (request: LimitedRequest, trustForwardedFor: boolean): string | undefined => {
  if (trustForwardedFor) {
    const forwarded = request.forwardedFor?.split(",")[0]?.trim()
    if (forwarded !== undefined && forwarded !== "") return forwarded
  }
  return request.remoteAddress
}

/**
 * The 429 answer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const rateLimited = (scope: "token" | "ip", retryAfterSeconds: number): HttpServerResponse.HttpServerResponse => {
  const error = rejectionError({ scope, retryAfterSeconds })
  return HttpServerResponse.unsafeJson(ApiError.bodyOf(error), {
    status: ApiError.statusOf(error),
    headers: { "retry-after": String(retryAfterSeconds) }
  })
}

/**
 * The error a refused request is answered with (429, code `RateLimited`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const rejectionError = (rejection: Rejection): ApiError.TooManyRequests =>
  new ApiError.TooManyRequests({
    code: "RateLimited",
    message: `too many requests for this ${rejection.scope === "token" ? "token" : "client address"}; retry after ${rejection.retryAfterSeconds} s`,
    details: { scope: rejection.scope, retryAfterSeconds: rejection.retryAfterSeconds }
  })

/**
 * Why a request was refused: which bucket ran dry and how long to wait.
 *
 * @since 0.1.0
 * @category models
 */
export interface Rejection {
  readonly scope: "token" | "ip"
  readonly retryAfterSeconds: number
}

/**
 * One server's buckets (per token, per IP) and the rule that checks a request against them.
 * Everything that answers requests in one process shares one limiter, so a second way in (the
 * agent fast path) cannot double a client's allowance.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limiter {
  /** `false` when both limits are off (nothing to check). */
  readonly enabled: boolean
  /**
   * Takes a token from the client's buckets for one request to `path`: `undefined` when it may
   * go ahead. The IP bucket is taken first, so requests with ever new (invalid) tokens still
   * count against the address they come from.
   */
  readonly check: (request: LimitedRequest, now: number) => Rejection | undefined
}

/**
 * What the limiter looks at in a request.
 *
 * @since 0.1.0
 * @category models
 */
export interface LimitedRequest {
  /** The path without the query string. */
  readonly path: string
  readonly authorization: string | undefined
  readonly forwardedFor: string | undefined
  readonly remoteAddress: string | undefined
}

/**
 * The server's one limiter (see {@link Limiter}).
 *
 * @since 0.1.0
 * @category tags
 */
export class RateLimiter extends Context.Tag("@spotfleet/adapter-http/RateLimiter")<RateLimiter, Limiter>() {}

/**
 * The limiter for resolved settings (new, empty buckets).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeLimiter = (settings: RateLimitSettings): Limiter => {
  const byToken = settings.perToken === null ? null : makeBuckets(settings.perToken, settings.maxKeys)
  const byIp = settings.perIp === null ? null : makeBuckets(settings.perIp, settings.maxKeys)
  return {
    enabled: byToken !== null || byIp !== null,
    check: (request, now) => {
      if (unlimitedPaths.has(request.path)) return undefined
      if (byIp !== null) {
        const ip = clientIp(request, settings.trustForwardedFor)
        if (ip !== undefined) {
          const wait = byIp.take(ip, now)
          if (wait > 0) return { scope: "ip", retryAfterSeconds: wait }
        }
      }
      if (byToken !== null) {
        const token = bearerOf(request.authorization)
        if (token !== undefined) {
          const wait = byToken.take(token, now)
          if (wait > 0) return { scope: "token", retryAfterSeconds: wait }
        }
      }
      return undefined
    }
  }
}

/**
 * The middleware over a given limiter: checked before the wrapped app.
 *
 * @since 0.1.0
 * @category middleware
 */
export const middlewareWith = (limiter: Limiter) => <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> => {
  if (!limiter.enabled) return app
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const now = yield* Clock.currentTimeMillis
    const rejection = limiter.check({
      path: request.url.split("?")[0]!,
      authorization: request.headers["authorization"],
      forwardedFor: request.headers["x-forwarded-for"],
      remoteAddress: request.remoteAddress._tag === "Some" ? request.remoteAddress.value : undefined
    }, now)
    return rejection === undefined ? yield* app : rateLimited(rejection.scope, rejection.retryAfterSeconds)
  })
}

/**
 * The middleware with buckets of its own (one set per call, so per server).
 *
 * @since 0.1.0
 * @category middleware
 */
export const middleware = (settings: RateLimitSettings) => middlewareWith(makeLimiter(settings))
