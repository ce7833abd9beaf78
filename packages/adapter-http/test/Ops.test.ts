/**
 * Emergencies and switching end to end over real HTTP on MariaDB (`TEST_MYSQL_URL`, default
 * `mysql://root@127.0.0.1:3306`, a fresh database dropped after), with simulated agents that poll,
 * execute commands and report results: the emergency flows of DESIGN.md §4 with exactly one
 * PRIMARY at every step, a manual switch with downtime, zombie/terminated retirement and savings,
 * and the dry-run decision log. Skipped loudly when MariaDB is unreachable (failed under CI=true).
 */
import { assert, describe, layer } from "@effect/vitest"
import { AutoSwitch, DecisionLog, DecisionModel, PriceService } from "@spotfleet/engine"
import { Clock, Effect, Layer } from "effect"
import * as MariaDb from "./mariadb.js"
import * as Sim from "./simAgent.js"
import { adminToken, call, createTenant, serverLayer } from "./utils.js"

const reachable = await MariaDb.reachable("adapter-http ops tests")
const { stores: mysqlStores } = MariaDb.freshStore("spotfleet_ops")
/** The decision log the server reads and the in-process decision loop writes. */
const decisionLog = DecisionLog.makeMemory()

const stores = Layer.merge(
  mysqlStores,
  Layer.succeed(DecisionLog.DecisionLog, decisionLog)
)

const sleep = (ms: number) => Effect.promise(() => new Promise((r) => setTimeout(r, ms)))

const get = (path: string, token: string) => Effect.map(call("GET", path, { token }), (r) => Sim.ok(r, `GET ${path}`) as any)

const typesOf = (events: ReadonlyArray<{ type: string }>) => events.map((e) => e.type)

/** Teaches the ledger a pool's boot time: three replicas launched there and removed again. */
const seedBoot = (token: string, home: string, pool: string) =>
  Effect.gen(function*() {
    const seed = yield* Sim.register(token, { logicalAgentId: `seed-${pool}`, pool: home })
    for (let k = 0; k < 3; k++) {
      Sim.ok(yield* call("POST", `/api/agents/${seed.agentId}/replicas`, { token, body: { pool } }), "replica")
      const [launch] = yield* seed.step()
      assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
      const replica = (yield* seed.instances).find((i) => i.role === "REPLICA")!
      Sim.ok(yield* call("DELETE", `/api/agents/${seed.agentId}/replicas/${replica.id}`, { token }), "remove replica")
      yield* seed.step()
    }
  })

const suite = reachable ? layer(serverLayer(stores), { timeout: "120 seconds", excludeTestServices: true }) : undefined

