/**
 * The handlers of {@link OpsApi.OpsApi} and {@link OpsApi.OpsAdminApi}: reads over the engine's
 * read models (pool ledger, switch history), the price store (savings, simulation) and the
 * decision log, plus switch cancellation and the tenant's dry-run switch.
 *
 * Prices are read the engine's way (`PriceService.lookup` and `quote`), switch blockers are the
 * state machine's guards (`SwitchGuards`), quarantine is the engine's (`quarantinedPools`).
 *
 * @since 0.1.0
 */
import { HttpApiBuilder } from "@effect/platform"
import {
  Command,
  DecisionLog,
  DecisionModel,
  type DomainEvent,
  Engine,
  EngineError,
  type Ids,
  type Pool,
  PoolLedger,
  PriceService,
  PriceStore,
  Savings,
  SwitchGuards,
  SwitchHistory,
  Tenant,
  TenantStore
} from "@spotfleet/engine"
import { Clock, Effect, Layer, Option } from "effect"
import { Api } from "./Api.js"
import * as ApiError from "./ApiError.js"
import * as errors from "./internal/errors.js"
import { emergencyEventTypes } from "./OpsApi.js"
import { Principal, type PrincipalService } from "./Security.js"

const HOUR = 3_600_000
const DAY = 24 * HOUR
const HOURS_PER_MONTH = 730

const engineCall = <A>(effect: Effect.Effect<A, Engine.EngineFailure>): Effect.Effect<A, ApiError.ApiError> =>
  Effect.mapError(effect, errors.fromEngine)

const storeCall = <A>(effect: Effect.Effect<A, EngineError.StoreError>): Effect.Effect<A, ApiError.ApiError> =>
  Effect.mapError(effect, errors.fromEngine)

const tenantOnly = (principal: PrincipalService): Effect.Effect<PrincipalService, ApiError.ApiError> =>
  principal.agentId === null
    ? Effect.succeed(principal)
    : Effect.fail(new ApiError.Forbidden({ code: "Forbidden", message: "an agent token cannot call this route" }))

