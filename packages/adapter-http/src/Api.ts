/**
 * The HTTP API contract: endpoints, payloads, answers, errors and security. It holds no
 * implementation, so clients (agents, the dashboard, scripts) import it to derive a typed client
 * and the OpenAPI document is generated from it.
 *
 * Groups: `agents` (agent API v1, docs/DESIGN.md, "HTTP surface"), `admin` (tenants and tokens;
 * admin token), `dashboard` (one tenant's agents, instances, replicas, commands, switches, events;
 * tenant token), `events` (SSE) and `system` (`/health`, `/ready`, `/metrics`; no auth).
 *
 * The legacy v5 agent shares some paths with v1 (`/api/agents/register`, `…/heartbeat`,
 * `…/pricing-report`, `…/pending-commands`): v1 payloads accept unknown keys so those routes can
 * later take a union of both dialects.
 *
 * @since 0.1.0
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Agent, Command, DomainEvent, Engine, Ids, Instance, Pool, Tenant } from "@spotfleet/engine"
import { Schema } from "effect"
import {
  BadRequestWire,
  ConflictWire,
  ForbiddenWire,
  InternalErrorWire,
  NotFoundWire,
  PayloadTooLargeWire,
  RequestTimeoutWire,
  ServiceUnavailableWire,
  TooManyRequestsWire,
  UnsupportedMediaTypeWire,
  UnauthorizedWire
} from "./ApiError.js"
import { LegacyApi } from "./LegacyApi.js"
import { MetricsSummaryApi } from "./MetricsSummaryApi.js"
import { NotificationsApi } from "./NotificationsApi.js"
import { ModelsAdminApi, ModelsApi } from "./ModelsApi.js"
import { OpsAdminApi, OpsApi } from "./OpsApi.js"
import { PricingApi } from "./PricingApi.js"
import { AdminAuth, IdempotencyHeaders, RequestId, TenantAuth } from "./Security.js"

// Security and the idempotency key live in ./Security.js (group modules import them from there
// without a cycle through this module); re-exported here unchanged.
/** @since 0.1.0 */
export { AdminAuth, IdempotencyHeaders, Principal, type PrincipalService, RequestId, TenantAuth } from "./Security.js"

// ---------------------------------------------------------------------------------------------
// shared schemas
// ---------------------------------------------------------------------------------------------

/** A cloud instance id (`i-…`). @since 0.1.0 @category schemas */
export const CloudInstanceId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))

const Timestamp = Schema.DateTimeUtc.annotations({ description: "ISO 8601 date-time, e.g. 2026-11-26T20:52:41Z" })

const AgentPath = Schema.Struct({ agentId: Ids.AgentId })
const AgentCommandPath = Schema.Struct({ agentId: Ids.AgentId, commandId: Ids.CommandId })
const AgentInstancePath = Schema.Struct({ agentId: Ids.AgentId, instanceId: Ids.InstanceId })

// ---------------------------------------------------------------------------------------------
// agent API v1
// ---------------------------------------------------------------------------------------------

/** @since 0.1.0 @category schemas */
export const RegisterRequest = Schema.Struct({
  logicalAgentId: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255)),
  instanceId: CloudInstanceId,
  pool: Pool.PoolId,
  metadata: Schema.optional(Agent.AgentMetadata),
  config: Schema.optional(Agent.AgentConfigPatch),
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "RegisterRequest" })

/** @since 0.1.0 @category schemas */
export const RegisterResponse = Schema.Struct({
  agentId: Ids.AgentId,
  created: Schema.Boolean,
  agent: Agent.Agent,
  instance: Instance.Instance,
  /** Present when the server issues per-agent tokens: use it instead of the tenant token. */
  agentToken: Schema.optional(Schema.String)
}).annotations({ identifier: "RegisterResponse" })

/**
 * One instance of the agent's cloud inventory (the reconcile loop's observed state).
 *
 * @since 0.2.0
 * @category schemas
 */
