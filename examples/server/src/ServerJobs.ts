/**
 * The server's background jobs (docs/DESIGN.md, "Roles and transitions", "Pricing pipeline" and
 * "Scale-out"): liveness, the command sweep, zombie retention, the unreconciled-instances gauge,
 * retention, the consolidation schedule, the automatic-switch loop and the savings accrual. Every
 * process runs every job through `Jobs.runScoped` over the store's `JobLease`, so across processes
 * that share one MySQL database each job runs in exactly one of them at a time; when that process
 * dies another takes the job over after its lease (3 × the period) runs out, and a graceful
 * shutdown releases the leases at once.
 *
 * Environment (periods in seconds, fractions allowed):
 * - `SPOTFLEET_JOBS` (default 1): 0 = this process runs no jobs (serves HTTP only).
 * - `SPOTFLEET_JOB_HOLDER`: this process's holder id (default `<hostname>:<pid>:<random>`).
 * - `SPOTFLEET_JOB_PERIOD_SCALE` (default 1): multiplies every default period (0.01 → 100× faster).
 * - `SPOTFLEET_JOB_<NAME>_SECONDS`: the period of one job, e.g. `SPOTFLEET_JOB_LIVENESS_SECONDS`,
 *   `SPOTFLEET_JOB_COMMAND_SWEEP_SECONDS`, `SPOTFLEET_JOB_ZOMBIE_RETENTION_SECONDS`,
 *   `SPOTFLEET_JOB_UNRECONCILED_INSTANCES_SECONDS`, `SPOTFLEET_JOB_RETENTION_SECONDS`,
 *   `SPOTFLEET_JOB_CONSOLIDATION_SECONDS`,
 *   `SPOTFLEET_JOB_AUTO_SWITCH_SECONDS`, `SPOTFLEET_JOB_SAVINGS_ACCRUAL_SECONDS` (not scaled).
 * - `SPOTFLEET_OFFLINE_AFTER_SECONDS` (default 90), `SPOTFLEET_ZOMBIE_RETENTION_DAYS` (default 30).
 */
import * as os from "node:os"
import {
  AutoSwitch,
  ConsolidationJob,
  DecisionModel,
  type AgentStore,
  type DecisionLog,
  type Engine,
  type EventLog,
  type IdempotencyStore,
  type JobLease,
  Jobs,
  Notification,
  PriceService,
  type PriceStore,
  SavingsAccrual,
  type TenantStore
} from "@spotfleet/engine"
import { OnnxDecisionModel } from "@spotfleet/ml-onnx"
import { Config, Duration, Effect, Layer, Option, type Scope } from "effect"

/** The jobs, by the name their lease and runs are recorded under. */
export const jobNames = [
  "liveness",
  "command-sweep",
  "zombie-retention",
  "unreconciled-instances",
  "retention",
  "consolidation",
  "auto-switch",
  "savings-accrual",
  "notifications"
] as const

/** A job name. */
export type JobName = (typeof jobNames)[number]

/** Default periods in seconds. */
export const defaultPeriods: Readonly<Record<JobName, number>> = {
  liveness: 15,
  "command-sweep": 10,
  "zombie-retention": 3_600,
  "unreconciled-instances": 60,
  retention: 3_600,
  consolidation: 12 * 3_600,
  "auto-switch": 300,
  // Every accrual reads every agent's instances: once a minute cost a third of a core at 10,000
  // agents (docs/PERFORMANCE.md); the savings rules use one-hour rates.
  "savings-accrual": 300,
  // A notification appears within this of its event (one indexed read of a few event types).
  notifications: 2
}

/** The environment variable that sets a job's period. */
export const periodVariable = (name: JobName): string => `SPOTFLEET_JOB_${name.toUpperCase().replaceAll("-", "_")}_SECONDS`

/** The jobs' settings. */
export interface JobsConfig {
  readonly enabled: boolean
  readonly holder: string
  readonly periods: Readonly<Record<JobName, Duration.Duration>>
  readonly offlineAfter: Duration.Duration
  readonly zombieRetention: Duration.Duration
}

const positive = (name: string) =>
  Config.number(name).pipe(Config.validate({ message: `${name} must be a positive number`, validation: (n) => n > 0 }))

/** Reads the jobs' settings from the environment. */
export const config: Effect.Effect<JobsConfig, import("effect/ConfigError").ConfigError> = Effect.gen(function*() {
  const scale = yield* positive("SPOTFLEET_JOB_PERIOD_SCALE").pipe(Config.withDefault(1))
  const periods = {} as Record<JobName, Duration.Duration>
  for (const name of jobNames) {
    const seconds = yield* Config.option(positive(periodVariable(name)))
    periods[name] = Duration.millis(Math.max(1, Math.round(Option.getOrElse(seconds, () => defaultPeriods[name] * scale) * 1000)))
  }
  const holder = yield* Config.string("SPOTFLEET_JOB_HOLDER").pipe(Config.withDefault(""))
  return {
    enabled: yield* Config.boolean("SPOTFLEET_JOBS").pipe(Config.withDefault(true)),
    holder: holder.length > 0 ? holder : `${os.hostname()}:${process.pid}:${globalThis.crypto.randomUUID().slice(0, 8)}`,
    periods,
    offlineAfter: Duration.seconds(yield* positive("SPOTFLEET_OFFLINE_AFTER_SECONDS").pipe(Config.withDefault(90))),
    zombieRetention: Duration.days(yield* positive("SPOTFLEET_ZOMBIE_RETENTION_DAYS").pipe(Config.withDefault(30)))
  }
})

