/**
 * Security of the HTTP API: the authenticated caller and the two bearer schemes (tenant or
 * per-agent token, admin token), plus the idempotency key schemas every group shares. Kept apart
 * from `Api` so that group modules composed into `Api` can import them without a module cycle;
 * `Api` re-exports everything here.
 *
 * @since 0.1.0
 */
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import type { Ids } from "@spotfleet/engine"
import { Context, Schema } from "effect"
import { ServiceUnavailableWire, UnauthorizedWire } from "./ApiError.js"

/**
 * Who is calling: a tenant (tenant API token) or one agent of a tenant (per-agent token).
 *
 * @since 0.1.0
 * @category models
 */
export interface PrincipalService {
  readonly tenantId: Ids.TenantId
  /** Set when a per-agent token was used: the caller may act only for this agent. */
  readonly agentId: Ids.AgentId | null
}

/**
 * The authenticated caller of tenant-scoped routes.
 *
 * @since 0.1.0
 * @category tags
 */
export class Principal extends Context.Tag("@spotfleet/adapter-http/Principal")<Principal, PrincipalService>() {}

/**
 * Tenant API token (or a per-agent token) as `Authorization: Bearer <token>`. A bad token is a
 * 401; a store that cannot be asked about the token is a 503 (the caller should retry).
 *
 * @since 0.1.0
 * @category security
 */
export class TenantAuth extends HttpApiMiddleware.Tag<TenantAuth>()("TenantAuth", {
  failure: Schema.Union(UnauthorizedWire, ServiceUnavailableWire),
  provides: Principal,
  security: { tenantToken: HttpApiSecurity.bearer }
}) {}

/**
 * The operator's admin token (from the server configuration) as `Authorization: Bearer <token>`.
 *
 * @since 0.1.0
 * @category security
 */
export class AdminAuth extends HttpApiMiddleware.Tag<AdminAuth>()("AdminAuth", {
  failure: UnauthorizedWire,
  security: { adminToken: HttpApiSecurity.bearer }
}) {}

/**
 * An idempotency key: a repeat with the same key returns the first answer and changes nothing.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RequestId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255))

/**
 * `X-Request-ID`, the header form of the idempotency key (the body form is `request_id`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const IdempotencyHeaders = Schema.Struct({ "x-request-id": Schema.optional(RequestId) })
