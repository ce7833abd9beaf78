/**
 * Tokens: generation, hashing (SHA-256; only hashes reach the store), constant-time comparison,
 * per-agent tokens (HMAC of tenant and agent id, nothing stored), and the security middleware of
 * {@link Api.TenantAuth} and {@link Api.AdminAuth}.
 *
 * @since 0.1.0
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { Engine, Ids } from "@spotfleet/engine"
import { Effect, Layer, Option, Redacted } from "effect"
import { Unauthorized } from "./ApiError.js"
import { AdminAuth, TenantAuth } from "./Api.js"
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
export const hashToken = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex")

/**
 * Compares two secrets in time independent of where they differ (both are hashed first, so
 * lengths never leak either).
 *
 * @since 0.1.0
 * @category tokens
 */
export const constantTimeEquals = (a: string, b: string): boolean =>
  timingSafeEqual(createHash("sha256").update(a, "utf8").digest(), createHash("sha256").update(b, "utf8").digest())

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

/**
 * Tenant authentication: the bearer token's hash is looked up in the store (a tenant token), or
 * a per-agent token is verified (when a secret is configured).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTenantAuth: Layer.Layer<TenantAuth, never, Engine.Engine | HttpConfig> = Layer.effect(
  TenantAuth,
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const config = yield* HttpConfig
    return TenantAuth.of({
      tenantToken: (bearer) =>
        Effect.gen(function*() {
          const token = Redacted.value(bearer)
          if (token.length === 0) return yield* Effect.fail(unauthorized("missing bearer token"))
          if (Option.isSome(config.agentTokenSecret) && token.startsWith(agentTokenPrefix)) {
            const verified = verifyAgentToken(config.agentTokenSecret.value, token)
            if (Option.isNone(verified)) return yield* Effect.fail(unauthorized("invalid agent token"))
            const tenant = yield* engine.getTenant(verified.value.tenantId).pipe(
              Effect.mapError(() => unauthorized("invalid agent token"))
            )
            return { tenantId: tenant.id, agentId: verified.value.agentId }
          }
          const tenant = yield* engine.authenticate(hashToken(token)).pipe(
            Effect.mapError(() => unauthorized("credentials could not be checked"))
          )
          if (tenant === null) return yield* Effect.fail(unauthorized("invalid token"))
          return { tenantId: tenant.id, agentId: null }
        })
    })
  })
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