/** `SPOTFLEET_DECISION_MODEL`: `onnx` (default) or `rule-based`. */
export const decisionModel: Config.Config<"onnx" | "rule-based"> = Config.literal("onnx", "rule-based")("SPOTFLEET_DECISION_MODEL").pipe(
  Config.withDefault("onnx" as const)
)

/**
 * The switch decision model: the trained ONNX model shipped in @spotfleet/ml-onnx by default,
 * the rule-based one with `SPOTFLEET_DECISION_MODEL=rule-based` — or when the ONNX runtime cannot
 * load here (said in the log, never silently).
 */
export const decisionModelLayer: Layer.Layer<DecisionModel.DecisionModel> = Layer.unwrapEffect(
  Effect.map(
    Effect.orDie(decisionModel),
    (choice) =>
      choice === "rule-based"
        ? DecisionModel.layerRuleBased
        : OnnxDecisionModel.layerDefault.pipe(
          Layer.catchAll((e) =>
            Layer.effectDiscard(Effect.logWarning(`ONNX decision model unavailable (${e.message}); using the rule-based model`)).pipe(
              Layer.provideMerge(DecisionModel.layerRuleBased)
            )
          )
        )
  )
)

/** What the jobs need besides the store ports. */
export const layer: Layer.Layer<
  ConsolidationJob.ConsolidationJob | DecisionModel.DecisionModel | PriceService.PriceService,
  never,
  PriceStore.PriceStore | EventLog.EventLog | AgentStore.AgentStore | IdempotencyStore.IdempotencyStore
> = Layer.mergeAll(ConsolidationJob.layer(), decisionModelLayer, PriceService.layer)

/** Everything the jobs read and write. */
export type Requirements =
  | Engine.Engine
  | AgentStore.AgentStore
  | IdempotencyStore.IdempotencyStore
  | TenantStore.TenantStore
  | PriceStore.PriceStore
  | JobLease.JobLease
  | DecisionLog.DecisionLog
  | DecisionModel.DecisionModel
  | ConsolidationJob.ConsolidationJob
  | PriceService.PriceService
  | EventLog.EventLog
  | Notification.NotificationStore

/** The job specs with the configured periods. */
export const specs = (
  c: JobsConfig,
  /** The savings accrual (it remembers where it stopped); without it the job is left out. */
  accrual?: Effect.Effect<SavingsAccrual.Accrued, import("@spotfleet/engine").EngineError.StoreError, AgentStore.AgentStore | PriceService.PriceService>,
  /** The notification projector (it remembers where it stopped); without it the job is left out. */
  notifications?: Effect.Effect<Notification.Projected, import("@spotfleet/engine").EngineError.StoreError, EventLog.EventLog | Notification.NotificationStore>
): ReadonlyArray<Jobs.JobSpec<Requirements>> => {
  const standard: ReadonlyArray<Jobs.JobSpec<Requirements>> = Jobs.standard({
    liveness: { offlineAfter: c.offlineAfter },
    zombieRetention: c.zombieRetention
  })
  const autoSwitch: Jobs.JobSpec<Requirements> = {
    name: "auto-switch",
    every: c.periods["auto-switch"],
    run: Effect.map(AutoSwitch.runOnce(), (summary) => ({ ...summary }))
  }
  return [
    ...standard.map((spec) => ({ ...spec, every: c.periods[spec.name as JobName] ?? spec.every })),
    ConsolidationJob.jobSpec({ every: c.periods.consolidation }),
    autoSwitch,
    ...(accrual === undefined ? [] : [SavingsAccrual.job(accrual, c.periods["savings-accrual"])]),
    ...(notifications === undefined ? [] : [Notification.job(notifications, c.periods.notifications)])
  ]
}

/** Runs every job in fibers of the scope; closing the scope stops them and releases the leases. */
export const start = (c: JobsConfig): Effect.Effect<void, never, Requirements | Scope.Scope> =>
  c.enabled
    ? Effect.flatMap(
      Effect.all([SavingsAccrual.make(), Notification.makeProjector()]),
      ([accrual, notifications]) => Jobs.runScoped(specs(c, accrual, notifications), c.holder)
    )
    : Effect.void

/** One line for the start-up banner. */
export const describe = (c: JobsConfig): string =>
  c.enabled
    ? `holder ${c.holder}; ${jobNames.map((n) => `${n} every ${Duration.format(c.periods[n])}`).join(", ")}`
    : "off in this process (SPOTFLEET_JOBS=0)"
