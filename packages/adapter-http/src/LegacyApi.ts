/**
 * The legacy agent dialect (the Python agent v5, `agent_version` "5.0.1-production"): its routes
 * and the exact shapes that agent sends and needs, as an `HttpApi` group, served beside agent API
 * v1 and mapped onto the same engine operations by `LegacyLive`.
 *
 * Paths only the legacy agent uses are served where it calls them (`/api/agents/{id}/action-result`,
 * `/commands/pending`, `/instance-launched`, `/instance-terminated`, `/termination-report`,
 * `/rebalance-recommendation`, `/shutdown`). Four paths are shared with v1 (`/api/agents/register`,
 * `…/heartbeat`, `…/pricing-report`, `…/pending-commands`): the legacy group serves them under
 * `/api/v5/agents/…`, and `LegacyLive`'s dispatch sends a legacy-dialect call on a shared path
 * there (by what only the legacy dialect sends), so both dialects keep their exact shapes.
 *
 * Every payload accepts nulls and unknown keys; timestamps without a zone are UTC.
 *
 * Authentication is v1's: the tenant token (or a per-agent token) as a bearer token.
 *
 * @since 0.1.0
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Command, Ids } from "@spotfleet/engine"
import { Schema } from "effect"
import { TenantAuth } from "./Security.js"

// ---------------------------------------------------------------------------------------------
// schemas
// ---------------------------------------------------------------------------------------------

const Text = (max: number) => Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(max))))
const Json = Schema.Record({ key: Schema.String, value: Schema.Unknown })
const Timestamp = Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(64)))).annotations({
  description: "ISO 8601; without a zone (e.g. 2026-11-26T20:52:41.779922) it is UTC"
})

/** @since 0.1.0 @category schemas */
export const LegacyRegisterRequest = Schema.Struct({
  cloud_account: Text(255),
  project_id: Text(255),
  region: Text(64),
  hostname: Text(255),
  agent_version: Text(64),
  /** The EC2 instance the agent runs on; null when the metadata service was unreachable. */
  instance_id: Text(128),
  instance_type: Text(64),
  az: Text(64),
  ami_id: Text(128),
  /** Always "unknown". */
  mode: Text(64),
  /** The EC2 instance id (or null). */
  logical_agent_id: Text(255)
}).annotations({ identifier: "LegacyRegisterRequest" })

/** @since 0.1.0 @category schemas */
export const LegacyAgentConfig = Schema.Struct({
  auto_switch_enabled: Schema.Boolean,
  auto_terminate_enabled: Schema.Boolean
}).annotations({ identifier: "LegacyAgentConfig" })

/** @since 0.1.0 @category schemas */
export const LegacyRegisterResponse = Schema.Struct({
  success: Schema.Boolean,
  /** Non-empty. When the agent could not be placed (no instance id, type or zone), an id that is not registered: its heartbeats are answered 200 with `status: "unknown"`. */
  agent_id: Schema.String,
  registered: Schema.Boolean,
  created: Schema.Boolean,
  config: LegacyAgentConfig,
  message: Schema.optional(Schema.String)
}).annotations({ identifier: "LegacyRegisterResponse" })

/** @since 0.1.0 @category schemas */
export const LegacyInventoryInstance = Schema.Struct({
  instance_id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  state: Text(64),
  az: Text(64),
  instance_type: Text(64),
  /** `<type>.<az>` for spot instances, null otherwise. */
  pool: Text(128),
  tags: Schema.optional(Schema.NullOr(Json)),
  launch_time: Timestamp,
  private_ip: Text(64),
  public_ip: Text(64)
}).annotations({ identifier: "LegacyInventoryInstance" })

/** @since 0.1.0 @category schemas */
export const LegacyInventory = Schema.Struct({
  instances: Schema.optional(Schema.NullOr(Schema.Array(LegacyInventoryInstance).pipe(Schema.maxItems(10_000)))),
  count: Schema.optional(Schema.NullOr(Schema.Number)),
  /** Set when the agent could not list the region's instances: the inventory then says nothing. */
  error: Text(4096)
}).annotations({ identifier: "LegacyInventory" })

/** @since 0.1.0 @category schemas */
export const LegacyHeartbeatRequest = Schema.Struct({
  status: Text(64),
  inventory_snapshot: Schema.optional(Schema.NullOr(LegacyInventory)),
  health_metrics: Schema.optional(Schema.NullOr(Json)),
  reconnect: Schema.optional(Schema.NullOr(Schema.Boolean))
}).annotations({ identifier: "LegacyHeartbeatRequest" })

