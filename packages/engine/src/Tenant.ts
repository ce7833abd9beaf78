/**
 * Tenants (clients): isolated owners of agents.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { TenantId } from "./Ids.js"

/**
 * Per-tenant limits.
 *
 * @since 0.1.0
 * @category models
 */
export class TenantLimits extends Schema.Class<TenantLimits>("TenantLimits")({
  maxAgents: Schema.Int.pipe(Schema.positive()),
  maxInstances: Schema.Int.pipe(Schema.positive())
}) {}

/** @since 0.1.0 @category constructors */
export const defaultLimits: TenantLimits = TenantLimits.make({ maxAgents: 10_000, maxInstances: 40_000 })

/**
 * A tenant. Its API tokens are stored only as hashes (the transport hashes them).
 *
 * @since 0.1.0
 * @category models
 */
export class Tenant extends Schema.Class<Tenant>("Tenant")({
  id: TenantId,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  limits: TenantLimits,
  /** Decisions are logged but never queue commands. */
  dryRun: Schema.Boolean,
  createdAt: Schema.Number
}) {}

/**
 * A stored API token: only its hash is kept.
 *
 * @since 0.1.0
 * @category models
 */
export class TenantToken extends Schema.Class<TenantToken>("TenantToken")({
  tenantId: TenantId,
  tokenHash: Schema.String.pipe(Schema.minLength(16)),
  label: Schema.String,
  createdAt: Schema.Number
}) {}
