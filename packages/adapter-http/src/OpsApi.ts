/**
 * The operations contract of emergencies and switching (DESIGN.md §4, §5): the interruption ledger
 * and emergency events (admin token), and per tenant the switch in progress (cancel, simulate),
 * switch history (JSON and CSV), downtime analytics, savings per agent, pool and tenant (JSON and
 * CSV), the automatic-switch decision log and the tenant's dry-run switch.
 *
 * Groups: `opsAdmin` (admin token) and `ops` (tenant token). Both are added to {@link Api.Api}.
 *
 * @since 0.1.0
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { DecisionLog, DomainEvent, Engine, Ids, Pool, Tenant } from "@spotfleet/engine"
import { Schema } from "effect"
import { AdminAuth, IdempotencyHeaders, RequestId, TenantAuth } from "./Security.js"

const AgentPath = Schema.Struct({ agentId: Ids.AgentId })
const Millis = Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())
const NullableNumber = Schema.NullOr(Schema.Number)

/**
 * A `text/csv` body (RFC 4180, CRLF line ends, a header row).
 *
 * @since 0.1.0
 * @category schemas
 */
export const CsvBody = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/csv; charset=utf-8" })
).annotations({ description: "CSV with a header row" })

// ---------------------------------------------------------------------------------------------
// interruption ledger and emergency events
// ---------------------------------------------------------------------------------------------

/**
 * One pool of the interruption ledger.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LedgerPool = Schema.Struct({
  pool: Schema.String,
  bootSamples: Schema.Int,
  /** Median boot time (launch requested → running); null with fewer than 3 samples. */
  medianBootSeconds: NullableNumber,
  rebalanceNotices: Schema.Int,
  terminationNotices: Schema.Int,
  reclaims: Schema.Int,
  /** Termination notice → instance gone, most recent last. */
  leadTimeSeconds: Schema.Array(Schema.Number),
  medianLeadTimeSeconds: NullableNumber,
  rebalanceFollowed: Schema.Int,
  rebalanceFalsePositives: Schema.Int,
  /** False positives ÷ rebalance recommendations with a known outcome. */
  rebalanceFalsePositiveRate: NullableNumber,
  interruptionsPerDay: Schema.Number,
  lastInterruptionAt: NullableNumber,
  /** Interrupted within the quarantine window: not chosen for emergency launches now. */
  quarantined: Schema.Boolean
}).annotations({ identifier: "LedgerPool" })

/**
 * The interruption ledger, one row per pool seen, sorted by pool.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LedgerResponse = Schema.Struct({
  pools: Schema.Array(LedgerPool),
  /** Instances with a notice whose outcome is not known yet. */
  openNotices: Schema.Int,
  lastEventId: Schema.Int,
  at: Schema.Number
}).annotations({ identifier: "LedgerResponse" })

/**
 * The event types of an emergency: notices, emergency launches and promotions, degradation.
 *
 * @since 0.1.0
 * @category constants
 */
export const emergencyEventTypes: ReadonlySet<DomainEvent.EventType> = new Set([
  "NoticeReceived",
  "NoticeCleared",
  "EmergencyLaunch",
  "EmergencyPromotion",
  "AgentDegraded",
  "AgentRecovered"
])

/** @since 0.1.0 @category schemas */
export const EmergencyEventQuery = Schema.Struct({
  after: Schema.optional(Millis),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000))),
  agentId: Schema.optional(Ids.AgentId)
})

/**
 * A page of emergency events. `lastId` is the last event id examined: pass it as `after` to read
 * on (it may be past the last event returned when later events were of other types).
 *
 * @since 0.1.0
 * @category schemas
 */
export const EmergencyEventPage = Schema.Struct({
  events: Schema.Array(DomainEvent.DomainEvent),
  lastId: Schema.Int
}).annotations({ identifier: "EmergencyEventPage" })

/**
 * The operator's view of interruptions across tenants (admin token).
 *
 * @since 0.1.0
 * @category groups
 */
export class OpsAdminApi extends HttpApiGroup.make("opsAdmin")
  .add(
    HttpApiEndpoint.get("poolLedger", "/admin/pool-ledger")
      .addSuccess(LedgerResponse)
      .annotate(OpenApi.Summary, "Interruption ledger per pool: notices, lead times, rebalance false positives, median boot")
  )
  .add(
    HttpApiEndpoint.get("emergencyEvents", "/admin/emergency-events")
      .setUrlParams(EmergencyEventQuery)
      .addSuccess(EmergencyEventPage)
      .annotate(OpenApi.Summary, "Emergency events of every tenant (notices, launches, promotions, degradation)")
  )
  .middleware(AdminAuth)
  .prefix("/api")
{}

// ---------------------------------------------------------------------------------------------
// switches
// ---------------------------------------------------------------------------------------------

