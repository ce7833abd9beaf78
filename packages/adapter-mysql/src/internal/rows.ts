/**
 * Row ⇄ domain conversions. Rows are turned into the encoded form of the domain classes and
 * decoded through their Schema, so a row that does not satisfy the domain's rules is reported
 * (as a StoreError) instead of leaking into the engine.
 */
import { Agent, Command, DomainEvent, EngineError, IdempotencyStore, Instance, Tenant } from "@spotfleet/engine"
import { Either, ParseResult, Schema } from "effect"

type Row = Record<string, unknown>

/** JSON columns are selected as text (`CAST(col AS CHAR)`), so MySQL 8 and MariaDB read alike. */
const json = (value: unknown): unknown => (value === null || value === undefined ? null : JSON.parse(String(value)))
const bool = (value: unknown): boolean => value === true || value === 1 || value === "1"
const num = (value: unknown): number => (typeof value === "number" ? value : Number(value))
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : num(value))

/** JSON text for a JSON column (null stays SQL NULL). */
export const toJson = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value))

/** JSON text for a column that always holds a value (JSON `null` included). */
export const toJsonValue = (value: unknown): string => JSON.stringify(value === undefined ? null : value)

/**
 * A row decoder. Synchronous (an `Either`, which is an Effect too): the job reads decode tens of
 * thousands of rows at once, and an Effect per row cost several times the decoding itself.
 */
export const decoderOf = <A, I>(schema: Schema.Schema<A, I>, what: string) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (encoded: unknown): Either.Either<A, EngineError.StoreError> =>
    Either.mapLeft(decode(encoded), (e) =>
      new EngineError.StoreError({
        operation: "decode",
        reason: `a stored ${what} is not valid: ${ParseResult.TreeFormatter.formatErrorSync(e).split("\n")[0]}`
      }))
}

/** Decodes rows in one synchronous loop: all of them, or the first row's failure. */
export const decodeRows = <A>(rows: ReadonlyArray<Row>, f: (r: Row) => Either.Either<A, EngineError.StoreError>): Either.Either<Array<A>, EngineError.StoreError> => {
  const out = new Array<A>(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const decoded = f(rows[i]!)
    if (Either.isLeft(decoded)) return Either.left(decoded.left)
    out[i] = decoded.right
  }
  return Either.right(out)
}

/** Select lists (JSON columns as text). */
export const agentColumns =
  "id, tenant_id, logical_agent_id, auto_switch, manual_replica, auto_terminate, terminate_wait_seconds, enabled, " +
  "min_savings_percent, risk_threshold, max_switches_per_day, max_switches_per_week, min_pool_duration_hours, " +
  "config_version, liveness, last_heartbeat_at, CAST(notice AS CHAR) AS notice, degraded, CAST(flow AS CHAR) AS flow, " +
  "CAST(metadata AS CHAR) AS metadata, created_at, version"

export const instanceColumns =
  "id, agent_id, cloud_instance_id, pool, lifecycle, role, role_hint, launch_command_id, launch_requested_at, " +
  "launch_confirmed_at, promoted_at, demoted_at, terminated_at, hourly_price, created_at, termination_confirmed_at, " +
  "termination_notice_at"

export const commandColumns =
  "id, request_id, tenant_id, agent_id, type, status, priority, flow_id, instance_id, CAST(params AS CHAR) AS params, " +
  "created_at, not_before, expires_at, delivered_at, lease_expires_at, deliveries, completed_at, " +
  "CAST(result AS CHAR) AS result, seq"

export const eventColumns = "id, tenant_id, agent_id, type, at, actor_kind, actor_id, CAST(data AS CHAR) AS data"

export const tenantColumns = "id, name, max_agents, max_instances, dry_run, created_at"

