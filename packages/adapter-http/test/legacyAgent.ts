/**
 * A scripted stand-in for the legacy Python agent (v5), following that agent's protocol (the
 * dialect of `src/LegacyApi.ts`) with shortened timers, over a fake cloud. It does what the real
 * agent does and breaks where the real agent breaks: a null `request_id`, non-object
 * `params`/`metadata`, an empty heartbeat answer or a heartbeat answered non-2xx (it goes offline
 * until its process restarts; a 404 does not make it register again) stop it (recorded as
 * `fatal`); any other non-2xx is a failure it backs off from (recorded in `failures`).
 */
import { Effect, Ref } from "effect"
import { formatTimestamp } from "../src/internal/legacy.js"
import { legacyCall } from "./legacy.js"

export interface CloudInstance {
  readonly id: string
  state: "running" | "terminated"
  readonly az: string
  readonly type: string
  readonly lifecycle: "spot" | "on-demand"
  tags: Record<string, string>
  readonly launchTime: number
}

/** The region as the agent sees it through the cloud API and the instance metadata service. */
export class FakeCloud {
  readonly instances = new Map<string, CloudInstance>()
  /** Termination notices (instance id → termination time). */
  readonly notices = new Map<string, number>()
  private n = 0

  add(instance: Omit<CloudInstance, "launchTime">): CloudInstance {
    const full = { ...instance, launchTime: Date.now() }
    this.instances.set(instance.id, full)
    return full
  }

  launch(type: string, az: string, lifecycle: "spot" | "on-demand", role: string): CloudInstance {
    const id = `i-${(++this.n).toString(16).padStart(4, "0")}${Math.random().toString(16).slice(2, 14)}`
    return this.add({ id, state: "running", az, type, lifecycle, tags: { Role: role, ManagedBy: "SpotOptimizer" } })
  }

  terminate(id: string): boolean {
    const found = this.instances.get(id)
    if (found === undefined) return false
    found.state = "terminated"
    this.notices.delete(id)
    return true
  }

  inventory() {
    const instances = [...this.instances.values()].map((i) => ({
      instance_id: i.id,
      state: i.state,
      az: i.az,
      instance_type: i.type,
      pool: i.lifecycle === "spot" ? `${i.type}.${i.az}` : null,
      tags: i.tags,
      launch_time: new Date(i.launchTime).toISOString().replace(".000Z", "+00:00").replace(/\.\d{3}Z$/, "+00:00"),
      private_ip: "10.0.1.17",
      public_ip: null
    }))
    return { instances, count: instances.length }
  }
}

export interface Timers {
  readonly heartbeatMillis: number
  readonly pollMillis: number
  readonly noticeMillis: number
  readonly launchMillis: number
  readonly terminateMillis: number
}

export interface AgentLog {
  readonly calls: Array<{ readonly method: string; readonly path: string; readonly status: number }>
  readonly failures: Array<string>
  readonly fatal: Array<string>
  readonly executed: Array<{ readonly type: string; readonly requestId: string; readonly result: string }>
}

const now = () => formatTimestamp(Date.now())

/**
 * Runs the agent until `stop` is set (or SELF_DESTRUCT, or a fatal answer). `onStep` runs after
 * every call it makes (the test checks its invariants there).
 */