export const InventoryInstance = Schema.Struct({
  instanceId: CloudInstanceId,
  /** The cloud's state name: pending, running, stopping, stopped, shutting-down, terminated. */
  state: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(32)))),
  /** The instance's pool (`[ondemand:]<type>.<zone>[~<product>]`, see `Pool`), when known. */
  pool: Schema.optional(Schema.NullOr(Pool.PoolId)),
  /** Its tags: `ManagedBy`, `spotfleet:agent-id`, `spotfleet:launch-token` tell our launches apart. */
  tags: Schema.optional(Schema.Record({ key: Schema.String.pipe(Schema.maxLength(128)), value: Schema.String.pipe(Schema.maxLength(256)) })),
  launchedAt: Schema.optional(Schema.NullOr(Timestamp))
}).annotations({ identifier: "InventoryInstance" })

/**
 * Every instance of the region the agent can see, managed or not. With `error` (the agent could
 * not list them) or no instances, it says nothing about what runs.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Inventory = Schema.Struct({
  instances: Schema.Array(InventoryInstance).pipe(Schema.maxItems(10_000)),
  error: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(4096))))
}).annotations({ identifier: "Inventory" })

/** @since 0.1.0 @category schemas */
export const HeartbeatRequest = Schema.Struct({
  instanceId: Schema.optional(CloudInstanceId),
  status: Schema.optional(Schema.String.pipe(Schema.maxLength(64))),
  /** Optional: the agent's cloud inventory, reconciled with what the engine believes (docs/STATE_MACHINE.md). */
  inventory: Schema.optional(Inventory),
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "HeartbeatRequest" })

/** @since 0.1.0 @category schemas */
export const CommandList = Schema.Struct({ commands: Schema.Array(Command.Command) }).annotations({ identifier: "CommandList" })

/** @since 0.1.0 @category schemas */
export const CommandExecutedRequest = Schema.Struct({
  success: Schema.Boolean,
  message: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(4096)))),
  instanceId: Schema.optional(Schema.NullOr(CloudInstanceId)),
  data: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "CommandExecutedRequest" })

/** @since 0.1.0 @category schemas */
export const RebalanceNoticeRequest = Schema.Struct({
  instanceId: CloudInstanceId,
  deadline: Schema.optional(Timestamp),
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "RebalanceNoticeRequest" })

/** @since 0.1.0 @category schemas */
export const TerminationNoticeRequest = Schema.Struct({
  instanceId: CloudInstanceId,
  terminationTime: Schema.optional(Timestamp),
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "TerminationNoticeRequest" })

/** @since 0.1.0 @category schemas */
export const PriceObservation = Schema.Struct({
  pool: Pool.PoolId,
  price: Schema.Number.pipe(Schema.finite(), Schema.nonNegative(), Schema.lessThan(10_000)),
  observedAt: Schema.optional(Timestamp)
}).annotations({ identifier: "PriceObservation" })

/** @since 0.1.0 @category schemas */
export const PricingReportRequest = Schema.Struct({
  instanceId: Schema.optional(CloudInstanceId),
  prices: Schema.Array(PriceObservation).pipe(Schema.minItems(1), Schema.maxItems(1000)),
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "PricingReportRequest" })

/** @since 0.1.0 @category schemas */
export const ReportAccepted = Schema.Struct({
  accepted: Schema.Int,
  eventIds: Schema.Array(Schema.Int)
}).annotations({ identifier: "ReportAccepted" })

/** @since 0.1.0 @category schemas */
export const SwitchReportRequest = Schema.Struct({
  fromInstanceId: CloudInstanceId,
  toInstanceId: CloudInstanceId,
  fromPool: Schema.optional(Pool.PoolId),
  toPool: Schema.optional(Pool.PoolId),
  downtimeSeconds: Schema.optional(Schema.Number.pipe(Schema.finite(), Schema.nonNegative())),
  startedAt: Schema.optional(Timestamp),
  completedAt: Schema.optional(Timestamp),
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "SwitchReportRequest" })

/** @since 0.1.0 @category schemas */
export const InstanceLaunchedRequest = Schema.Struct({
  instanceId: CloudInstanceId,
  commandId: Schema.optional(Ids.CommandId),
  commandRequestId: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255))),
  tempInstanceId: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))),
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "InstanceLaunchedRequest" })

/** @since 0.1.0 @category schemas */
export const InstanceTerminatedRequest = Schema.Struct({
  instanceId: CloudInstanceId,
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "InstanceTerminatedRequest" })

/** @since 0.1.0 @category schemas */
export const AgentConfigResponse = Schema.Struct({
  agentId: Ids.AgentId,
  config: Agent.AgentConfig,
  configVersion: Schema.Int
}).annotations({ identifier: "AgentConfigResponse" })