const decodeAgentValue = decoderOf(Agent.Agent, "agent")
export const decodeAgent = (r: Row) =>
  decodeAgentValue({
    id: r.id,
    tenantId: r.tenant_id,
    logicalAgentId: r.logical_agent_id,
    config: {
      autoSwitch: bool(r.auto_switch),
      manualReplica: bool(r.manual_replica),
      autoTerminate: bool(r.auto_terminate),
      terminateWaitSeconds: num(r.terminate_wait_seconds),
      enabled: bool(r.enabled),
      minSavingsPercent: num(r.min_savings_percent),
      riskThreshold: num(r.risk_threshold),
      maxSwitchesPerDay: num(r.max_switches_per_day),
      maxSwitchesPerWeek: num(r.max_switches_per_week),
      minPoolDurationHours: num(r.min_pool_duration_hours)
    },
    configVersion: num(r.config_version),
    liveness: r.liveness,
    lastHeartbeatAt: numOrNull(r.last_heartbeat_at),
    notice: json(r.notice),
    degraded: bool(r.degraded),
    flow: json(r.flow),
    metadata: json(r.metadata),
    createdAt: num(r.created_at),
    version: num(r.version)
  })

const encodeAgentValue = Schema.encodeSync(Agent.Agent)
/** Column values of an agent row, in `agentWriteColumns` order. */
export const agentWriteColumns = [
  "tenant_id",
  "logical_agent_id",
  "auto_switch",
  "manual_replica",
  "auto_terminate",
  "terminate_wait_seconds",
  "enabled",
  "min_savings_percent",
  "risk_threshold",
  "max_switches_per_day",
  "max_switches_per_week",
  "min_pool_duration_hours",
  "config_version",
  "liveness",
  "notice",
  "degraded",
  "flow",
  "metadata",
  "created_at",
  "version"
] as const
export const agentValues = (agent: Agent.Agent): ReadonlyArray<unknown> => {
  const e = encodeAgentValue(agent)
  return [
    e.tenantId,
    e.logicalAgentId,
    e.config.autoSwitch,
    e.config.manualReplica,
    e.config.autoTerminate,
    e.config.terminateWaitSeconds,
    e.config.enabled,
    e.config.minSavingsPercent,
    e.config.riskThreshold,
    e.config.maxSwitchesPerDay,
    e.config.maxSwitchesPerWeek,
    e.config.minPoolDurationHours,
    e.configVersion,
    e.liveness,
    toJson(e.notice),
    e.degraded,
    toJson(e.flow),
    toJsonValue(e.metadata),
    e.createdAt,
    e.version
  ]
}

const decodeInstanceValue = decoderOf(Instance.Instance, "instance")
export const decodeInstance = (r: Row) =>
  decodeInstanceValue({
    id: r.id,
    agentId: r.agent_id,
    cloudInstanceId: r.cloud_instance_id,
    pool: r.pool,
    lifecycle: r.lifecycle,
    role: r.role,
    roleHint: r.role_hint,
    launchCommandId: r.launch_command_id,
    launchRequestedAt: numOrNull(r.launch_requested_at),
    launchConfirmedAt: numOrNull(r.launch_confirmed_at),
    promotedAt: numOrNull(r.promoted_at),
    demotedAt: numOrNull(r.demoted_at),
    terminatedAt: numOrNull(r.terminated_at),
    hourlyPrice: numOrNull(r.hourly_price),
    createdAt: num(r.created_at),
    terminationConfirmedAt: numOrNull(r.termination_confirmed_at),
    terminationNoticeAt: numOrNull(r.termination_notice_at)
  })

export const instanceWriteColumns = [
  "agent_id",
  "tenant_id",
  "cloud_instance_id",
  "pool",
  "lifecycle",
  "role",
  "role_hint",
  "launch_command_id",
  "launch_requested_at",
  "launch_confirmed_at",
  "promoted_at",
  "demoted_at",
  "terminated_at",
  "hourly_price",
  "created_at",
  "termination_confirmed_at",
  "termination_notice_at"
] as const
export const instanceValues = (i: Instance.Instance, tenantId: string): ReadonlyArray<unknown> => [
  i.agentId,
  tenantId,
  i.cloudInstanceId,
  i.pool,
  i.lifecycle,
  i.role,
  i.roleHint,
  i.launchCommandId,
  i.launchRequestedAt,
  i.launchConfirmedAt,
  i.promotedAt,
  i.demotedAt,
  i.terminatedAt,
  i.hourlyPrice,
  i.createdAt,
  i.terminationConfirmedAt,
  i.terminationNoticeAt
]

