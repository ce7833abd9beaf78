/**
 * Tokens: generation, hashing (SHA-256; only hashes reach the store), constant-time comparison,
 * per-agent tokens (HMAC of tenant and agent id, nothing stored), and the security middleware of
 * {@link Api.TenantAuth} and {@link Api.AdminAuth}.
 *
 * @since 0.1.0
 */
import { createHmac, hash, randomBytes, timingSafeEqual } from "node:crypto"
import { Engine, Ids } from "@spotfleet/engine"
import { Clock, Context, Effect, Layer, Option, Redacted } from "effect"
import { ServiceUnavailable, Unauthorized } from "./ApiError.js"
import { AdminAuth, type PrincipalService, TenantAuth } from "./Api.js"
import { HttpConfig } from "./HttpConfig.js"

/**
 * A fresh tenant API token (`sft_` + 32 random bytes, base64url).
 *
 * @since 0.1.0
 * @category tokens
 */
export const generateToken = (prefix = "sft_"): string => `${prefix}${randomBytes(32).toString("base64url")}`

/**
 * The SHA-256 hex digest of a token: what the store keeps.
 *
 * @since 0.1.0
 * @category tokens
 */
export const hashToken = (token: string): string => hash("sha256", token, "hex")

/**
 * Compares two secrets in time independent of where they differ (both are hashed first, so
 * lengths never leak either).
 *
 * @since 0.1.0
 * @category tokens
 */
export const constantTimeEquals = (a: string, b: string): boolean =>
  timingSafeEqual(hash("sha256", a, "buffer"), hash("sha256", b, "buffer"))

const agentTokenPrefix = "sfa_"

const agentSignature = (secret: string, tenantId: string, agentId: string) =>
  createHmac("sha256", secret).update(`${tenantId}\n${agentId}`, "utf8").digest("base64url")

/**
 * A per-agent token: `sfa_<tenant>.<agent>.<hmac>`. It authorizes calls for that one agent.
 *
 * @since 0.1.0
 * @category tokens
 */
export const agentToken = (secret: Redacted.Redacted<string>, tenantId: string, agentId: string): string =>
  `${agentTokenPrefix}${Buffer.from(tenantId).toString("base64url")}.${Buffer.from(agentId).toString("base64url")}.${
    agentSignature(Redacted.value(secret), tenantId, agentId)
  }`

/**
 * Verifies a per-agent token; returns its tenant and agent ids.
 *
 * @since 0.1.0
 * @category tokens
 */
export const verifyAgentToken = (
  secret: Redacted.Redacted<string>,
  token: string
): Option.Option<{ readonly tenantId: Ids.TenantId; readonly agentId: Ids.AgentId }> => {
  if (!token.startsWith(agentTokenPrefix)) return Option.none()
  const parts = token.slice(agentTokenPrefix.length).split(".")
  if (parts.length !== 3) return Option.none()
  const tenantId = Buffer.from(parts[0]!, "base64url").toString("utf8")
  const agentId = Buffer.from(parts[1]!, "base64url").toString("utf8")
  if (tenantId.length === 0 || agentId.length === 0) return Option.none()
  return constantTimeEquals(parts[2]!, agentSignature(Redacted.value(secret), tenantId, agentId))
    ? Option.some({ tenantId: Ids.TenantId.make(tenantId), agentId: Ids.AgentId.make(agentId) })
    : Option.none()
}

const unauthorized = (message: string) => new Unauthorized({ code: "Unauthorized", message })

const unavailable = () =>
  new ServiceUnavailable({ code: "StoreError", message: "credentials could not be checked: the store is unavailable, try again" })

/**
 * A bounded, short-lived map of successful credential lookups (token hash → tenant id), so the
 * hot agent routes (heartbeats every few seconds per agent) do not look the same token up in
 * the store on every request.
 *
 * Trade-off: a token (or tenant) removed from the store stays accepted by this process for at
 * most the time to live (`HttpOptions.tokenCacheMillis`, default 5 s); other processes each
 * have their own cache. Unknown tokens are never cached, so a new token works at once. Time is
 * read through `Clock`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenCache {
  /** The cached tenant for a key, if it has not expired. */
  readonly get: (key: string, now: number) => Ids.TenantId | undefined
  readonly set: (key: string, tenantId: Ids.TenantId, now: number) => void
  /** Forgets every entry (call it when tokens change in this process). */
  readonly clear: () => void
}

/**
 * A token cache keeping at most `size` entries for `ttlMillis` each (insertion order: the
 * oldest entry is dropped first). `ttlMillis` or `size` of 0 caches nothing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeTokenCache = (ttlMillis: number, size: number): TokenCache => {
  const entries = new Map<string, { readonly tenantId: Ids.TenantId; readonly expiresAt: number }>()
  return {
    get: (key, now) => {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      if (entry.expiresAt > now) return entry.tenantId
      entries.delete(key)
      return undefined
    },
    set: (key, tenantId, now) => {
      if (ttlMillis <= 0 || size <= 0) return
      entries.delete(key)
      while (entries.size >= size) entries.delete(entries.keys().next().value!)
      entries.set(key, { tenantId, expiresAt: now + ttlMillis })
    },
    clear: () => entries.clear()
  }
}

/**
 * Tenant (and per-agent) bearer tokens → the caller: the lookup behind `TenantAuth`, with its
 * cache, as a service of its own so every way in of one server (the HttpApi middleware, the
 * agent fast path) shares one cache.
 *
 * @since 0.1.0
 * @category tags
 */