const median = (xs: ReadonlyArray<number>): number | null => {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const lineOf = (key: string, line: Savings.SavingsLine) => ({ key, ...line })
const linesOf = (m: ReadonlyMap<string, Savings.SavingsLine>) =>
  [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => lineOf(k, v))

const csvCell = (v: string | number | null): string => {
  if (v === null) return ""
  const text = typeof v === "number" ? String(v) : v
  return /[",\n\r]/.test(text) ? `"${text.replaceAll("\"", "\"\"")}"` : text
}

/** The CSV columns after the key: dollars and hours to 6 decimals, percentages to 4. */
const savingsColumns = [
  ["hours", 6],
  ["primaryHours", 6],
  ["baselineCost", 6],
  ["primaryCost", 6],
  ["actualCost", 6],
  ["leakedCost", 6],
  ["grossSavings", 6],
  ["netSavings", 6],
  ["grossSavingsPercent", 4],
  ["netSavingsPercent", 4]
] as const satisfies ReadonlyArray<readonly [keyof Savings.SavingsLine, number]>

const savingsCsv = (groupBy: string, rows: ReadonlyArray<ReturnType<typeof lineOf>>, total: ReturnType<typeof lineOf>): string => {
  const lines = [[groupBy, ...savingsColumns.map(([name]) => name)].join(",")]
  for (const r of [...rows, total]) {
    lines.push([
      csvCell(r.key),
      ...savingsColumns.map(([name, digits]) => {
        const value = r[name]
        return csvCell(value === null ? null : Number(value.toFixed(digits)))
      })
    ].join(","))
  }
  return lines.join("\r\n") + "\r\n"
}

const ledgerRow = (record: PoolLedger.PoolRecord, now: number, quarantined: ReadonlySet<Pool.PoolId>) => {
  const decided = record.rebalanceFollowed + record.rebalanceFalsePositives
  return {
    pool: record.pool,
    bootSamples: record.bootSeconds.length,
    medianBootSeconds: record.medianBootSeconds,
    rebalanceNotices: record.rebalanceNotices,
    terminationNotices: record.terminationNotices,
    reclaims: record.reclaims,
    leadTimeSeconds: record.leadTimeSeconds,
    medianLeadTimeSeconds: median(record.leadTimeSeconds),
    rebalanceFollowed: record.rebalanceFollowed,
    rebalanceFalsePositives: record.rebalanceFalsePositives,
    rebalanceFalsePositiveRate: decided === 0 ? null : record.rebalanceFalsePositives / decided,
    interruptionsPerDay: PoolLedger.interruptionsPerDay(record, now),
    lastInterruptionAt: record.lastInterruptionAt,
    quarantined: quarantined.has(record.pool)
  }
}

/** Emergency events after an id, scanning at most 20 pages of the log per call. */
const emergencyEvents = (
  engine: Engine.EngineService,
  tenantId: Ids.TenantId | null,
  query: { readonly after?: number | undefined; readonly limit?: number | undefined; readonly agentId?: Ids.AgentId | undefined }
) =>
  Effect.gen(function*() {
    const limit = query.limit ?? 100
    const out: Array<DomainEvent.DomainEvent> = []
    let lastId = query.after ?? 0
    for (let page = 0; page < 20 && out.length < limit; page++) {
      const events = yield* engineCall(engine.events(tenantId, { afterId: lastId, limit: 1000, agentId: query.agentId }))
      for (const e of events) {
        lastId = e.id
        if (emergencyEventTypes.has(e.type)) out.push(e)
        if (out.length >= limit) break
      }
      if (events.length < 1000) break
    }
    return { events: out, lastId }
  })

const OpsAdminLive = HttpApiBuilder.group(Api, "opsAdmin", (handlers) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    return handlers
      .handle("poolLedger", () =>
        Effect.gen(function*() {
          const ledger = yield* engineCall(engine.poolLedger)
          const quarantined = yield* engineCall(engine.quarantinedPools)
          const now = yield* Clock.currentTimeMillis
          const pools = [...ledger.pools.values()].sort((a, b) => (a.pool < b.pool ? -1 : 1)).map((r) => ledgerRow(r, now, quarantined))
          return { pools, openNotices: ledger.openNotices.size, lastEventId: ledger.lastEventId, at: now }
        }))
      .handle("emergencyEvents", ({ urlParams }) => emergencyEvents(engine, null, urlParams))
  }))