/**
 * Agent API v1.
 *
 * @since 0.1.0
 * @category groups
 */
export class AgentsApi extends HttpApiGroup.make("agents")
  .add(
    HttpApiEndpoint.post("register", "/agents/register")
      .setPayload(RegisterRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(RegisterResponse)
      .annotate(OpenApi.Summary, "Register an agent (or re-register it on a new instance)")
  )
  .add(
    HttpApiEndpoint.post("heartbeat", "/agents/:agentId/heartbeat")
      .setPath(AgentPath)
      .setPayload(HeartbeatRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Engine.HeartbeatResult)
      .annotate(OpenApi.Summary, "Heartbeat: marks the agent online and reconciles its inventory when it sends one; 404 for an unknown agent (register again)")
  )
  .add(
    HttpApiEndpoint.get("pendingCommands", "/agents/:agentId/pending-commands")
      .setPath(AgentPath)
      .addSuccess(CommandList)
      .annotate(OpenApi.Summary, "Commands to run now, highest priority first; each is leased to the caller")
  )
  .add(
    HttpApiEndpoint.post("commandExecuted", "/agents/:agentId/commands/:commandId/executed")
      .setPath(AgentCommandPath)
      .setPayload(CommandExecutedRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Command.Command)
      .annotate(OpenApi.Summary, "Report the result of a command")
  )
  .add(
    HttpApiEndpoint.post("rebalanceNotice", "/agents/:agentId/rebalance-notice")
      .setPath(AgentPath)
      .setPayload(RebalanceNoticeRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Engine.AgentView)
      .annotate(OpenApi.Summary, "The cloud recommends rebalancing this instance")
  )
  .add(
    HttpApiEndpoint.post("terminationNotice", "/agents/:agentId/termination-notice")
      .setPath(AgentPath)
      .setPayload(TerminationNoticeRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Engine.AgentView)
      .annotate(OpenApi.Summary, "The cloud will reclaim this instance (about two minutes)")
  )
  .add(
    HttpApiEndpoint.post("pricingReport", "/agents/:agentId/pricing-report")
      .setPath(AgentPath)
      .setPayload(PricingReportRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(ReportAccepted)
      .annotate(OpenApi.Summary, "Spot and on-demand prices observed by the agent")
  )
  .add(
    HttpApiEndpoint.post("switchReport", "/agents/:agentId/switch-report")
      .setPath(AgentPath)
      .setPayload(SwitchReportRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(ReportAccepted)
      .annotate(OpenApi.Summary, "Timings of a switch as the agent saw them (downtime)")
  )
  .add(
    HttpApiEndpoint.post("instanceLaunched", "/agents/:agentId/instances/launched")
      .setPath(AgentPath)
      .setPayload(InstanceLaunchedRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Engine.AgentView)
      .annotate(OpenApi.Summary, "A launched instance is running")
  )
  .add(
    HttpApiEndpoint.post("instanceTerminated", "/agents/:agentId/instances/terminated")
      .setPath(AgentPath)
      .setPayload(InstanceTerminatedRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Engine.AgentView)
      .annotate(OpenApi.Summary, "An instance is gone")
  )
  .add(
    HttpApiEndpoint.get("getConfig", "/agents/:agentId/config")
      .setPath(AgentPath)
      .addSuccess(AgentConfigResponse)
      .annotate(OpenApi.Summary, "The agent's configuration and its version")
  )
  .middleware(TenantAuth)
  .prefix("/api")
  .annotate(OpenApi.Title, "Agent API v1")
{}

// ---------------------------------------------------------------------------------------------
// admin (operator) API
// ---------------------------------------------------------------------------------------------

/** @since 0.1.0 @category schemas */
export const CreateTenantRequest = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))
}).annotations({ identifier: "CreateTenantRequest" })

/** @since 0.1.0 @category schemas */
export const CreatedTenant = Schema.Struct({
  id: Ids.TenantId,
  name: Schema.String,
  /** The tenant's API token. It is shown only here: the server keeps its hash. */
  token: Schema.String
}).annotations({ identifier: "CreatedTenant" })

/** @since 0.1.0 @category schemas */
export const CreateTokenRequest = Schema.Struct({
  label: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))
}).annotations({ identifier: "CreateTokenRequest" })

