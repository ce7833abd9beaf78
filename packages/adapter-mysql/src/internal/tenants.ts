/** TenantStore on MySQL: the `tenants` and `tenant_tokens` tables, through the `SqlClient` (none of it is a hot path). */
import { EngineError, type TenantStore } from "@spotfleet/engine"
import { Effect, Option } from "effect"
import * as Errors from "./errors.js"
import * as Rows from "./rows.js"
import type { Run } from "./sqlRun.js"
import type { Transport } from "./transport.js"

const duplicate = (entity: string, key: string) => Effect.fail(new EngineError.DuplicateKey({ entity, key }))

/** The port on `transport`. */
export const make = ({ exec, query }: Transport, { run }: Run): TenantStore.TenantStoreService => ({
  create: (tenant) =>
    run(
      "createTenant",
      exec(`INSERT INTO tenants (${Rows.tenantColumns}) VALUES (?, ?, ?, ?, ?, ?)`, [
        tenant.id,
        tenant.name,
        tenant.limits.maxAgents,
        tenant.limits.maxInstances,
        tenant.dryRun,
        tenant.createdAt
      ]).pipe(
        Effect.catchIf(
          (e) => Errors.duplicateKeyName(e) !== null,
          (e) => duplicate("tenant", Errors.duplicateKeyName(e) === "uq_tenants_name" ? tenant.name : tenant.id)
        ),
        Effect.asVoid
      )
    ),
  get: (tenantId) =>
    run(
      "getTenant",
      Effect.flatMap(
        query(`SELECT ${Rows.tenantColumns} FROM tenants WHERE id = ?`, [tenantId]),
        (rows) => (rows.length === 0 ? Effect.succeed(Option.none()) : Effect.map(Rows.decodeTenant(rows[0]!), Option.some))
      )
    ),
  list: run(
    "listTenants",
    Effect.flatMap(query(`SELECT ${Rows.tenantColumns} FROM tenants ORDER BY created_at, id`), (rows) => Rows.decodeRows(rows, Rows.decodeTenant))
  ),
  update: (tenant) =>
    run(
      "updateTenant",
      exec("UPDATE tenants SET name = ?, max_agents = ?, max_instances = ?, dry_run = ? WHERE id = ?", [
        tenant.name,
        tenant.limits.maxAgents,
        tenant.limits.maxInstances,
        tenant.dryRun,
        tenant.id
      ]).pipe(
        // The port has no DuplicateKey here: a rename onto another tenant's name is a store failure.
        Effect.asVoid
      )
    ),
  addToken: (token) =>
    run(
      "addToken",
      exec("INSERT INTO tenant_tokens (token_hash, tenant_id, label, created_at) VALUES (?, ?, ?, ?)", [
        token.tokenHash,
        token.tenantId,
        token.label,
        token.createdAt
      ]).pipe(
        Effect.catchIf((e) => Errors.duplicateKeyName(e) !== null, () => duplicate("token", "(hidden)")),
        Effect.asVoid
      )
    ),
  findByTokenHash: (tokenHash) =>
    run(
      "findByTokenHash",
      Effect.flatMap(
        query(
          `SELECT ${Rows.tenantColumns.split(", ").map((c) => `t.${c}`).join(", ")} FROM tenant_tokens k ` +
            "JOIN tenants t ON t.id = k.tenant_id WHERE k.token_hash = ?",
          [tokenHash]
        ),
        (rows) => (rows.length === 0 ? Effect.succeed(Option.none()) : Effect.map(Rows.decodeTenant(rows[0]!), Option.some))
      )
    )
})
