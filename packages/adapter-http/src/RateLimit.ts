/**
 * In-process rate limiting: token buckets per agent, per tenant and per client IP, kept in
 * bounded maps; a request over any limit is answered `429` with
 * `{error:{code:"RateLimited",message,details:{scope,retryAfterSeconds}}}` and a `Retry-After`
 * header before any handler (or body parsing) runs. `/health`, `/ready` and `/metrics` are never
 * limited. Each server process limits on its own: with N processes behind a balancer a client
 * gets at most N times the configured rate.
 *
 * - **Per agent** (default 10/s, burst 100): requests naming one agent in their path
 *   (`/api/agents/{id}/…`, `/api/v5/agents/{id}/…`) with one tenant's credentials. A real agent
 *   sends about one request every 4 s (v5: a heartbeat every 30 s, a poll every 5 s, prices every
 *   300 s), so only a runaway or hostile client meets it, and its refused requests take nothing
 *   from its tenant's allowance.
 * - **Per tenant** (default 5,000/s, burst 10,000): every request made with a tenant's tokens
 *   (its API tokens and its agents' tokens, once the token cache knows them; an unknown token
 *   has a bucket of its own). Twice what a tenant at its default 10,000-agent limit sends in the
 *   v5 dialect (≈ 2,400/s).
 * - **Per client IP** (default 20,000/s, burst 40,000): every request from the address,
 *   whatever its token (also unknown ones).
 *
 * @since 0.1.0
 */
import type { IncomingMessage } from "node:http"
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
  /** Per agent named in the path (with one tenant's credentials); `false` = none. Default {@link defaultPerAgent}. */
  readonly perAgent?: Limit | false | undefined
  /** Per tenant (all its tokens; the admin token has a bucket of its own); `false` = none. Default {@link defaultPerTenant}. */
  readonly perTenant?: Limit | false | undefined
  /** Per client IP; `false` = no per-IP limit. Default {@link defaultPerIp}. */
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
  readonly perAgent: Limit | null
  readonly perTenant: Limit | null
  readonly perIp: Limit | null
  readonly maxKeys: number
  readonly trustForwardedFor: boolean
}

/**
 * The default per-agent limit: 40 times what a real agent sends on average (v5: ≈ 0.25
 * requests/s), with room for a restart's burst; a client flooding one agent's routes is held
 * to it.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPerAgent: Limit = { perSecond: 10, burst: 100 }

/**
 * The default per-tenant limit: twice what a tenant at its default limit of 10,000 agents sends
 * in the v5 dialect (a poll every 5 s, a heartbeat every 30 s, prices every 300 s: ≈ 2,400
 * requests/s; v1 agents send less).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPerTenant: Limit = { perSecond: 5_000, burst: 10_000 }

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
    perAgent: pick(options.perAgent, defaultPerAgent),
    perTenant: pick(options.perTenant, defaultPerTenant),
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

const agentPath = /^\/api\/(?:v5\/)?agents\/([^/?#]+)/

/** The agent a path names (`/api/agents/{id}…`, `/api/v5/agents/{id}…`; not `register`). */
export const agentOfPath = (path: string): string | undefined => {
  const match = agentPath.exec(path)
  return match === null || match[1] === "register" ? undefined : match[1]
}

/**
 * The 429 answer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const rateLimited = (rejection: Rejection): HttpServerResponse.HttpServerResponse => {
  const error = rejectionError(rejection)
  return HttpServerResponse.unsafeJson(ApiError.bodyOf(error), {
    status: ApiError.statusOf(error),
    headers: { "retry-after": String(rejection.retryAfterSeconds) }
  })
}

const scopeNames: Record<Rejection["scope"], string> = { agent: "agent", tenant: "tenant", ip: "client address" }

/**
 * The error a refused request is answered with (429, code `RateLimited`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const rejectionError = (rejection: Rejection): ApiError.TooManyRequests =>
  new ApiError.TooManyRequests({
    code: "RateLimited",
    message: `too many requests for this ${scopeNames[rejection.scope]}; retry after ${rejection.retryAfterSeconds} s`,
    details: { scope: rejection.scope, retryAfterSeconds: rejection.retryAfterSeconds }
  })

/**
 * Why a request was refused: which bucket ran dry and how long to wait.
 *
 * @since 0.1.0
 * @category models
 */
export interface Rejection {
  readonly scope: "agent" | "tenant" | "ip"
  readonly retryAfterSeconds: number
}