const decodeCommandValue = decoderOf(Command.Command, "command")
export const decodeCommand = (r: Row) =>
  decodeCommandValue({
    id: r.id,
    requestId: r.request_id,
    tenantId: r.tenant_id,
    agentId: r.agent_id,
    type: r.type,
    status: r.status,
    priority: num(r.priority),
    flowId: r.flow_id,
    instanceId: r.instance_id,
    params: json(r.params),
    createdAt: num(r.created_at),
    notBefore: num(r.not_before),
    expiresAt: numOrNull(r.expires_at),
    deliveredAt: numOrNull(r.delivered_at),
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    deliveries: num(r.deliveries),
    completedAt: numOrNull(r.completed_at),
    result: json(r.result),
    seq: num(r.seq)
  })

const encodeCommandValue = Schema.encodeSync(Command.Command)
export const commandWriteColumns = [
  "request_id",
  "tenant_id",
  "agent_id",
  "type",
  "status",
  "priority",
  "flow_id",
  "instance_id",
  "params",
  "created_at",
  "not_before",
  "expires_at",
  "delivered_at",
  "lease_expires_at",
  "deliveries",
  "completed_at",
  "result",
  "seq"
] as const
export const commandValues = (c: Command.Command): ReadonlyArray<unknown> => {
  const e = encodeCommandValue(c)
  return [
    e.requestId,
    e.tenantId,
    e.agentId,
    e.type,
    e.status,
    e.priority,
    e.flowId,
    e.instanceId,
    toJsonValue(e.params),
    e.createdAt,
    e.notBefore,
    e.expiresAt,
    e.deliveredAt,
    e.leaseExpiresAt,
    e.deliveries,
    e.completedAt,
    toJson(e.result),
    e.seq
  ]
}

const decodeEventValue = decoderOf(DomainEvent.DomainEvent, "event")
export const decodeEvent = (r: Row) =>
  decodeEventValue({
    id: num(r.id),
    tenantId: r.tenant_id,
    agentId: r.agent_id,
    type: r.type,
    at: num(r.at),
    actor: { kind: r.actor_kind, id: r.actor_id },
    data: json(r.data)
  })

/**
 * Encoded event values in `eventWriteColumns` order. Every field of a draft encodes to itself
 * (strings, literals, numbers, a record of unknown values), so they are read straight off the
 * (already validated) draft: events are written on every price report.
 */
export const eventWriteColumns = ["tenant_id", "agent_id", "type", "at", "actor_kind", "actor_id", "data"] as const
export const eventValues = (d: DomainEvent.EventDraft): ReadonlyArray<unknown> =>
  [d.tenantId, d.agentId, d.type, d.at, d.actor.kind, d.actor.id, toJsonValue(d.data)]
/** The stored event for a (validated) draft once its (positive integer) id is known: nothing to validate again. */
export const eventOf = (d: DomainEvent.EventDraft, id: number): DomainEvent.DomainEvent =>
  new DomainEvent.DomainEvent({ id, tenantId: d.tenantId, agentId: d.agentId, type: d.type, at: d.at, actor: d.actor, data: d.data }, true)

const decodeTenantValue = decoderOf(Tenant.Tenant, "tenant")
export const decodeTenant = (r: Row) =>
  decodeTenantValue({
    id: r.id,
    name: r.name,
    limits: { maxAgents: num(r.max_agents), maxInstances: num(r.max_instances) },
    dryRun: bool(r.dry_run),
    createdAt: num(r.created_at)
  })

const decodeIdempotencyValue = decoderOf(IdempotencyStore.IdempotencyRecord, "idempotency record")
export const decodeIdempotency = (r: Row) =>
  decodeIdempotencyValue({
    tenantId: r.tenant_id,
    key: r.idem_key,
    operation: r.operation,
    response: json(r.response),
    createdAt: num(r.created_at)
  })