const OpsLive = HttpApiBuilder.group(Api, "ops", (handlers) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    // Optional ports: every store adapter provides them, but the API's layer only requires the
    // engine's ports; without them the routes that need them answer 503.
    const priceStore = yield* Effect.serviceOption(PriceStore.PriceStore)
    const tenantStore = yield* Effect.serviceOption(TenantStore.TenantStore)
    const decisionLog = yield* Effect.serviceOption(DecisionLog.DecisionLog)
    const required = <A>(port: Option.Option<A>, name: string): Effect.Effect<A, ApiError.ApiError> =>
      Option.match(port, {
        onNone: () => Effect.fail(new ApiError.ServiceUnavailable({ code: `No${name}`, message: `this server has no ${name}` })),
        onSome: Effect.succeed
      })
    const tenant = Effect.flatMap(Principal, tenantOnly)

    const period = (q: { readonly from?: number | undefined; readonly to?: number | undefined }) =>
      Effect.gen(function*() {
        const to = q.to ?? (yield* Clock.currentTimeMillis)
        const from = q.from ?? to - 30 * DAY
        if (from >= to) return yield* Effect.fail(ApiError.badField("from", "must be before to"))
        return { from, to }
      })

    const switchesOf = (p: PrincipalService, q: { readonly agentId?: Ids.AgentId | undefined; readonly since?: number | undefined }) =>
      Effect.gen(function*() {
        if (q.agentId !== undefined) yield* engineCall(engine.getAgent(p.tenantId, q.agentId))
        return yield* engineCall(engine.switches(p.tenantId, { agentId: q.agentId, since: q.since }))
      })

    const savingsOf = (p: PrincipalService, q: { readonly from?: number | undefined; readonly to?: number | undefined; readonly agentId?: Ids.AgentId | undefined }) =>
      Effect.gen(function*() {
        const window = yield* period(q)
        const now = yield* Clock.currentTimeMillis
        const ids = q.agentId !== undefined
          ? [q.agentId]
          : (yield* engineCall(engine.listAgents(p.tenantId))).map((a) => a.id)
        const views = yield* Effect.forEach(ids, (id) => engineCall(engine.getAgent(p.tenantId, id)), { concurrency: 8 })
        const intervals = views.flatMap((v) => Savings.runningIntervals(v, Math.min(now, window.to)))
        const prices = yield* required(priceStore, "PriceStore")
        const lookup = yield* storeCall(PriceService.lookup(prices, [...new Set(intervals.map((i) => i.pool))], window))
        const report = Savings.accrue(intervals, lookup, window)
        return {
          tenantId: p.tenantId,
          from: window.from,
          to: window.to,
          total: lineOf(p.tenantId, report.total),
          byAgent: linesOf(report.byAgent),
          byPool: linesOf(report.byPool),
          byInstance: linesOf(report.byInstance)
        }
      })

    return handlers
      .handle("cancelSwitch", ({ headers, path }) =>
        Effect.flatMap(tenant, (p) =>
          engineCall(engine.cancelSwitch(p.tenantId, path.agentId, { idempotencyKey: headers["x-request-id"] }))))
      .handle("simulateSwitch", ({ path, payload }) =>
        Effect.gen(function*() {
          const p = yield* tenant
          const view = yield* engineCall(engine.getAgent(p.tenantId, path.agentId))
          const now = yield* Clock.currentTimeMillis
          const fromPool = view.instances.find((i) => i.role === "PRIMARY")?.pool ?? null
          // What would block a manual switch now: the state machine's own guards.
          const blockers = SwitchGuards.blockers(view, { pool: payload.pool, priority: Command.Priority.manual }).map(SwitchGuards.describe)
          const prices = yield* required(priceStore, "PriceStore")
          const quotes = yield* storeCall(PriceService.quote(prices, fromPool === null ? [payload.pool] : [fromPool, payload.pool], now))
          const currentPrice = fromPool === null ? null : quotes.get(fromPool)?.price ?? null
          const targetPrice = quotes.get(payload.pool)?.price ?? null
          const onDemandPrice = quotes.get(payload.pool)?.onDemandPrice ?? null
          const hourly = currentPrice === null || targetPrice === null ? null : currentPrice - targetPrice
          const history = yield* engineCall(engine.switches(p.tenantId, { since: now - 60 * DAY }))
          const downtime = SwitchHistory.downtimeAnalytics(history, { from: now - 30 * DAY, to: now + 1 })
          const ledger = yield* engineCall(engine.poolLedger)
          const quarantined = yield* engineCall(engine.quarantinedPools)
          const record = ledger.pools.get(payload.pool)
          const interruptionsPerDay = record === undefined ? 0 : PoolLedger.interruptionsPerDay(record, now)
          const score = DecisionModel.riskOf(DecisionModel.Candidate.make({
            pool: payload.pool,
            price: targetPrice ?? 0,
            medianBootSeconds: record?.medianBootSeconds ?? null,
            interruptionsPerDay,
            interruptionBand: null
          }))
          return {
            agentId: view.agent.id,
            fromPool: fromPool ?? "",
            toPool: payload.pool,
            currentPrice,
            targetPrice,
            onDemandPrice,
            hourlySavings: hourly,
            dailySavings: hourly === null ? null : hourly * 24,
            monthlySavings: hourly === null ? null : hourly * HOURS_PER_MONTH,
            savingsPercent: hourly === null || currentPrice === null || currentPrice === 0 ? null : (hourly / currentPrice) * 100,
            expectedDowntime: { samples: downtime.count, avgSeconds: downtime.avgSeconds, p95Seconds: downtime.p95Seconds },
            risk: {
              score,
              interruptionsPerDay,
              terminationNotices: record?.terminationNotices ?? 0,
              reclaims: record?.reclaims ?? 0,
              medianBootSeconds: record?.medianBootSeconds ?? null,
              quarantined: quarantined.has(payload.pool)
            },
            blockers
          }
        }))
      .handle("listSwitches", ({ urlParams }) =>
        Effect.flatMap(tenant, (p) => Effect.map(switchesOf(p, urlParams), (switches) => ({ switches }))))
      .handle("switchesCsv", ({ urlParams }) =>
        Effect.flatMap(tenant, (p) => Effect.map(switchesOf(p, urlParams), SwitchHistory.toCsv)))
      .handle("downtime", ({ urlParams }) =>
        Effect.gen(function*() {
          const p = yield* tenant
          const window = yield* period(urlParams)
          const records = yield* switchesOf(p, { agentId: urlParams.agentId, since: window.from - (window.to - window.from) })
          return { ...window, ...SwitchHistory.downtimeAnalytics(records, window) }
        }))
      .handle("savings", ({ urlParams }) => Effect.flatMap(tenant, (p) => savingsOf(p, urlParams)))
      .handle("savingsCsv", ({ urlParams }) =>
        Effect.gen(function*() {
          const p = yield* tenant
          const report = yield* savingsOf(p, urlParams)
          const groupBy = urlParams.groupBy ?? "agent"
          const rows = groupBy === "pool" ? report.byPool : groupBy === "instance" ? report.byInstance : report.byAgent
          return savingsCsv(groupBy, rows, { ...report.total, key: "total" })
        }))
      .handle("decisions", ({ urlParams }) =>
        Effect.gen(function*() {
          const p = yield* tenant
          const log = yield* required(decisionLog, "DecisionLog")
          if (urlParams.agentId !== undefined) yield* engineCall(engine.getAgent(p.tenantId, urlParams.agentId))
          const decisions = yield* storeCall(log.list(p.tenantId, {
            agentId: urlParams.agentId,
            since: urlParams.since,
            limit: urlParams.limit ?? 100
          }))
          return { decisions }
        }))
      .handle("setDryRun", ({ payload }) =>
        Effect.gen(function*() {
          const p = yield* tenant
          const tenants = yield* required(tenantStore, "TenantStore")
          const current = yield* storeCall(tenants.get(p.tenantId))
          if (Option.isNone(current)) return yield* Effect.fail(errors.fromEngine(new EngineError.TenantNotFound({ tenantId: p.tenantId })))
          if (current.value.dryRun === payload.dryRun) return current.value
          const updated = Tenant.Tenant.make({ ...current.value, dryRun: payload.dryRun })
          yield* storeCall(tenants.update(updated))
          return updated
        }))
      .handle("emergencyEvents", ({ urlParams }) =>
        Effect.gen(function*() {
          const p = yield* tenant
          if (urlParams.agentId !== undefined) yield* engineCall(engine.getAgent(p.tenantId, urlParams.agentId))
          return yield* emergencyEvents(engine, p.tenantId, urlParams)
        }))
  }))

/**
 * The handlers of both groups. Needs the engine; the price store, tenant store and decision log
 * are used when the context has them (routes that need a missing one answer 503).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  import("@effect/platform/HttpApiGroup").ApiGroup<"spotfleet", "opsAdmin"> | import("@effect/platform/HttpApiGroup").ApiGroup<"spotfleet", "ops">,
  never,
  Engine.Engine | import("./Security.js").TenantAuth | import("./Security.js").AdminAuth
> = Layer.mergeAll(OpsAdminLive, OpsLive)