/**
 * One server's buckets (per agent, per tenant, per IP) and the rule that checks a request
 * against them. Everything that answers requests in one process shares one limiter, so a second
 * way in (the agent fast path) cannot double a client's allowance.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limiter {
  /** `false` when every limit is off (nothing to check). */
  readonly enabled: boolean
  /**
   * Takes a token from the client's buckets for one request to `path`: `undefined` when it may
   * go ahead. The IP bucket is taken first, so requests with ever new (invalid) tokens still
   * count against the address they come from; then the agent's, then the tenant's (a request
   * its agent's bucket refuses takes nothing from the tenant's).
   */
  readonly check: (request: LimitedRequest, now: number) => Rejection | undefined
  /**
   * {@link check} for a `node:http` request, once per request however many ways in look at it
   * (a request already checked, or replayed from one, goes ahead).
   */
  readonly checkOnce: (request: IncomingMessage, now: number) => Rejection | undefined
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

/** Set on a node request's headers object once its limits were checked (replayed copies share it). */
const checked = Symbol.for("@spotfleet/adapter-http/RateLimit/checked")

const pathOf = (url: string | undefined): string => {
  const u = url ?? "/"
  const q = u.indexOf("?")
  return q < 0 ? u : u.slice(0, q)
}

/**
 * The limiter for resolved settings (new, empty buckets). `tenantOf` names the tenant of a bearer
 * token when it is known without a lookup (the token cache); otherwise the token is its own key.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeLimiter = (
  settings: RateLimitSettings,
  tenantOf: (bearer: string, now: number) => string | undefined = () => undefined
): Limiter => {
  const byAgent = settings.perAgent === null ? null : makeBuckets(settings.perAgent, settings.maxKeys)
  const byTenant = settings.perTenant === null ? null : makeBuckets(settings.perTenant, settings.maxKeys)
  const byIp = settings.perIp === null ? null : makeBuckets(settings.perIp, settings.maxKeys)
  const enabled = byAgent !== null || byTenant !== null || byIp !== null
  const check: Limiter["check"] = (request, now) => {
    if (unlimitedPaths.has(request.path)) return undefined
    if (byIp !== null) {
      const ip = clientIp(request, settings.trustForwardedFor)
      if (ip !== undefined) {
        const wait = byIp.take(ip, now)
        if (wait > 0) return { scope: "ip", retryAfterSeconds: wait }
      }
    }
    if (byAgent === null && byTenant === null) return undefined
    const token = bearerOf(request.authorization)
    if (token === undefined) return undefined
    const tenant = tenantOf(token, now)
    const tenantKey = tenant === undefined ? `token\u0000${token}` : `tenant\u0000${tenant}`
    if (byAgent !== null) {
      const agent = agentOfPath(request.path)
      if (agent !== undefined) {
        const wait = byAgent.take(`${tenantKey}\u0000${agent}`, now)
        if (wait > 0) return { scope: "agent", retryAfterSeconds: wait }
      }
    }
    if (byTenant !== null) {
      const wait = byTenant.take(tenantKey, now)
      if (wait > 0) return { scope: "tenant", retryAfterSeconds: wait }
    }
    return undefined
  }
  return {
    enabled,
    check,
    checkOnce: (request, now) => {
      const headers = request.headers as Record<PropertyKey, unknown>
      if (!enabled || headers[checked] === true) return undefined
      headers[checked] = true
      return check({
        path: pathOf(request.url),
        authorization: request.headers["authorization"],
        forwardedFor: request.headers["x-forwarded-for"] as string | undefined,
        remoteAddress: request.socket?.remoteAddress
      }, now)
    }
  }
}

const isNodeRequest = (source: unknown): source is IncomingMessage =>
  typeof source === "object" && source !== null && "socket" in source && "headers" in source && "url" in source

/**
 * The middleware over a given limiter: checked before the wrapped app (once per request: a
 * `node:http` request that a way in before HttpApi checked already goes ahead).
 *
 * @since 0.1.0
 * @category middleware
 */
export const middlewareWith = (limiter: Limiter) => <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> => {
  if (!limiter.enabled) return app
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const now = yield* Clock.currentTimeMillis
    const rejection = isNodeRequest(request.source)
      ? limiter.checkOnce(request.source, now)
      : limiter.check({
        path: pathOf(request.url),
        authorization: request.headers["authorization"],
        forwardedFor: request.headers["x-forwarded-for"],
        remoteAddress: request.remoteAddress._tag === "Some" ? request.remoteAddress.value : undefined
      }, now)
    return rejection === undefined ? yield* app : rateLimited(rejection)
  })
}

/**
 * The middleware with buckets of its own (one set per call, so per server).
 *
 * @since 0.1.0
 * @category middleware
 */
export const middleware = (settings: RateLimitSettings) => middlewareWith(makeLimiter(settings))