if (suite === undefined) {
  describe.skip("emergencies and switching over HTTP (MariaDB)", () => {})
} else {
  suite("emergencies and switching over HTTP (MariaDB)", (it) => {
    it.effect("termination with a ready replica: PROMOTE at emergency priority, promoted, one PRIMARY throughout", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`em-ready-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "web-1", pool: "t3.small.eu-west-1a" })
        Sim.ok(yield* call("POST", `/api/agents/${agent.agentId}/replicas`, { token: tenant.token, body: { pool: "t3.small.eu-west-1b" } }), "replica")
        const [launch] = yield* agent.step()
        assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
        yield* agent.onePrimary("with a ready replica")
        yield* agent.notice("termination", agent.instanceId)
        yield* agent.onePrimary("after the notice")
        const [promote] = yield* agent.poll
        assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
        assert.strictEqual(promote!.priority, 100)
        assert.isNotNull(promote!.expiresAt)
        yield* agent.onePrimary("with the PROMOTE handed out")
        yield* agent.execute(promote!)
        const primary = yield* agent.onePrimary("after the promotion")
        assert.notStrictEqual(primary.cloudInstanceId, agent.instanceId)
        assert.strictEqual((yield* agent.roles)[agent.instanceId], "TERMINATED")
        const page = yield* get(`/api/emergency-events?agentId=${agent.agentId}`, tenant.token)
        assert.includeMembers(typesOf(page.events), ["NoticeReceived", "EmergencyPromotion", "NoticeCleared"])
        assert.isTrue(page.events.every((e: { agentId: string }) => e.agentId === agent.agentId))
      }))

    it.effect("no replica: LAUNCH in the fastest-boot pool from the ledger, PROMOTE on arrival", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`em-none-${crypto.randomUUID()}`)
        yield* seedBoot(tenant.token, "c5.large.eu-central-1c", "c5.large.eu-central-1b")
        const ledger = yield* get("/api/admin/pool-ledger", adminToken)
        const seeded = ledger.pools.find((p: { pool: string }) => p.pool === "c5.large.eu-central-1b")
        assert.strictEqual(seeded.bootSamples, 3)
        assert.isNotNull(seeded.medianBootSeconds)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "web-1", pool: "c5.large.eu-central-1a" })
        yield* agent.notice("termination", agent.instanceId)
        const [launch] = yield* agent.poll
        assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
        assert.strictEqual(launch!.priority, 100)
        assert.strictEqual(launch!.params.target_pool, "spot:c5.large.eu-central-1b")
        yield* agent.onePrimary("while the replacement launches")
        yield* agent.execute(launch!)
        yield* agent.onePrimary("with the replacement running")
        const [promote] = yield* agent.poll
        assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
        yield* agent.execute(promote!)
        const primary = yield* agent.onePrimary("after the promotion")
        assert.strictEqual(primary.pool, "c5.large.eu-central-1b")
        const events = yield* get(`/api/emergency-events?agentId=${agent.agentId}`, tenant.token)
        const launchEvent = events.events.find((e: { type: string }) => e.type === "EmergencyLaunch")
        assert.strictEqual(launchEvent.data.step, "launch")
      }))

    it.effect("spot capacity failure moves to on-demand in the same zone at once", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`em-cap-${crypto.randomUUID()}`)
        yield* seedBoot(tenant.token, "m5.large.eu-north-1c", "m5.large.eu-north-1b")
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "web-1", pool: "m5.large.eu-north-1a" })
        yield* agent.notice("termination", agent.instanceId)
        const [spot] = yield* agent.poll
        assert.strictEqual(spot!.params.target_pool, "spot:m5.large.eu-north-1b")
        // No spot capacity anywhere: each failure moves down the chain at once, to on-demand.
        let launch = spot!
        let failures = 0
        while (String(launch.params.target_pool).startsWith("spot:")) {
          yield* agent.execute(launch, "InsufficientInstanceCapacity")
          failures++
          yield* agent.onePrimary(`after failed launch ${failures}`)
          const next = yield* agent.poll
          assert.strictEqual(next.length, 1)
          launch = next[0]!
          assert.strictEqual(launch.type, "LAUNCH_INSTANCE")
        }
        const onDemand = launch
        assert.strictEqual(onDemand.params.target_pool, "ondemand:m5.large.eu-north-1a")
        assert.strictEqual(onDemand.expiresAt, spot!.expiresAt)
        yield* agent.execute(onDemand)
        const [promote] = yield* agent.poll
        yield* agent.execute(promote!)
        const primary = yield* agent.onePrimary("after the promotion")
        assert.strictEqual(primary.lifecycle, "on-demand")
        const events = yield* get(`/api/admin/emergency-events?agentId=${agent.agentId}&limit=1000`, adminToken)
        const steps = events.events.filter((e: { type: string }) => e.type === "EmergencyLaunch").map((e: { data: { step: string } }) => e.data.step)
        assert.deepStrictEqual(steps, ["launch", ...Array.from({ length: failures }, () => "fallback")])
      }))

    it.effect("duplicate termination notices are handled once", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`em-dup-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "web-1", pool: "r5.large.ap-south-1a" })
        for (let k = 0; k < 4; k++) {
          yield* agent.notice("termination", agent.instanceId)
          yield* agent.onePrimary(`after notice ${k + 1}`)
        }
        yield* agent.notice("rebalance", agent.instanceId)
        const events = yield* get(`/api/emergency-events?agentId=${agent.agentId}`, tenant.token)
        assert.strictEqual(typesOf(events.events).filter((t) => t === "NoticeReceived").length, 1)
        const launches = (yield* agent.commands).filter((c) => c.type === "LAUNCH_INSTANCE")
        assert.strictEqual(launches.length, 1)
        // The flow completes once.
        yield* agent.step()
        yield* agent.onePrimary("with the replacement running")
        yield* agent.step()
        const primary = yield* agent.onePrimary("after the promotion")
        assert.notStrictEqual(primary.cloudInstanceId, agent.instanceId)
        assert.deepStrictEqual(yield* agent.poll, [])
      }))

    it.effect("reclaimed before the replacement arrives: DEGRADED (no PRIMARY) until it is promoted; the ledger records the lead time", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`em-late-${crypto.randomUUID()}`)
        const pool = "t3.xlarge.ap-northeast-1a"
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "web-1", pool })
        yield* agent.notice("termination", agent.instanceId)
        const [launch] = yield* agent.poll
        assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
        yield* agent.onePrimary("before the reclaim")
        yield* sleep(200)
        const gone = Sim.ok(
          yield* call("POST", `/api/agents/${agent.agentId}/instances/terminated`, { token: tenant.token, body: { instanceId: agent.instanceId } }),
          "terminated"
        ) as any
        assert.isTrue(gone.agent.degraded)
        assert.strictEqual((yield* agent.instances).filter((i) => i.role === "PRIMARY").length, 0, "no PRIMARY while DEGRADED")
        yield* agent.execute(launch!)
        assert.isAtMost((yield* agent.instances).filter((i) => i.role === "PRIMARY").length, 1)
        const [promote] = yield* agent.poll
        assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
        yield* agent.execute(promote!)
        yield* agent.onePrimary("after the promotion")
        const view = yield* get(`/api/agents/${agent.agentId}`, tenant.token)
        assert.isFalse(view.agent.degraded)
        const events = yield* get(`/api/emergency-events?agentId=${agent.agentId}`, tenant.token)
        assert.includeMembers(typesOf(events.events), ["AgentDegraded", "AgentRecovered", "EmergencyPromotion"])
        const ledger = yield* get("/api/admin/pool-ledger", adminToken)
        const row = ledger.pools.find((p: { pool: string }) => p.pool === pool)
        assert.strictEqual(row.reclaims, 1)
        assert.strictEqual(row.leadTimeSeconds.length, 1)
        assert.isAtLeast(row.leadTimeSeconds[0], 0.2)
        assert.strictEqual(row.medianLeadTimeSeconds, row.leadTimeSeconds[0])
      }))

    it.effect("rebalance then termination: the prepared replica is promoted at once; the ledger counts the rebalance as followed", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`em-reb-${crypto.randomUUID()}`)
        const pool = "t3.large.sa-east-1a"
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "web-1", pool })
        yield* agent.notice("rebalance", agent.instanceId)
        const [launch] = yield* agent.step()
        assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
        assert.strictEqual(launch!.priority, 100)
        yield* agent.onePrimary("with the prepared replica")
        assert.deepStrictEqual(yield* agent.poll, [], "a rebalance only prepares")
        assert.strictEqual(Object.values(yield* agent.roles).filter((r) => r === "REPLICA").length, 1)
        yield* agent.notice("termination", agent.instanceId)
        const [promote] = yield* agent.poll
        assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
        yield* agent.onePrimary("with the PROMOTE handed out")
        yield* agent.execute(promote!)
        yield* agent.onePrimary("after the promotion")
        Sim.ok(yield* call("POST", `/api/agents/${agent.agentId}/instances/terminated`, { token: tenant.token, body: { instanceId: agent.instanceId } }), "terminated")
        const ledger = yield* get("/api/admin/pool-ledger", adminToken)
        const row = ledger.pools.find((p: { pool: string }) => p.pool === pool)
        assert.strictEqual(row.rebalanceNotices, 1)
        assert.strictEqual(row.terminationNotices, 1)
        assert.strictEqual(row.rebalanceFollowed, 1)
        assert.strictEqual(row.rebalanceFalsePositives, 0)
        assert.isTrue(row.quarantined)
        // Tenant tokens cannot read the operator's ledger.
        assert.strictEqual((yield* call("GET", "/api/admin/pool-ledger", { token: tenant.token })).status, 401)
      }))

    /**
     * Spot and on-demand prices as an agent reports them (observed now), through the engine's
     * ingestion (`PriceService.ingest`, the path of the agent's price reports into the snapshot
     * tier), against the server's own store.
     */
    const reportPrices = (agent: Sim.SimAgent, prices: Record<string, number>) =>
      Effect.gen(function*() {
        const view = yield* get(`/api/agents/${agent.agentId}`, agent.token)
        const service = yield* PriceService.make
        const now = yield* Clock.currentTimeMillis
        yield* service.ingest(view.agent.tenantId, agent.agentId as never, {
          prices: Object.entries(prices).map(([pool, price]) => ({ pool, price, observedAt: now }))
        })
      }).pipe(Effect.orDie)

    it.effect("manual switch: simulate, switch, downtime (agent-reported and derived), zombie or terminated, savings accrue", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`sw-${crypto.randomUUID()}`)
        const token = tenant.token
        const from = "t3.medium.us-west-2a"
        const to = "t3.medium.us-west-2b"
        const zombie = yield* Sim.register(token, { logicalAgentId: "keep", pool: from, config: { autoTerminate: false } })
        const term = yield* Sim.register(token, { logicalAgentId: "drop", pool: from, config: { autoTerminate: true, terminateWaitSeconds: 0 } })
        yield* reportPrices(zombie, { [from]: 0.05, [to]: 0.02, [`ondemand:${from}`]: 0.1 })

        // Simulation: figures from current prices, nothing queued.
        const before = (yield* zombie.commands).length
        const sim = yield* Effect.map(
          call("POST", `/api/agents/${zombie.agentId}/switch/simulate`, { token, body: { pool: to } }),
          (r) => Sim.ok(r, "simulate") as any
        )
        assert.strictEqual(sim.currentPrice, 0.05)
        assert.strictEqual(sim.targetPrice, 0.02)
        assert.strictEqual(sim.onDemandPrice, 0.1)
        assert.closeTo(sim.hourlySavings, 0.03, 1e-12)
        assert.closeTo(sim.dailySavings, 0.72, 1e-9)
        assert.closeTo(sim.monthlySavings, 21.9, 1e-9)
        assert.closeTo(sim.savingsPercent, 60, 1e-9)
        assert.deepStrictEqual(sim.blockers, [])
        assert.strictEqual(sim.risk.score, 0)
        assert.strictEqual((yield* zombie.commands).length, before)
        const same = yield* call("POST", `/api/agents/${zombie.agentId}/switch/simulate`, { token, body: { pool: from } })
        // The state machine's own guard (SwitchGuards), in its words.
        assert.deepStrictEqual(same.body.blockers, [`the agent already runs in ${from}`])

        // A switch in progress can be cancelled before its PROMOTE is handed out …
        Sim.ok(yield* call("POST", `/api/agents/${term.agentId}/switch`, { token, body: { pool: to } }), "switch")
        Sim.ok(yield* call("DELETE", `/api/agents/${term.agentId}/switch`, { token }), "cancel")
        const rejected = yield* call("POST", `/api/agents/${zombie.agentId}/switch`, { token, body: { pool: from } })
        assert.strictEqual(rejected.status, 400, "same pool")
        assert.match(rejected.body.error.message, /pool/)
        for (const c of yield* term.poll) yield* term.execute(c)

        // … and goes through otherwise.
        for (const agent of [zombie, term]) {
          Sim.ok(yield* call("POST", `/api/agents/${agent.agentId}/switch`, { token, body: { pool: to } }), "switch")
          const [launch] = yield* agent.poll
          assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
          assert.strictEqual(launch!.priority, 75)
          yield* agent.execute(launch!)
          yield* agent.onePrimary("with the target running")
          const [promote] = yield* agent.poll
          assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
          const late = yield* call("DELETE", `/api/agents/${agent.agentId}/switch`, { token })
          assert.strictEqual(late.status, 409, "no cancel once the PROMOTE is out")
          yield* sleep(50)
          yield* agent.execute(promote!)
          const primary = yield* agent.onePrimary("after the switch")
          assert.strictEqual(primary.pool, to)
          if (agent === zombie) {
            const r = yield* call("POST", `/api/agents/${agent.agentId}/switch-report`, {
              token,
              body: { fromInstanceId: agent.instanceId, toInstanceId: primary.cloudInstanceId, downtimeSeconds: 2.5, request_id: promote!.requestId }
            })
            assert.strictEqual(Sim.ok(r, "switch-report").accepted, 1)
          }
        }
        assert.strictEqual((yield* zombie.roles)[zombie.instanceId], "ZOMBIE")
        const [terminate] = yield* term.step()
        assert.strictEqual(terminate!.type, "TERMINATE_INSTANCE")
        assert.strictEqual((yield* term.roles)[term.instanceId], "TERMINATED")

        const { switches } = yield* get("/api/switches", token)
        const done = switches.filter((s: { result: string }) => s.result === "succeeded")
        assert.strictEqual(done.length, 2)
        const mine = done.find((s: { agentId: string }) => s.agentId === zombie.agentId)
        assert.strictEqual(mine.downtimeSeconds, 2.5)
        assert.strictEqual(mine.downtimeSource, "agent")
        assert.strictEqual(mine.trigger, "manual")
        assert.strictEqual(mine.fromPool, from)
        assert.strictEqual(mine.toPool, to)
        const derived = done.find((s: { agentId: string }) => s.agentId === term.agentId)
        assert.strictEqual(derived.downtimeSource, "derived")
        assert.isAtLeast(derived.downtimeSeconds, 0.05)
        assert.isNotNull(derived.oldTerminatedAt)
        assert.isTrue(switches.some((s: { result: string; agentId: string }) => s.result === "cancelled" && s.agentId === term.agentId))

        const csv = yield* call("GET", "/api/switches.csv", { token })
        assert.strictEqual(csv.status, 200)
        assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/)
        const rows = csv.text.trim().split("\r\n")
        assert.strictEqual(rows.length, 1 + switches.length)
        assert.match(rows[0]!, /^flowId,agentId,trigger,result/)

        const downtime = yield* get("/api/analytics/downtime", token)
        assert.strictEqual(downtime.succeeded, 2)
        assert.strictEqual(downtime.maxSeconds, Math.max(2.5, derived.downtimeSeconds))

        // Savings of the new pool grow with time: (0.10 − 0.02) $/h while the new PRIMARY runs.
        const first = yield* get(`/api/savings?agentId=${zombie.agentId}`, token)
        yield* sleep(400)
        const second = yield* get(`/api/savings?agentId=${zombie.agentId}`, token)
        const poolLine = (r: any) => r.byPool.find((l: { key: string }) => l.key === to)
        assert.isAbove(poolLine(second).netSavings, poolLine(first).netSavings)
        assert.isAbove(poolLine(second).primaryHours - poolLine(first).primaryHours, 0.3 / 3600)
        assert.closeTo(poolLine(second).grossSavings / poolLine(second).primaryHours, 0.08, 1e-9)
        // The new instance ran as a REPLICA before its promotion: spend without a baseline.
        assert.isAbove(poolLine(second).hours, poolLine(second).primaryHours)
        assert.closeTo(poolLine(second).actualCost / poolLine(second).hours, 0.02, 1e-9)
        // Before the switch the agent ran in the old pool: 0.05 $/h saved there while it was the
        // PRIMARY. Since then it runs on as a ZOMBIE: 0.05 $/h spent for nothing, which the net
        // savings pay for (it is not saving 0.05 $/h as it did before).
        const old = second.byPool.find((l: { key: string }) => l.key === from)
        assert.closeTo(old.grossSavings / old.primaryHours, 0.05, 1e-9)
        assert.closeTo(old.hours - old.primaryHours, poolLine(second).primaryHours, 1e-9, "a ZOMBIE since the new PRIMARY took over")
        assert.closeTo(old.netSavings, 0.1 * old.primaryHours - 0.05 * old.hours, 1e-12)
        assert.strictEqual(old.leakedCost, 0, "a ZOMBIE is kept on purpose: spend, not leaked")
        assert.closeTo(second.total.netSavings, poolLine(second).netSavings + old.netSavings, 1e-12)
        assert.closeTo(second.total.baselineCost / second.total.primaryHours, 0.1, 1e-9)
        assert.strictEqual(second.byAgent.length, 1)
        assert.strictEqual(second.byInstance.length, 2)
        assert.closeTo(second.byInstance.reduce((sum: number, l: { netSavings: number }) => sum + l.netSavings, 0), second.total.netSavings, 1e-12)

        const tenantWide = yield* get("/api/savings", token)
        assert.strictEqual(tenantWide.byAgent.length, 2)
        const savingsCsv = yield* call("GET", "/api/savings.csv?groupBy=pool", { token })
        assert.match(savingsCsv.headers.get("content-type") ?? "", /^text\/csv/)
        const lines = savingsCsv.text.trim().split("\r\n")
        assert.strictEqual(
          lines[0],
          "pool,hours,primaryHours,baselineCost,primaryCost,actualCost,leakedCost,grossSavings,netSavings,grossSavingsPercent,netSavingsPercent"
        )
        assert.isTrue(lines.some((l) => l.startsWith(`${to},`)))
        assert.isTrue(lines[lines.length - 1]!.startsWith("total,"))
      }))

    it.effect("dry-run: the decision log shows the switch that would have been made, and nothing is queued", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`dry-${crypto.randomUUID()}`)
        const token = tenant.token
        const from = "t3.medium.ca-central-1a"
        const to = "t3.medium.ca-central-1b"
        const dry = yield* Effect.map(call("PUT", "/api/tenant/dry-run", { token, body: { dryRun: true } }), (r) => Sim.ok(r, "dry-run") as any)
        assert.isTrue(dry.dryRun)
        const agent = yield* Sim.register(token, {
          logicalAgentId: "auto-1",
          pool: from,
          config: { autoSwitch: true, minPoolDurationHours: 0 }
        })
        yield* agent.step() // nothing, or APPLY_CONFIG
        yield* reportPrices(agent, { [from]: 0.05, [to]: 0.01, [`ondemand:${from}`]: 0.1 })
        const runLoop = AutoSwitch.runOnce().pipe(
          Effect.provide(DecisionModel.layerRuleBased),
          Effect.provideService(DecisionLog.DecisionLog, decisionLog),
          Effect.orDie
        )

        const summary = yield* runLoop
        assert.isAtLeast(summary.wouldSwitch, 1)
        const { decisions } = yield* get(`/api/decisions?agentId=${agent.agentId}`, token)
        assert.strictEqual(decisions.length, 1)
        const d = decisions[0]
        assert.strictEqual(d.decision.action, "SWITCH")
        assert.strictEqual(d.decision.targetPool, to)
        assert.isTrue(d.allowed)
        assert.isTrue(d.dryRun)
        assert.isFalse(d.acted)
        assert.strictEqual(d.note, "dry run: would switch")
        assert.isTrue(d.verdicts.length > 0 && d.verdicts.every((v: { passed: boolean }) => v.passed))
        assert.deepStrictEqual(yield* agent.poll, [], "no command queued")
        assert.isNull((yield* get(`/api/agents/${agent.agentId}`, token)).agent.flow)

        // The same decision acts once dry-run is off.
        Sim.ok(yield* call("PUT", "/api/tenant/dry-run", { token, body: { dryRun: false } }), "dry-run off")
        yield* runLoop
        const latest = (yield* get(`/api/decisions?agentId=${agent.agentId}&limit=1`, token)).decisions[0]
        assert.isFalse(latest.dryRun)
        assert.isTrue(latest.acted)
        const [launch] = yield* agent.poll
        assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
        assert.strictEqual(launch!.priority, 50)
      }))
  })
}
