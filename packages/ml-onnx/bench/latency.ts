/**
 * `npm run bench:ml`: the shipped ONNX model on onnxruntime-node (CPU), in one run:
 * - single decisions: features built from raw prices (`AutoSwitch.buildFeatures` over 24 h of
 *   5-minute snapshots of 6 pools) plus inference and the decision, one agent at a time: p50/p99;
 * - batch throughput: `decideBatch` over many agents' pre-built features in one inference.
 *
 * Env: BENCH_SINGLE (default 5000 decisions), BENCH_BATCH (default 1000 agents), BENCH_ROUNDS (default 30).
 */
import { AutoSwitch, DecisionModel, Pool, type Engine, type PoolLedger, type Pricing } from "@spotfleet/engine"
import { Effect } from "effect"
import { cpus, loadavg } from "node:os"
import * as OnnxDecisionModel from "../src/OnnxDecisionModel.js"

const singles = Number(process.env.BENCH_SINGLE ?? 5000)
const batchSize = Number(process.env.BENCH_BATCH ?? 1000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 30)

const HOUR = 3_600_000
const now = Date.UTC(2024, 0, 10)
const pools = ["a", "b", "c", "d", "e", "f"].map((z) => Pool.make("c5a.2xlarge", `us-east-1${z}`))
const snapshots: Array<Pricing.PriceSnapshot> = []
let id = 1
for (const [k, pool] of pools.entries()) {
  for (let t = now - 24 * HOUR; t <= now; t += 5 * 60_000) {
    const price = 0.15 + 0.02 * Math.sin(t / (3 * HOUR) + k) + 0.005 * k
    snapshots.push({ id: id++, tenantId: null, pool, price, observedAt: t, reporterAgentId: null, reporterRole: null, source: "agent", receivedAt: t, duplicate: false } as unknown as Pricing.PriceSnapshot)
  }
}
const onDemand = [{ instanceType: "c5a.2xlarge", region: "us-east-1", price: 0.308, observedAt: 0 }] as unknown as ReadonlyArray<Pricing.OnDemandPrice>
const ledger = { pools: new Map(), openNotices: new Map(), lastEventId: 0 } as unknown as PoolLedger.Ledger
const viewOf = (i: number) =>
  ({
    agent: { id: `agent-${i}`, notice: null },
    instances: [{ role: "PRIMARY", pool: pools[i % pools.length]!, lifecycle: "spot", promotedAt: now - ((i % 48) + 1) * HOUR, launchConfirmedAt: null, createdAt: 0 }]
  }) as unknown as Engine.AgentView

const quantile = (sorted: ReadonlyArray<number>, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

const program = Effect.gen(function*() {
  const model = yield* OnnxDecisionModel.make({ ...OnnxDecisionModel.defaultModel, source: { path: OnnxDecisionModel.defaultModelPath } })
  const build = (i: number) => AutoSwitch.buildFeatures({ view: viewOf(i), now, snapshots, onDemand, ledger })!
  // Warm the JIT on the whole path.
  for (let i = 0; i < 500; i++) yield* model.decide(build(i))

  const latencies = new Float64Array(singles)
  const actions: Record<string, number> = {}
  for (let i = 0; i < singles; i++) {
    const start = performance.now()
    const features = build(i)
    const timed = yield* DecisionModel.decideWithin(model, features)
    latencies[i] = performance.now() - start
    actions[timed.decision.action] = (actions[timed.decision.action] ?? 0) + 1
  }
  const sorted = Array.from(latencies).sort((a, b) => a - b)
  // Inference alone (pre-built features), to tell the model from the feature building.
  const prebuilt = Array.from({ length: 100 }, (_, i) => build(i))
  const inference = new Float64Array(singles)
  for (let i = 0; i < singles; i++) {
    const start = performance.now()
    yield* model.decide(prebuilt[i % 100]!)
    inference[i] = performance.now() - start
  }
  const inferenceSorted = Array.from(inference).sort((a, b) => a - b)

  const inputs = Array.from({ length: batchSize }, (_, i) => build(i))
  const pairs = inputs.reduce((a, f) => a + f.candidates.length, 0)
  yield* model.decideBatch(inputs)
  const batchStart = performance.now()
  for (let r = 0; r < rounds; r++) yield* model.decideBatch(inputs)
  const batchSeconds = (performance.now() - batchStart) / 1000

  const p99 = quantile(sorted, 0.99)
  console.log(`@spotfleet/ml-onnx bench: ${OnnxDecisionModel.defaultModel.name}@${OnnxDecisionModel.defaultModel.version} (${model.digest.slice(0, 19)}…), onnxruntime-node CPU, 1 intra-op thread, Node ${process.version}`)
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} at the end of the run`)
  console.log(`single decision (features from ${snapshots.length} raw snapshots of ${pools.length} pools + inference + decision, via decideWithin), n=${singles}:`)
  console.log(`  p50 ${quantile(sorted, 0.5).toFixed(3)} ms   p90 ${quantile(sorted, 0.9).toFixed(3)} ms   p99 ${p99.toFixed(3)} ms   max ${sorted[sorted.length - 1]!.toFixed(3)} ms`)
  console.log(`  inference + decision only: p50 ${quantile(inferenceSorted, 0.5).toFixed(3)} ms   p99 ${quantile(inferenceSorted, 0.99).toFixed(3)} ms`)
  console.log(`  actions: ${Object.entries(actions).map(([a, n]) => `${a} ${n}`).join(", ")}`)
  console.log(`batch: ${batchSize} agents (${pairs} candidate pairs) per inference, ${rounds} rounds:`)
  console.log(`  ${((batchSize * rounds) / batchSeconds).toFixed(0)} decisions/s, ${((pairs * rounds) / batchSeconds).toFixed(0)} pairs/s, ${((batchSeconds / rounds) * 1000).toFixed(2)} ms per batch`)
  console.log(`target p99 < 5 ms single: ${p99 < 5 ? "met" : "NOT met"} (budget 450 ms)`)
})

Effect.runPromise(Effect.scoped(program)).catch((e) => {
  console.error(e)
  process.exit(1)
})