/** @since 0.1.0 @category schemas */
export const CreatedToken = Schema.Struct({
  tenantId: Ids.TenantId,
  label: Schema.String,
  token: Schema.String
}).annotations({ identifier: "CreatedToken" })

/** @since 0.1.0 @category schemas */
export const TenantList = Schema.Struct({ tenants: Schema.Array(Tenant.Tenant) }).annotations({ identifier: "TenantList" })

/**
 * Tenants and their tokens (admin token).
 *
 * @since 0.1.0
 * @category groups
 */
export class AdminApi extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.post("createTenant", "/admin/tenants")
      .setPayload(CreateTenantRequest)
      .addSuccess(CreatedTenant, { status: 201 })
      .annotate(OpenApi.Summary, "Create a tenant; its API token is in the answer and shown only once")
  )
  .add(HttpApiEndpoint.get("listTenants", "/admin/tenants").addSuccess(TenantList))
  .add(
    HttpApiEndpoint.post("createToken", "/admin/tenants/:tenantId/tokens")
      .setPath(Schema.Struct({ tenantId: Ids.TenantId }))
      .setPayload(CreateTokenRequest)
      .addSuccess(CreatedToken, { status: 201 })
      .annotate(OpenApi.Summary, "Issue another API token for a tenant (shown only once)")
  )
  .middleware(AdminAuth)
  .prefix("/api")
{}

// ---------------------------------------------------------------------------------------------
// dashboard (tenant-scoped) API
// ---------------------------------------------------------------------------------------------

/** @since 0.1.0 @category schemas */
export const AgentList = Schema.Struct({ agents: Schema.Array(Agent.Agent) }).annotations({ identifier: "AgentList" })

/** @since 0.1.0 @category schemas */
export const InstanceList = Schema.Struct({ instances: Schema.Array(Instance.Instance) }).annotations({ identifier: "InstanceList" })

/** @since 0.1.0 @category schemas */
export const UpdateConfigRequest = Schema.extend(
  Agent.AgentConfigPatch,
  Schema.Struct({ request_id: Schema.optional(RequestId) })
).annotations({ identifier: "UpdateConfigRequest" })

/** @since 0.1.0 @category schemas */
export const RequestReplicaRequest = Schema.Struct({
  pool: Schema.optional(Pool.PoolId),
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "RequestReplicaRequest" })

/** @since 0.1.0 @category schemas */
export const SwitchRequest = Schema.Struct({
  pool: Pool.PoolId,
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "SwitchRequest" })

/** @since 0.1.0 @category schemas */
export const EmptyRequest = Schema.Struct({
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "EmptyRequest" })

/** @since 0.1.0 @category schemas */
export const EventQuery = Schema.Struct({
  after: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000))),
  agentId: Schema.optional(Ids.AgentId)
})

/** @since 0.1.0 @category schemas */
export const EventPage = Schema.Struct({
  events: Schema.Array(DomainEvent.DomainEvent),
  /** Pass as `after` to read on. */
  lastId: Schema.Int
}).annotations({ identifier: "EventPage" })

/**
 * One tenant's agents, instances, replicas, commands, switches and events (tenant token).
 * Another tenant's ids are answered with 404, exactly like unknown ones.
 *
 * @since 0.1.0
 * @category groups
 */