/**
 * The heartbeat's answer. Always 2xx unless the request itself is refused (see
 * docs/DEPLOYMENT_RUNBOOK.md, "The v5 agent's heartbeat"): any non-2xx takes the agent offline
 * until its process restarts, so an unknown agent is `status: "unknown"` and a heartbeat the
 * server could not record (store unavailable, an internal failure) is `status: "deferred"`, both
 * with `success: false`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LegacyHeartbeatResponse = Schema.Struct({
  success: Schema.Boolean,
  agent_id: Schema.String,
  /** `online`/`offline` (the liveness before this heartbeat), `unknown` or `deferred`. */
  status: Schema.String,
  reconnected: Schema.Boolean,
  config_version: Schema.Int,
  /** Instances of the inventory compared with the engine's view (0 when it was empty or had an error). */
  inventory_checked: Schema.Int,
  /** The agent's settings, as the register answer carries them; absent when the server does not know them. */
  config: Schema.optional(LegacyAgentConfig),
  /** Why `success` is false. */
  message: Schema.optional(Schema.String)
}).annotations({ identifier: "LegacyHeartbeatResponse", description: "Never empty: an empty answer takes the agent offline" })

/** @since 0.1.0 @category schemas */
export const LegacyCommand = Schema.Struct({
  id: Schema.String,
  /** Unique, never null: the agent caches results by it. */
  request_id: Schema.String,
  command_type: Command.CommandType,
  /** LAUNCH: the temporary id to echo as `temp_instance_id`; TERMINATE/PROMOTE: the cloud instance. */
  instance_id: Schema.NullOr(Schema.String),
  params: Json,
  metadata: Json,
  priority: Schema.Int,
  created_at: Schema.String
}).annotations({ identifier: "LegacyCommand" })

/** @since 0.1.0 @category schemas */
export const LegacyCommandList = Schema.Struct({ commands: Schema.Array(LegacyCommand) }).annotations({
  identifier: "LegacyCommandList"
})

/**
 * The answer of `/api/v5/agents/{id}/pending-commands`: the legacy list for an agent registered in
 * the legacy dialect, v1's list otherwise.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LegacyOrV1CommandList = Schema.Union(
  LegacyCommandList,
  Schema.Struct({ commands: Schema.Array(Command.Command) })
)

/** @since 0.1.0 @category schemas */
export const LegacyActionResult = Schema.Struct({
  request_id: Text(255),
  agent_id: Text(255),
  /** "SUCCESS" or "FAILURE". */
  result: Text(32),
  cloud_instance_id: Text(128),
  error_message: Text(8192),
  metadata: Schema.optional(Schema.NullOr(Json))
}).annotations({ identifier: "LegacyActionResult" })

/** @since 0.1.0 @category schemas */
export const LegacyInstanceLaunched = Schema.Struct({
  temp_instance_id: Text(128),
  instance_id: Text(128),
  instance_type: Text(64),
  az: Text(64),
  request_id: Text(255),
  confirmed_at: Timestamp
}).annotations({ identifier: "LegacyInstanceLaunched" })

/** @since 0.1.0 @category schemas */
export const LegacyInstanceTerminated = Schema.Struct({
  instance_id: Text(128),
  request_id: Text(255),
  confirmed_at: Timestamp
}).annotations({ identifier: "LegacyInstanceTerminated" })

/** @since 0.1.0 @category schemas */
export const LegacyPriceRecord = Schema.Struct({
  instance_type: Text(64),
  az: Text(64),
  pool_id: Text(128),
  spot_price: Schema.optional(Schema.NullOr(Schema.Number)),
  /** "ondemand" for an on-demand record. */
  price_type: Text(32),
  price: Schema.optional(Schema.NullOr(Schema.Number)),
  timestamp: Timestamp
}).annotations({ identifier: "LegacyPriceRecord" })

/** @since 0.1.0 @category schemas */
export const LegacyPricingReport = Schema.Struct({
  agent_id: Text(255),
  timestamp: Timestamp,
  pricing_data_array: Schema.optional(Schema.NullOr(Schema.Array(LegacyPriceRecord).pipe(Schema.maxItems(2000))))
}).annotations({ identifier: "LegacyPricingReport" })

/** @since 0.1.0 @category schemas */
export const LegacyPricingResponse = Schema.Struct({
  success: Schema.Boolean,
  /** Spot prices stored as snapshots. */
  accepted: Schema.Int,
  on_demand: Schema.Int,
  /** Records without a usable pool, price or type. */
  skipped: Schema.Int
}).annotations({ identifier: "LegacyPricingResponse" })

/** @since 0.1.0 @category schemas */
export const LegacyTerminationReport = Schema.Struct({
  cloud_instance_id: Text(128),
  notice_type: Text(32),
  termination_time: Timestamp
}).annotations({ identifier: "LegacyTerminationReport" })

/** @since 0.1.0 @category schemas */
export const LegacyRebalanceRecommendation = Schema.Struct({
  cloud_instance_id: Text(128),
  notice_type: Text(32),
  notice_time: Timestamp
}).annotations({ identifier: "LegacyRebalanceRecommendation" })