export class TenantTokens extends Context.Tag("@spotfleet/adapter-http/TenantTokens")<TenantTokens, {
  /** The caller; `Unauthorized` for a missing or bad token, `ServiceUnavailable` when the store cannot be asked. */
  readonly authenticate: (bearer: Redacted.Redacted<string>) => Effect.Effect<PrincipalService, Unauthorized | ServiceUnavailable>
  /**
   * The caller when `authenticate` would answer it from the cache alone (a cached token, or a
   * valid agent token of a cached tenant) at `now`; `undefined` otherwise (then ask
   * `authenticate`). Synchronous, for hot paths that skip a fiber when they can. Optional.
   */
  readonly peek?: ((bearer: string, now: number) => PrincipalService | undefined) | undefined
}>() {}

/**
 * The token lookup over the engine, with the token cache of {@link HttpConfig}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTenantTokens: Layer.Layer<TenantTokens, never, Engine.Engine | HttpConfig> = Layer.effect(
  TenantTokens,
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const config = yield* HttpConfig
    const cache = makeTokenCache(config.tokenCacheMillis, config.tokenCacheSize)
    /** The tenant for a cache key: from the cache, else from `lookup` (cached when found). */
    const cached = <E>(key: string, lookup: Effect.Effect<Ids.TenantId | null, E>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const hit = cache.get(key, now)
        if (hit !== undefined) return Effect.succeed<Ids.TenantId | null>(hit)
        return Effect.tap(lookup, (tenantId) => {
          if (tenantId !== null) cache.set(key, tenantId, now)
        })
      })
    return TenantTokens.of({
      peek: (token, now) => {
        if (token.length === 0) return undefined
        if (Option.isSome(config.agentTokenSecret) && token.startsWith(agentTokenPrefix)) {
          const verified = verifyAgentToken(config.agentTokenSecret.value, token)
          if (Option.isNone(verified)) return undefined
          const tenantId = cache.get(`tenant\u0000${verified.value.tenantId}`, now)
          return tenantId === undefined ? undefined : { tenantId, agentId: verified.value.agentId }
        }
        const tenantId = cache.get(`token\u0000${hashToken(token)}`, now)
        return tenantId === undefined ? undefined : { tenantId, agentId: null }
      },
      authenticate: (bearer) =>
        Effect.gen(function*() {
          const token = Redacted.value(bearer)
          if (token.length === 0) return yield* Effect.fail(unauthorized("missing bearer token"))
          if (Option.isSome(config.agentTokenSecret) && token.startsWith(agentTokenPrefix)) {
            const verified = verifyAgentToken(config.agentTokenSecret.value, token)
            if (Option.isNone(verified)) return yield* Effect.fail(unauthorized("invalid agent token"))
            // The signature is checked on every request; only the tenant's existence is cached.
            const tenantId = yield* cached(
              `tenant\u0000${verified.value.tenantId}`,
              Effect.map(engine.getTenant(verified.value.tenantId), (tenant) => tenant.id)
            ).pipe(Effect.mapError((e) => e._tag === "StoreError" ? unavailable() : unauthorized("invalid agent token")))
            if (tenantId === null) return yield* Effect.fail(unauthorized("invalid agent token"))
            return { tenantId, agentId: verified.value.agentId }
          }
          const hash = hashToken(token)
          const tenantId = yield* cached(
            `token\u0000${hash}`,
            Effect.map(engine.authenticate(hash), (tenant) => (tenant === null ? null : tenant.id))
            // A store that does not answer is not a bad token: 503, so the agent retries.
          ).pipe(Effect.mapError(() => unavailable()))
          if (tenantId === null) return yield* Effect.fail(unauthorized("invalid token"))
          return { tenantId, agentId: null }
        })
    })
  })
)

/**
 * `TenantAuth` (the HttpApi security middleware) over {@link TenantTokens}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTenantAuth: Layer.Layer<TenantAuth, never, TenantTokens> = Layer.effect(
  TenantAuth,
  Effect.map(TenantTokens, (tokens) => TenantAuth.of({ tenantToken: tokens.authenticate }))
)

/**
 * Admin authentication: constant-time comparison with the configured admin token.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerAdminAuth: Layer.Layer<AdminAuth, never, HttpConfig> = Layer.effect(
  AdminAuth,
  Effect.gen(function*() {
    const config = yield* HttpConfig
    return AdminAuth.of({
      adminToken: (bearer) =>
        Option.match(config.adminToken, {
          onNone: () => Effect.fail(unauthorized("no admin token is configured on this server")),
          onSome: (expected) =>
            constantTimeEquals(Redacted.value(bearer), Redacted.value(expected))
              ? Effect.void
              : Effect.fail(unauthorized("invalid admin token"))
        })
    })
  })
)