export const runAgent = <R>(options: {
  readonly token: string
  readonly cloud: FakeCloud
  /** The instance the agent runs on (its IMDS identity). */
  readonly host: CloudInstance
  readonly timers: Timers
  readonly stop: Ref.Ref<boolean>
  readonly log: AgentLog
  readonly agentId: Ref.Ref<string | null>
  readonly onStep: Effect.Effect<void, never, R>
  /** While set, the agent's launch reports (instance-launched and the LAUNCH's action-result) are lost. */
  readonly dropLaunchReports?: Ref.Ref<boolean> | undefined
  /**
   * While set, the agent makes no call (it waits for the server, e.g. while it restarts); the agent
   * sets `waiting` once it stopped between two calls. Dropping launch reports sets it too: the
   * reports were lost because the server went down.
   */
  readonly paused?: Ref.Ref<boolean> | undefined
  readonly waiting?: Ref.Ref<boolean> | undefined
}) =>
  Effect.gen(function*() {
    const { cloud, host, log, timers, token } = options
    const results = new Map<string, Record<string, unknown>>()
    const request = (method: string, path: string, body?: unknown) =>
      Effect.gen(function*() {
        const res = yield* legacyCall(token, method, path, body)
        log.calls.push({ method, path, status: res.status })
        if (res.status < 200 || res.status >= 300) log.failures.push(`${method} ${path}: ${res.status} ${res.text}`)
        yield* options.onStep
        return res
      })
    const fatal = (why: string) => Effect.sync(() => log.fatal.push(why))

    const register = Effect.gen(function*() {
      const res = yield* request("POST", "/api/agents/register", {
        cloud_account: "",
        project_id: "default",
        region: host.az.slice(0, -1),
        hostname: "ip-10-0-1-17",
        agent_version: "5.0.1-production",
        instance_id: host.id,
        instance_type: host.type,
        az: host.az,
        ami_id: "ami-03cf127a",
        mode: "unknown",
        logical_agent_id: host.id
      })
      const id = res.body?.agent_id
      if (typeof id !== "string" || id.length === 0) return yield* fatal(`register answered without agent_id: ${res.text}`)
      yield* Ref.set(options.agentId, id)
    })

    const heartbeat = (agentId: string, reconnect: boolean) =>
      Effect.gen(function*() {
        const res = yield* request("POST", `/api/agents/${agentId}/heartbeat`, {
          status: "online",
          inventory_snapshot: reconnect ? {} : cloud.inventory(),
          health_metrics: { uptime: 10, cpu_percent: 0, memory_percent: 0 },
          reconnect
        })
        if (res.status < 200 || res.status >= 300) return yield* fatal(`heartbeat answered ${res.status}: offline until restarted`)
        const body = res.body
        if (res.status < 300 && (typeof body !== "object" || body === null || Array.isArray(body) || Object.keys(body).length === 0)) {
          yield* fatal(`empty heartbeat answer: ${res.text}`)
        }
      })

    const report = (agentId: string, requestId: string, result: Record<string, unknown>) =>
      request("POST", `/api/agents/${agentId}/action-result`, { request_id: requestId, agent_id: agentId, ...result })

    const execute = (agentId: string, command: any) =>
      Effect.gen(function*() {
        const requestId = command.request_id
        if (typeof requestId !== "string" || requestId.length === 0) return yield* fatal(`command without request_id: ${JSON.stringify(command)}`)
        const isObject = (u: unknown) => typeof u === "object" && u !== null && !Array.isArray(u)
        if (!isObject(command.params) || !isObject(command.metadata)) return yield* fatal(`params/metadata not objects: ${JSON.stringify(command)}`)
        const cached = results.get(requestId)
        if (cached !== undefined) {
          yield* report(agentId, requestId, cached)
          return
        }
        const p: Record<string, any> = { ...command.params, ...command.metadata, request_id: requestId }
        let result: Record<string, unknown>
        switch (command.command_type) {
          case "LAUNCH_INSTANCE": {
            const target = String(p.target_pool ?? "")
            const lifecycle = target.includes("spot") ? "spot" : "on-demand"
            const az = p.az ?? target.split(".").at(-1)
            const launched = cloud.launch(p.instance_type, az, lifecycle, p.role_hint ?? "replica")
            yield* Effect.sleep(timers.launchMillis) // waits until running
            if (options.dropLaunchReports !== undefined && (yield* Ref.get(options.dropLaunchReports))) {
              // The reports never reach the server (it went down while they were on the way).
              results.set(requestId, { result: "SUCCESS", cloud_instance_id: launched.id, error_message: null, metadata: {} })
              log.executed.push({ type: command.command_type, requestId, result: "SUCCESS (reports lost)" })
              if (options.paused !== undefined) yield* Ref.set(options.paused, true)
              return
            }
            yield* request("POST", `/api/agents/${agentId}/instance-launched`, {
              temp_instance_id: command.instance_id,
              instance_id: launched.id,
              instance_type: launched.type,
              az: launched.az,
              request_id: requestId,
              confirmed_at: now()
            })
            result = { result: "SUCCESS", cloud_instance_id: launched.id, error_message: null, metadata: { ami_id: "ami-03cf127a" } }
            break
          }
          case "TERMINATE_INSTANCE": {
            const id = p.instance_id
            cloud.terminate(id)
            yield* Effect.sleep(timers.terminateMillis)
            yield* request("POST", `/api/agents/${agentId}/instance-terminated`, { instance_id: id, request_id: requestId, confirmed_at: now() })
            result = { result: "SUCCESS", cloud_instance_id: null, error_message: null, metadata: {} }
            break
          }
          case "PROMOTE_REPLICA_TO_PRIMARY": {
            const replica = cloud.instances.get(p.replica_instance_id)
            const old = cloud.instances.get(p.old_primary_id)
            if (replica === undefined) {
              result = { result: "FAILURE", cloud_instance_id: null, error_message: `no replica ${p.replica_instance_id}`, metadata: {} }
              break
            }
            replica.tags = { ...replica.tags, Role: "primary" }
            if (old !== undefined) old.tags = { ...old.tags, Role: "replica" }
            result = { result: "SUCCESS", cloud_instance_id: null, error_message: null, metadata: {} }
            break
          }
          case "APPLY_CONFIG":
            result = { result: "SUCCESS", cloud_instance_id: null, error_message: null, metadata: {} }
            break
          case "SELF_DESTRUCT":
            result = { result: "SUCCESS", cloud_instance_id: null, error_message: null, metadata: {} }
            yield* Ref.set(options.stop, true)
            break
          default:
            result = { result: "FAILURE", cloud_instance_id: null, error_message: "Unknown command type", metadata: {} }
        }
        results.set(requestId, result)
        log.executed.push({ type: command.command_type, requestId, result: String(result.result) })
        yield* report(agentId, requestId, result)
      })

    yield* register
    let nextHeartbeat = 0
    let nextPoll = 0
    let nextNotice = 0
    let first = true
    while (!(yield* Ref.get(options.stop)) && log.fatal.length === 0) {
      if (options.paused !== undefined && (yield* Ref.get(options.paused))) {
        if (options.waiting !== undefined) yield* Ref.set(options.waiting, true)
        yield* Effect.sleep(5)
        continue
      }
      if (options.waiting !== undefined) yield* Ref.set(options.waiting, false)
      const agentId = yield* Ref.get(options.agentId)
      if (agentId === null) {
        yield* register
        continue
      }
      const t = Date.now()
      if (t >= nextHeartbeat) {
        yield* heartbeat(agentId, first)
        first = false
        nextHeartbeat = Date.now() + timers.heartbeatMillis
      }
      if (t >= nextNotice) {
        // IMDS of its own instance: a termination notice is re-sent while it stands.
        const deadline = cloud.notices.get(host.id)
        if (deadline !== undefined) {
          yield* request("POST", `/api/agents/${agentId}/termination-report`, {
            cloud_instance_id: host.id,
            notice_type: "TERMINATION",
            termination_time: new Date(deadline).toISOString().replace(/\.\d{3}Z$/, "Z")
          })
        }
        nextNotice = Date.now() + timers.noticeMillis
      }
      if (t >= nextPoll) {
        const res = yield* request("GET", `/api/agents/${agentId}/commands/pending`)
        if (res.status < 300) {
          if (!Array.isArray(res.body?.commands)) {
            yield* fatal(`poll answer without commands: ${res.text}`)
          } else {
            // One after another, no heartbeats and no notice checks meanwhile.
            for (const command of res.body.commands) yield* execute(agentId, command)
          }
        }
        nextPoll = Date.now() + timers.pollMillis
      }
      yield* Effect.sleep(5)
    }
  })