/** @since 0.1.0 @category schemas */
export const LegacyShutdown = Schema.Struct({
  cloud_instance_id: Text(128),
  timestamp: Timestamp,
  metadata: Schema.optional(Schema.NullOr(Json))
}).annotations({ identifier: "LegacyShutdown" })

/**
 * The answer to reports whose body the agent ignores. `status` is `recorded`, or `ignored` (with
 * `detail`) for a report the engine cannot apply — answered 2xx all the same, because any other
 * status only makes the agent back off.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LegacyAck = Schema.Struct({
  success: Schema.Boolean,
  status: Schema.Literal("recorded", "ignored"),
  detail: Schema.optional(Schema.String)
}).annotations({ identifier: "LegacyAck" })

const AgentPath = Schema.Struct({ agentId: Ids.AgentId })

/**
 * The legacy agent's routes.
 *
 * @since 0.1.0
 * @category groups
 */
export class LegacyApi extends HttpApiGroup.make("legacy")
  .add(
    HttpApiEndpoint.post("register", "/v5/agents/register")
      .setPayload(LegacyRegisterRequest)
      .addSuccess(LegacyRegisterResponse)
      .annotate(OpenApi.Summary, "Legacy registration (POST /api/agents/register in the legacy dialect)")
  )
  .add(
    HttpApiEndpoint.post("heartbeat", "/v5/agents/:agentId/heartbeat")
      .setPath(AgentPath)
      .setPayload(LegacyHeartbeatRequest)
      .addSuccess(LegacyHeartbeatResponse)
      .annotate(OpenApi.Summary, "Legacy heartbeat with inventory (POST /api/agents/{id}/heartbeat); 200 with status unknown for an unknown agent, deferred when it could not be recorded")
  )
  .add(
    HttpApiEndpoint.get("pendingCommandsAlias", "/v5/agents/:agentId/pending-commands")
      .setPath(AgentPath)
      .addSuccess(LegacyOrV1CommandList)
      .annotate(OpenApi.Summary, "GET /api/agents/{id}/pending-commands with a JSON content type, in the agent's dialect")
  )
  .add(
    HttpApiEndpoint.post("pricingReport", "/v5/agents/:agentId/pricing-report")
      .setPath(AgentPath)
      .setPayload(LegacyPricingReport)
      .addSuccess(LegacyPricingResponse)
      .annotate(OpenApi.Summary, "Legacy price report (POST /api/agents/{id}/pricing-report with pricing_data_array)")
  )
  .add(
    HttpApiEndpoint.get("pollCommands", "/agents/:agentId/commands/pending")
      .setPath(AgentPath)
      .addSuccess(LegacyCommandList)
      .annotate(OpenApi.Summary, "Commands for the legacy agent (one per poll: it runs them one after another)")
  )
  .add(
    HttpApiEndpoint.post("actionResult", "/agents/:agentId/action-result")
      .setPath(AgentPath)
      .setPayload(LegacyActionResult)
      .addSuccess(LegacyAck)
      .annotate(OpenApi.Summary, "The result of a command, by request_id (a repeat changes nothing)")
  )
  .add(
    HttpApiEndpoint.post("instanceLaunched", "/agents/:agentId/instance-launched")
      .setPath(AgentPath)
      .setPayload(LegacyInstanceLaunched)
      .addSuccess(LegacyAck)
      .annotate(OpenApi.Summary, "A launched instance runs (temp_instance_id → cloud instance id)")
  )
  .add(
    HttpApiEndpoint.post("instanceTerminated", "/agents/:agentId/instance-terminated")
      .setPath(AgentPath)
      .setPayload(LegacyInstanceTerminated)
      .addSuccess(LegacyAck)
      .annotate(OpenApi.Summary, "An instance is gone (also when it already was)")
  )
  .add(
    HttpApiEndpoint.post("terminationReport", "/agents/:agentId/termination-report")
      .setPath(AgentPath)
      .setPayload(LegacyTerminationReport)
      .addSuccess(LegacyAck)
      .annotate(OpenApi.Summary, "Termination notice (re-sent every 10 s while it stands; de-duplicated)")
  )
  .add(
    HttpApiEndpoint.post("rebalanceRecommendation", "/agents/:agentId/rebalance-recommendation")
      .setPath(AgentPath)
      .setPayload(LegacyRebalanceRecommendation)
      .addSuccess(LegacyAck)
      .annotate(OpenApi.Summary, "Rebalance recommendation (de-duplicated)")
  )
  .add(
    HttpApiEndpoint.post("shutdown", "/agents/:agentId/shutdown")
      .setPath(AgentPath)
      .setPayload(LegacyShutdown)
      .addSuccess(LegacyAck)
      .annotate(OpenApi.Summary, "The agent stops (best effort; the id may be the literal None); always 2xx once authenticated")
  )
  .middleware(TenantAuth)
  .prefix("/api")
  .annotate(OpenApi.Title, "Legacy agent (v5)")
{}