/**
 * A switch record (DESIGN.md §2 SwitchEvent). Times are epoch milliseconds.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SwitchRecord = Schema.Struct({
  flowId: Schema.String,
  tenantId: Schema.String,
  agentId: Schema.String,
  trigger: Schema.Literal("manual", "ml", "emergency"),
  decisionId: Schema.NullOr(Schema.String),
  fromPool: Schema.NullOr(Schema.String),
  toPool: Schema.NullOr(Schema.String),
  fromInstanceId: Schema.NullOr(Schema.String),
  toInstanceId: Schema.NullOr(Schema.String),
  initiatedAt: Schema.Number,
  launchedAt: NullableNumber,
  promoteDeliveredAt: NullableNumber,
  promotedAt: NullableNumber,
  oldTerminatedAt: NullableNumber,
  finishedAt: NullableNumber,
  result: Schema.Literal("in_progress", "succeeded", "failed", "cancelled"),
  reason: Schema.NullOr(Schema.String),
  downtimeSeconds: NullableNumber,
  downtimeSource: Schema.NullOr(Schema.Literal("agent", "derived"))
}).annotations({ identifier: "SwitchRecord" })

/** @since 0.1.0 @category schemas */
export const SwitchQuery = Schema.Struct({
  agentId: Schema.optional(Ids.AgentId),
  /** Switches initiated at or after this time (epoch milliseconds). */
  since: Schema.optional(Millis)
})

/** @since 0.1.0 @category schemas */
export const SwitchList = Schema.Struct({ switches: Schema.Array(SwitchRecord) }).annotations({ identifier: "SwitchList" })

/** @since 0.1.0 @category schemas */
export const PeriodQuery = Schema.Struct({
  /** Start of the period (epoch milliseconds; default: 30 days before `to`). */
  from: Schema.optional(Millis),
  /** End of the period, exclusive (default: now). */
  to: Schema.optional(Millis),
  agentId: Schema.optional(Ids.AgentId)
})

/**
 * Downtime analytics of the switches initiated in `[from, to)`, with the trend against the period
 * of the same length before it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DowntimeResponse = Schema.Struct({
  from: Schema.Number,
  to: Schema.Number,
  count: Schema.Int,
  succeeded: Schema.Int,
  successRate: NullableNumber,
  avgSeconds: NullableNumber,
  p95Seconds: NullableNumber,
  maxSeconds: NullableNumber,
  /** Average downtime minus the previous period's (negative: better). */
  trendAvgSeconds: NullableNumber
}).annotations({ identifier: "DowntimeResponse" })

/** @since 0.1.0 @category schemas */
export const SimulateRequest = Schema.Struct({
  pool: Pool.PoolId
}).annotations({ identifier: "SimulateRequest" })

/**
 * What a switch to a pool would bring, from current prices, measured downtimes and the ledger.
 * Nothing is queued.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SimulateResponse = Schema.Struct({
  agentId: Ids.AgentId,
  fromPool: Schema.String,
  toPool: Schema.String,
  /** Current hourly price of the PRIMARY's pool (null when unknown). */
  currentPrice: NullableNumber,
  targetPrice: NullableNumber,
  onDemandPrice: NullableNumber,
  /** currentPrice − targetPrice (negative: the target costs more). */
  hourlySavings: NullableNumber,
  dailySavings: NullableNumber,
  /** 730 hours a month. */
  monthlySavings: NullableNumber,
  savingsPercent: NullableNumber,
  expectedDowntime: Schema.Struct({
    /** Finished switches of the tenant (last 30 days) the figures come from. */
    samples: Schema.Int,
    avgSeconds: NullableNumber,
    p95Seconds: NullableNumber
  }),
  risk: Schema.Struct({
    /** 0 (none) … 1, as the decision model computes it. */
    score: Schema.Number,
    interruptionsPerDay: Schema.Number,
    terminationNotices: Schema.Int,
    reclaims: Schema.Int,
    medianBootSeconds: NullableNumber,
    quarantined: Schema.Boolean
  }),
  /** Why a switch to this pool would be rejected now; empty when it would be accepted. */
  blockers: Schema.Array(Schema.String)
}).annotations({ identifier: "SimulateResponse" })

// ---------------------------------------------------------------------------------------------
// savings
// ---------------------------------------------------------------------------------------------

/**
 * Savings of one agent, pool or instance (or the tenant's total), net of all spend: the baseline
 * is the on-demand price of the PRIMARY over the hours the workload had one; the spend is every
 * running instance (PRIMARY, REPLICA, ZOMBIE, and retired instances until the cloud is seen no
 * longer running them). Dollars and hours count only time for which both the actual and the
 * on-demand price were known. The rule is the engine's (`Savings`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SavingsLine = Schema.Struct({
  key: Schema.String,
  /** Running instance-hours counted. */
  hours: Schema.Number,
  /** Of those, the hours as PRIMARY (the baseline's hours). */
  primaryHours: Schema.Number,
  /** On-demand price × PRIMARY hours. */
  baselineCost: Schema.Number,
  /** What the PRIMARY hours cost. */
  primaryCost: Schema.Number,
  /** Spend: what every running hour cost. */
  actualCost: Schema.Number,
  /** Of the spend, what instances cost while retired by the engine but still running. */
  leakedCost: Schema.Number,
  /** baselineCost − primaryCost. */
  grossSavings: Schema.Number,
  /** baselineCost − actualCost: the savings after everything the workload cost. */
  netSavings: Schema.Number,
  grossSavingsPercent: NullableNumber,
  netSavingsPercent: NullableNumber
}).annotations({ identifier: "SavingsLine" })

