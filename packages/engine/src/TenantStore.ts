/**
 * Port: tenants and their hashed API tokens.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Option } from "effect"
import type { DuplicateKey, StoreError } from "./EngineError.js"
import type { TenantId } from "./Ids.js"
import type { Tenant, TenantToken } from "./Tenant.js"

/**
 * The tenant store port.
 *
 * @since 0.1.0
 * @category models
 */
export interface TenantStoreService {
  /** Creates a tenant; DuplicateKey when the id or name exists. */
  readonly create: (tenant: Tenant) => Effect.Effect<void, DuplicateKey | StoreError>
  readonly get: (tenantId: TenantId) => Effect.Effect<Option.Option<Tenant>, StoreError>
  readonly list: Effect.Effect<ReadonlyArray<Tenant>, StoreError>
  readonly update: (tenant: Tenant) => Effect.Effect<void, StoreError>
  /** Stores a token hash; DuplicateKey when the hash exists. */
  readonly addToken: (token: TenantToken) => Effect.Effect<void, DuplicateKey | StoreError>
  readonly findByTokenHash: (tokenHash: string) => Effect.Effect<Option.Option<Tenant>, StoreError>
}

/**
 * The tenant store tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class TenantStore extends Context.Tag("@spotfleet/engine/TenantStore")<TenantStore, TenantStoreService>() {}
