import { assert, describe, it, layer } from "@effect/vitest"
import { Engine } from "@spotfleet/engine"
import { Effect } from "effect"
import { PriceModel, Random, Simulator, Stats } from "../src/index.js"
import { memoryServer, tenant, TestServer } from "./server.js"

describe("price model", () => {
  it("is deterministic per seed, positive, and stays near its base", () => {
    const pools = PriceModel.defaultPools
    const a = PriceModel.make(pools, Random.make(7))
    const b = PriceModel.make(pools, Random.make(7))
    const walk = (m: PriceModel.PriceModel) => Array.from({ length: 500 }, (_, i) => m.quote(pools[0]!, i * 300_000))
    const wa = walk(a)
    assert.deepStrictEqual(wa, walk(b))
    assert.isTrue(wa.every((p) => p > 0))
    assert.isAbove(new Set(wa).size, 100, "the price moves")
    const od = PriceModel.onDemand["t3.medium"]!
    assert.isTrue(wa.every((p) => p < od * 0.4 * Math.E), "never far above the spot band")
    assert.strictEqual(a.quote(pools[0]!, 499 * 300_000 + 1), wa[499], "no move within a step")
  })

  it("log-normal boot times have the given median", () => {
    const r = Random.make(11)
    const xs = Array.from({ length: 4001 }, () => r.logNormal(45, 0.35)).sort((x, y) => x - y)
    assert.approximately(xs[2000]!, 45, 3)
  })

  it("percentiles", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1)
    assert.strictEqual(Stats.percentile(xs, 50), 50)
    assert.strictEqual(Stats.percentile(xs, 99), 99)
    assert.strictEqual(Stats.percentile([], 99), 0)
  })
})

layer(memoryServer, { timeout: "60 seconds", excludeTestServices: true })("simulated fleet over HTTP", (it) => {
  it.effect("20 agents at 100× speed: heartbeats, polls, prices, notices and commands, no errors, one PRIMARY each", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* TestServer
      const t = yield* tenant("sim")
      const progress: Array<Stats.Summary> = []
      const summary = yield* Simulator.runFetch({
        baseUrl,
        token: t.token,
        agents: 20,
        timeScale: 0.01, // heartbeat 300 ms, poll 50 ms, prices 3 s, boot ≈ 450 ms, reclaim 1.2 s
        noticesPerAgentHour: 40,
        manualReplicaShare: 0.5,
        inventoryEvery: 3, // the reconcile loop sees the simulated cloud often
        seed: 42,
        duration: "6 seconds",
        progressMillis: 1_000,
        onProgress: (s) => Effect.sync(() => progress.push(s))
      })
      const table = Stats.table(summary)
      if (process.env.SIM_VERBOSE) console.log(table)
      assert.strictEqual(summary.errors, 0, table)
      assert.strictEqual(summary.counters["registered"], 20, table)
      // lenient minimums: the CI machine may be busy (2 cores shared with other suites)
      assert.isAtLeast(summary.counters["heartbeats"] ?? 0, 20 * 2, table)
      assert.isAtLeast(summary.counters["priceReports"] ?? 0, 10, table)
      assert.isAtLeast(summary.counters["launches"] ?? 0, 1, table)
      assert.isAtLeast((summary.counters["rebalanceNotices"] ?? 0) + (summary.counters["terminationNotices"] ?? 0), 1, table)
      assert.isAtLeast(progress.length, 3)
      const endpoints = summary.endpoints.map((e) => e.endpoint)
      for (const e of ["register", "heartbeat", "pending-commands", "pricing-report", "command-executed"]) {
        assert.include(endpoints, e, table)
      }
      const hb = summary.endpoints.find((e) => e.endpoint === "heartbeat")!
      assert.isTrue(hb.p50 > 0 && hb.p50 <= hb.p99 && hb.p99 <= hb.max, table)

      const engine = yield* Engine.Engine
      const agents = yield* engine.listAgents(t.id)
      assert.strictEqual(agents.length, 20)
      for (const agent of agents) {
        const view = yield* engine.getAgent(t.id, agent.id)
        const primaries = view.instances.filter((i) => i.role === "PRIMARY")
        assert.strictEqual(primaries.length, 1, `${agent.logicalAgentId}: ${JSON.stringify(view.instances.map((i) => i.role))}`)
      }
    }))
})