/** @since 0.1.0 @category schemas */
export const SavingsResponse = Schema.Struct({
  tenantId: Ids.TenantId,
  from: Schema.Number,
  to: Schema.Number,
  total: SavingsLine,
  byAgent: Schema.Array(SavingsLine),
  byPool: Schema.Array(SavingsLine),
  byInstance: Schema.Array(SavingsLine)
}).annotations({ identifier: "SavingsResponse" })

/** @since 0.1.0 @category schemas */
export const SavingsCsvQuery = Schema.Struct({
  ...PeriodQuery.fields,
  /** Rows per agent (default), pool or instance; the last row is the tenant total. */
  groupBy: Schema.optional(Schema.Literal("agent", "pool", "instance"))
})

// ---------------------------------------------------------------------------------------------
// decisions and dry-run
// ---------------------------------------------------------------------------------------------

/** @since 0.1.0 @category schemas */
export const DecisionQuery = Schema.Struct({
  agentId: Schema.optional(Ids.AgentId),
  since: Schema.optional(Millis),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)))
})

/** @since 0.1.0 @category schemas */
export const DecisionList = Schema.Struct({
  decisions: Schema.Array(DecisionLog.DecisionRecord)
}).annotations({ identifier: "DecisionList" })

/** @since 0.1.0 @category schemas */
export const DryRunRequest = Schema.Struct({
  dryRun: Schema.Boolean,
  request_id: Schema.optional(RequestId)
}).annotations({ identifier: "DryRunRequest" })

/**
 * Switching, savings and emergencies of one tenant (tenant token). Another tenant's agent ids are
 * answered with 404.
 *
 * @since 0.1.0
 * @category groups
 */
export class OpsApi extends HttpApiGroup.make("ops")
  .add(
    HttpApiEndpoint.del("cancelSwitch", "/agents/:agentId/switch")
      .setPath(AgentPath)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Engine.AgentView)
      .annotate(OpenApi.Summary, "Cancel the switch in progress (409 once its PROMOTE was handed out)")
  )
  .add(
    HttpApiEndpoint.post("simulateSwitch", "/agents/:agentId/switch/simulate")
      .setPath(AgentPath)
      .setPayload(SimulateRequest)
      .addSuccess(SimulateResponse)
      .annotate(OpenApi.Summary, "Expected savings, downtime and risk of a switch to a pool; queues nothing")
  )
  .add(
    HttpApiEndpoint.get("listSwitches", "/switches")
      .setUrlParams(SwitchQuery)
      .addSuccess(SwitchList)
      .annotate(OpenApi.Summary, "Switch history (manual, ML, emergency), oldest first")
  )
  .add(
    HttpApiEndpoint.get("switchesCsv", "/switches.csv")
      .setUrlParams(SwitchQuery)
      .addSuccess(CsvBody)
      .annotate(OpenApi.Summary, "Switch history as CSV")
  )
  .add(
    HttpApiEndpoint.get("downtime", "/analytics/downtime")
      .setUrlParams(PeriodQuery)
      .addSuccess(DowntimeResponse)
      .annotate(OpenApi.Summary, "Switch downtime: count, success, avg/p95/max, trend vs the previous period")
  )
  .add(
    HttpApiEndpoint.get("savings", "/savings")
      .setUrlParams(PeriodQuery)
      .addSuccess(SavingsResponse)
      .annotate(OpenApi.Summary, "Savings net of all spend (on-demand baseline of the PRIMARY hours − every instance's cost), gross, and leaked spend, per agent, pool, instance and tenant")
  )
  .add(
    HttpApiEndpoint.get("savingsCsv", "/savings.csv")
      .setUrlParams(SavingsCsvQuery)
      .addSuccess(CsvBody)
      .annotate(OpenApi.Summary, "Savings as CSV")
  )
  .add(
    HttpApiEndpoint.get("decisions", "/decisions")
      .setUrlParams(DecisionQuery)
      .addSuccess(DecisionList)
      .annotate(OpenApi.Summary, "Automatic-switch decisions with each guard's verdict, newest first")
  )
  .add(
    HttpApiEndpoint.put("setDryRun", "/tenant/dry-run")
      .setPayload(DryRunRequest)
      .addSuccess(Tenant.Tenant)
      .annotate(OpenApi.Summary, "Dry-run: automatic decisions are logged but queue nothing")
  )
  .add(
    HttpApiEndpoint.get("emergencyEvents", "/emergency-events")
      .setUrlParams(EmergencyEventQuery)
      .addSuccess(EmergencyEventPage)
      .annotate(OpenApi.Summary, "The tenant's emergency events (notices, launches, promotions, degradation)")
  )
  .middleware(TenantAuth)
  .prefix("/api")
{}