export class DashboardApi extends HttpApiGroup.make("dashboard")
  .add(HttpApiEndpoint.get("currentTenant", "/tenant").addSuccess(Tenant.Tenant))
  .add(HttpApiEndpoint.get("listAgents", "/agents").addSuccess(AgentList))
  .add(HttpApiEndpoint.get("getAgent", "/agents/:agentId").setPath(AgentPath).addSuccess(Engine.AgentView))
  .add(
    HttpApiEndpoint.patch("updateConfig", "/agents/:agentId/config")
      .setPath(AgentPath)
      .setPayload(UpdateConfigRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Engine.AgentView)
      .annotate(OpenApi.Summary, "Change the configuration (autoSwitch and manualReplica are never both on)")
  )
  .add(HttpApiEndpoint.get("listInstances", "/agents/:agentId/instances").setPath(AgentPath).addSuccess(InstanceList))
  .add(HttpApiEndpoint.get("listCommands", "/agents/:agentId/commands").setPath(AgentPath).addSuccess(CommandList))
  .add(
    HttpApiEndpoint.post("requestReplica", "/agents/:agentId/replicas")
      .setPath(AgentPath)
      .setPayload(RequestReplicaRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Engine.AgentView)
  )
  .add(
    HttpApiEndpoint.del("removeReplica", "/agents/:agentId/replicas/:instanceId")
      .setPath(AgentInstancePath)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Engine.AgentView)
  )
  .add(
    HttpApiEndpoint.post("promote", "/agents/:agentId/instances/:instanceId/promote")
      .setPath(AgentInstancePath)
      .setPayload(EmptyRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Engine.AgentView)
  )
  .add(
    HttpApiEndpoint.post("switchPool", "/agents/:agentId/switch")
      .setPath(AgentPath)
      .setPayload(SwitchRequest)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Engine.AgentView)
      .annotate(OpenApi.Summary, "Manual switch: launch in the target pool, promote, retire the old PRIMARY")
  )
  .add(
    HttpApiEndpoint.get("listEvents", "/events")
      .setUrlParams(EventQuery)
      .addSuccess(EventPage)
      .annotate(OpenApi.Summary, "The tenant's event log after an id (audit trail)")
  )
  .middleware(TenantAuth)
  .prefix("/api")
{}

// ---------------------------------------------------------------------------------------------
// events (SSE)
// ---------------------------------------------------------------------------------------------

/**
 * The `text/event-stream` body: one `id:` (event log id) / `event:` (event type) / `data:`
 * (a JSON {@link DomainEvent.DomainEvent}) block per event, `:` keep-alive comments between.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventStreamBody = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" })
).annotations({ description: "Server-sent events; each data line is a JSON DomainEvent" })

/**
 * The tenant's live event stream. Resume with `Last-Event-ID` (or `?after=<id>`); without
 * either the stream starts at the newest event.
 *
 * @since 0.1.0
 * @category groups
 */
export class EventsApi extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("stream", "/events/stream")
      .setHeaders(Schema.Struct({ "last-event-id": Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())) }))
      .setUrlParams(Schema.Struct({ after: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())) }))
      .addSuccess(EventStreamBody)
      .annotate(OpenApi.Summary, "Server-sent events of the tenant's event log")
  )
  .middleware(TenantAuth)
  .prefix("/api")
{}

// ---------------------------------------------------------------------------------------------
// system
// ---------------------------------------------------------------------------------------------

/** @since 0.1.0 @category schemas */
export const HealthStatus = Schema.Struct({ status: Schema.Literal("ok", "ready") }).annotations({ identifier: "HealthStatus" })

/** @since 0.1.0 @category schemas */
export const MetricsBody = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain; version=0.0.4; charset=utf-8" })
).annotations({ description: "Prometheus text exposition format" })

/**
 * Liveness, readiness (the store answers) and Prometheus metrics. No authentication.
 *
 * @since 0.1.0
 * @category groups
 */
export class SystemApi extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(HealthStatus))
  .add(HttpApiEndpoint.get("ready", "/ready").addSuccess(HealthStatus))
  .add(HttpApiEndpoint.get("metrics", "/metrics").addSuccess(MetricsBody))
{}

/**
 * The whole API.
 *
 * @since 0.1.0
 * @category api
 */
export class Api extends HttpApi.make("spotfleet")
  .add(AgentsApi)
  .add(AdminApi)
  .add(DashboardApi)
  .add(EventsApi)
  .add(SystemApi)
  .add(OpsAdminApi).add(OpsApi)
  .add(PricingApi)
  .add(MetricsSummaryApi)
  .add(NotificationsApi)
  .add(ModelsApi).add(ModelsAdminApi)
  .add(LegacyApi)
  .addError(BadRequestWire)
  .addError(UnauthorizedWire)
  .addError(ForbiddenWire)
  .addError(NotFoundWire)
  .addError(ConflictWire)
  .addError(RequestTimeoutWire)
  .addError(PayloadTooLargeWire)
  .addError(UnsupportedMediaTypeWire)
  .addError(TooManyRequestsWire)
  .addError(InternalErrorWire)
  .addError(ServiceUnavailableWire)
  .annotate(OpenApi.Title, "spotfleet")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(
    OpenApi.Description,
    "Control plane for cloud VM fleets on spot capacity: agent API v1, tenant dashboard API, admin API, server-sent events and metrics. Every error is {error:{code,message,details}}."
  )
{}
