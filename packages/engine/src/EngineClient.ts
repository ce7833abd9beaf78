/**
 * A Promise facade over the engine for services that do not use Effect. One runtime is built
 * once (`ManagedRuntime`) and shared by every call; failures reject with a plain
 * `SpotfleetError` that carries the engine error's tag and fields, never a fiber trace.
 *
 * @since 0.1.0
 */
import { Cause, Duration, Effect, Exit, Layer, ManagedRuntime, Option } from "effect"
import * as Engine from "./Engine.js"
import * as Jobs from "./Jobs.js"
import * as MemoryStore from "./MemoryStore.js"

/**
 * The error every facade call rejects with.
 *
 * @since 0.1.0
 * @category errors
 */
export class SpotfleetError extends Error {
  /** The engine error tag, e.g. `AgentNotFound`, `InvalidInput`, `FlowConflict`. */
  readonly code: string
  /** The engine error's fields (e.g. `field` and `reason` for `InvalidInput`). */
  readonly details: Readonly<Record<string, unknown>>
  constructor(code: string, message: string, details: Readonly<Record<string, unknown>>) {
    super(message)
    this.name = "SpotfleetError"
    this.code = code
    this.details = details
  }
}

type Promised<F> = F extends (...args: infer A) => Effect.Effect<infer R, any, any> ? (...args: A) => Promise<R>
  : F extends Effect.Effect<infer R, any, any> ? () => Promise<R>
  : never

/**
 * The engine with every operation returning a Promise.
 *
 * @since 0.1.0
 * @category models
 */
export type EngineClient = { readonly [K in keyof Engine.EngineService]: Promised<Engine.EngineService[K]> } & {
  /**
   * Runs one background job once (see `Jobs`) and resolves with its counts. The host schedules
   * it (e.g. `setInterval`); the facade takes no lease, so with several processes on one store
   * run each job in one process only, or use `Jobs.runForever` with a `JobLease` from Effect.
   */
  readonly runJob: (name: JobName, options?: RunJobOptions) => Promise<Readonly<Record<string, unknown>>>
  /** Releases the runtime and the store's resources (connection pools). */
  readonly dispose: () => Promise<void>
  readonly [Symbol.asyncDispose]: () => Promise<void>
}

/**
 * Options of `createEngine`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateEngineOptions extends Engine.EngineOptions {
  /**
   * The store layer (every store port). Default: a fresh in-memory store. For MySQL pass
   * `MysqlStore.layerFromUrl(url)` from `@spotfleet/adapter-mysql`.
   */
  readonly store?: Layer.Layer<MemoryStore.Stores, unknown> | undefined
}

/**
 * The background jobs `runJob` can run: `liveness` (`Jobs.liveness`), `command-sweep`
 * (`Jobs.sweep`), `zombie-retention` (`Jobs.zombieRetention`) and `retention` (`Jobs.retention`).
 *
 * @since 0.1.0
 * @category models
 */
export type JobName = "liveness" | "command-sweep" | "zombie-retention" | "retention"

/**
 * Options of `runJob`; each applies to its own job only.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunJobOptions {
  /** `liveness`: an online agent without a heartbeat for this many seconds goes offline (default 90). */
  readonly offlineAfterSeconds?: number | undefined
  /** `zombie-retention`: ZOMBIEs demoted longer ago than this many seconds are retired (default 30 days). */
  readonly zombieRetentionSeconds?: number | undefined
  /** `retention`: idempotency records older than this many seconds are dropped (default 24 h). */
  readonly idempotencyWindowSeconds?: number | undefined
}

const seconds = (n: number | undefined) => (n === undefined ? undefined : Duration.seconds(n))

const jobOf = (
  name: JobName,
  options: RunJobOptions
): Effect.Effect<Readonly<Record<string, unknown>>, Engine.EngineFailure, Engine.Engine | MemoryStore.Stores> => {
  switch (name) {
    case "liveness":
      return Jobs.liveness({ offlineAfter: seconds(options.offlineAfterSeconds) })
    case "command-sweep":
      return Jobs.sweep
    case "zombie-retention":
      return Jobs.zombieRetention({ retention: seconds(options.zombieRetentionSeconds) })
    case "retention":
      return Jobs.retention({ idempotencyWindow: seconds(options.idempotencyWindowSeconds) })
  }
}

const toError = (cause: Cause.Cause<unknown>): Error => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value as { _tag?: string; message?: string } & Record<string, unknown>
    const { _tag, ...rest } = e
    const details: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(rest)) if (k !== "message" && k !== "stack") details[k] = v
    return new SpotfleetError(_tag ?? "Error", e.message ?? String(_tag), details)
  }
  return new SpotfleetError("Defect", Cause.pretty(cause).split("\n")[0] ?? "unexpected error", {})
}

/**
 * Creates an engine whose operations return Promises.
 *
 * ```ts
 * const engine = createEngine()
 * const tenant = await engine.createTenant({ name: "acme", tokenHash: sha256(token) })
 * const { agent } = await engine.register(tenant.id, { logicalAgentId: "web-1", cloudInstanceId: "i-1", pool })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const createEngine = (options: CreateEngineOptions = {}): EngineClient => {
  // provideMerge: the jobs of `runJob` read the store ports directly.
  const layer = Engine.layer(options).pipe(Layer.provideMerge(options.store ?? MemoryStore.layer))
  const runtime = ManagedRuntime.make(layer)
  const client: Record<string | symbol, unknown> = {}
  const methodNames = [
    "createTenant", "getTenant", "addTenantToken", "authenticate", "register", "heartbeat", "heartbeats", "pollCommands",
    "reportResult", "confirmLaunch", "confirmTerminated", "notice", "getAgent", "listAgents", "updateConfig",
    "requestReplica", "removeReplica", "promote", "switchPool", "retireZombie", "maintain", "markOffline", "events", "switches", "cancelSwitch", "reportSwitch", "reconcileInventory"
  ] as const satisfies ReadonlyArray<keyof Engine.EngineService>
  const runEffect = async <A>(effect: Effect.Effect<A, unknown, Engine.Engine | MemoryStore.Stores>): Promise<A> => {
    const exit = await runtime.runPromiseExit(effect)
    if (Exit.isSuccess(exit)) return exit.value
    throw toError(exit.cause)
  }
  const run = (f: (engine: Engine.EngineService) => Effect.Effect<unknown, unknown>) => runEffect(Effect.flatMap(Engine.Engine, f))
  for (const name of methodNames) {
    client[name] = (...args: Array<unknown>) => run((e) => (e[name] as (...a: Array<unknown>) => never)(...args))
  }
  client.listTenants = () => run((e) => e.listTenants)
  client.poolLedger = () => run((e) => e.poolLedger)
  client.quarantinedPools = () => run((e) => e.quarantinedPools)
  client.runJob = (name: JobName, jobOptions: RunJobOptions = {}) => runEffect(jobOf(name, jobOptions))
  client.dispose = () => runtime.dispose()
  client[Symbol.asyncDispose] = () => runtime.dispose()
  return client as EngineClient
}
