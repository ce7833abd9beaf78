import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import { AgentId, InstanceId } from "../src/Ids.js"
import { Instance, isUnreconciled, type Role } from "../src/Instance.js"
import * as Pool from "../src/Pool.js"
import * as Savings from "../src/Savings.js"

const NUM_RUNS = Number(process.env.SPOTFLEET_PROPERTY_RUNS ?? 2000)
const HOUR = 3_600_000
const MINUTE = 60_000
const spotA = Pool.make("t3.medium", "us-east-1a")
const onDemandA = Pool.make("t3.medium", "us-east-1a", "on-demand")

const prices: Savings.PriceLookup = {
  spot: (pool) =>
    pool === spotA
      ? [{ at: 0, price: 0.0125 }, { at: 10 * HOUR, price: 0.02 }] // changes once, at 10 h
      : [],
  onDemand: (type, region) => (type === "t3.medium" && region === "us-east-1" ? [{ at: 0, price: 0.0416 }] : [])
}

/** An interval served as PRIMARY from start to end. */
const primaryInterval = (instanceId: string, agentId: string, pool: Pool.PoolId, start: number, end: number): Savings.RunningInterval => ({
  instanceId,
  agentId,
  pool,
  start,
  end,
  primary: { start, end },
  unreconciledFrom: null
})

const instance = (fields: Partial<Instance> & Pick<Instance, "id" | "role">): Instance =>
  Instance.make({
    agentId: AgentId.make("agent-1"),
    cloudInstanceId: `i-${fields.id}`,
    pool: spotA,
    lifecycle: "spot",
    roleHint: null,
    launchCommandId: null,
    launchRequestedAt: null,
    launchConfirmedAt: 0,
    promotedAt: null,
    demotedAt: null,
    terminatedAt: null,
    hourlyPrice: null,
    createdAt: 0,
    ...fields
  })

describe("Savings", () => {
  it("integrates step prices exactly", () => {
    const r = Savings.integrate([{ at: 0, price: 1 }, { at: 2 * HOUR, price: 3 }], HOUR, 4 * HOUR)
    assert.strictEqual(r.dollars, 1 + 6)
    assert.strictEqual(r.knownMillis, 3 * HOUR)
    assert.deepStrictEqual(Savings.integrate([{ at: 5 * HOUR, price: 1 }], 0, 6 * HOUR), { dollars: 1, knownMillis: HOUR })
  })

  it("1 PRIMARY + 1 ZOMBIE for 10 h at $0.40 on demand, $0.10 spot: $3.00 gross, $2.00 net (not $6.00)", () => {
    const flat: Savings.PriceLookup = { spot: () => [{ at: 0, price: 0.1 }], onDemand: () => [{ at: 0, price: 0.4 }] }
    // The old PRIMARY was demoted when the new one was promoted, at the window's start; both run on.
    const now = 10 * HOUR
    const zombie = instance({ id: InstanceId.make("inst-old"), role: "ZOMBIE", launchConfirmedAt: 0, promotedAt: 0, demotedAt: HOUR })
    const primary = instance({ id: InstanceId.make("inst-new"), role: "PRIMARY", launchConfirmedAt: HOUR / 2, promotedAt: HOUR })
    const report = Savings.accrue(Savings.runningIntervals({ instances: [zombie, primary] }, now + HOUR), flat, { from: HOUR, to: now + HOUR })
    const t = report.total
    assert.closeTo(t.baselineCost, 4, 1e-12) // 10 h with a PRIMARY × $0.40
    assert.closeTo(t.primaryCost, 1, 1e-12)
    assert.closeTo(t.actualCost, 2, 1e-12) // both instances × 10 h × $0.10
    assert.strictEqual(Savings.cents(t.grossSavings), 3)
    assert.strictEqual(Savings.cents(t.netSavings), 2)
    assert.closeTo(t.netSavingsPercent!, 50, 1e-9)
    assert.closeTo(t.grossSavingsPercent!, 75, 1e-9)
    assert.closeTo(t.hours, 20, 1e-12)
    assert.closeTo(t.primaryHours, 10, 1e-12)
    assert.strictEqual(t.leakedCost, 0)
    // Per instance: the zombie's net is its spend, negative; it has no baseline in the window.
    const z = report.byInstance.get("inst-old")!
    assert.deepStrictEqual([z.baselineCost, z.grossSavings, z.grossSavingsPercent, z.netSavingsPercent], [0, 0, null, null])
    assert.closeTo(z.netSavings, -1, 1e-12)
    assert.closeTo(report.byInstance.get("inst-new")!.netSavings, 3, 1e-12)
    assert.closeTo(report.byAgent.get("agent-1")!.netSavings, 2, 1e-12)
    assert.closeTo(report.byPool.get(spotA)!.netSavings, 2, 1e-12)
  })

  it("a switch: the replica's boot and the overlap are spend, the baseline follows the one PRIMARY", () => {
    const flat: Savings.PriceLookup = { spot: () => [{ at: 0, price: 0.1 }], onDemand: () => [{ at: 0, price: 0.4 }] }
    // Old PRIMARY 0–5 h, then terminated and confirmed gone at 5 h 30 min; the replica runs from
    // 4 h (an hour as REPLICA) and is PRIMARY from 5 h.
    const old = instance({
      id: InstanceId.make("inst-old"),
      role: "TERMINATED",
      promotedAt: 0,
      demotedAt: 5 * HOUR,
      terminatedAt: 5 * HOUR,
      terminationConfirmedAt: 5.5 * HOUR
    })
    const next = instance({ id: InstanceId.make("inst-next"), role: "PRIMARY", launchConfirmedAt: 4 * HOUR, promotedAt: 5 * HOUR })
    const report = Savings.accrue(Savings.runningIntervals({ instances: [old, next] }, 10 * HOUR), flat, { from: 0, to: 10 * HOUR })
    assert.closeTo(report.total.primaryHours, 10, 1e-12)
    assert.closeTo(report.total.baselineCost, 4, 1e-12)
    assert.closeTo(report.total.hours, 5.5 + 6, 1e-12)
    assert.closeTo(report.total.grossSavings, 3, 1e-12)
    assert.closeTo(report.total.netSavings, 4 - 1.15, 1e-12)
    // The half hour between retirement and confirmation was spent on an unwanted instance.
    assert.closeTo(report.total.leakedCost, 0.05, 1e-12)
    assert.closeTo(report.byInstance.get("inst-next")!.netSavings, 2 - 0.6, 1e-12)
  })

  it("a retired instance not seen gone keeps costing until now, as leaked spend", () => {
    const flat: Savings.PriceLookup = { spot: () => [{ at: 0, price: 0.1 }], onDemand: () => [{ at: 0, price: 0.4 }] }
    const leaked = instance({ id: InstanceId.make("inst-leak"), role: "TERMINATED", promotedAt: 0, demotedAt: 2 * HOUR, terminatedAt: 2 * HOUR })
    assert.isTrue(isUnreconciled(leaked))
    const interval = Savings.runningInterval(leaked, 8 * HOUR)!
    assert.deepStrictEqual(interval.primary, { start: 0, end: 2 * HOUR })
    assert.strictEqual(interval.unreconciledFrom, 2 * HOUR)
    assert.strictEqual(interval.end, 8 * HOUR)
    const line = Savings.accrue([interval], flat, { from: 0, to: 8 * HOUR }).total
    assert.closeTo(line.actualCost, 0.8, 1e-12)
    assert.closeTo(line.leakedCost, 0.6, 1e-12)
    assert.closeTo(line.netSavings, 0.8 - 0.8, 1e-12)
    assert.closeTo(line.grossSavings, 0.6, 1e-12)
    // Once its end is observed it stops costing there.
    const gone = Instance.make({ ...leaked, terminationConfirmedAt: 3 * HOUR })
    assert.isFalse(isUnreconciled(gone))
    assert.closeTo(Savings.accrue(Savings.runningIntervals({ instances: [gone] }, 8 * HOUR), flat, { from: 0, to: 8 * HOUR }).total.leakedCost, 0.1, 1e-12)
    // Whether it may have run after a time (what the store's `runningAfter` selects).
    assert.isTrue(Savings.mayRunAfter(leaked, 100 * HOUR))
    assert.isTrue(Savings.mayRunAfter(gone, 2.9 * HOUR))
    assert.isFalse(Savings.mayRunAfter(gone, 3 * HOUR))
    assert.isFalse(Savings.mayRunAfter(instance({ id: InstanceId.make("inst-launching"), role: "LAUNCHING", launchConfirmedAt: null, cloudInstanceId: null }), 0))
  })

  it("instances that never ran have no interval; a PRIMARY without promotedAt counts from its launch", () => {
    assert.isNull(Savings.runningInterval(instance({ id: InstanceId.make("a"), role: "LAUNCHING", launchConfirmedAt: null, cloudInstanceId: null }), HOUR))
    assert.isNull(Savings.runningInterval(instance({ id: InstanceId.make("b"), role: "TERMINATED", launchConfirmedAt: null, cloudInstanceId: null, terminatedAt: 5 }), HOUR))
    assert.deepStrictEqual(Savings.runningInterval(instance({ id: InstanceId.make("c"), role: "PRIMARY", launchConfirmedAt: 7 }), HOUR)!.primary, { start: 7, end: HOUR })
    // A REPLICA demoted to ZOMBIE never was PRIMARY.
    assert.isNull(Savings.runningInterval(instance({ id: InstanceId.make("d"), role: "ZOMBIE", demotedAt: 5 }), HOUR)!.primary)
  })

  it("accrues baseline, spend and savings per instance, agent, pool and tenant, to the cent", () => {
    const report = Savings.accrue(
      [
        primaryInterval("i-1", "a-1", spotA, 0, 24 * HOUR),
        primaryInterval("i-2", "a-1", onDemandA, 24 * HOUR, 30 * HOUR),
        primaryInterval("i-3", "a-2", spotA, 5 * HOUR, 15 * HOUR)
      ],
      prices,
      { from: 0, to: 48 * HOUR }
    )
    // i-1: baseline 24 × 0.0416 = 0.9984; actual 10 × 0.0125 + 14 × 0.02 = 0.405; savings 0.5934
    const i1 = report.byInstance.get("i-1")!
    assert.closeTo(i1.baselineCost, 0.9984, 1e-12)
    assert.closeTo(i1.actualCost, 0.405, 1e-12)
    assert.strictEqual(Savings.cents(i1.netSavings), 0.59)
    assert.strictEqual(i1.grossSavings, i1.netSavings) // a PRIMARY the whole time
    // i-2 on demand: no savings, but its baseline counts.
    assert.closeTo(report.byInstance.get("i-2")!.netSavings, 0, 1e-12)
    // i-3: baseline 10 × 0.0416 = 0.416; actual 5 × 0.0125 + 5 × 0.02 = 0.1625; savings 0.2535
    assert.closeTo(report.byAgent.get("a-2")!.netSavings, 0.2535, 1e-12)
    assert.closeTo(report.byPool.get(spotA)!.netSavings, 0.5934 + 0.2535, 1e-12)
    assert.closeTo(report.total.baselineCost, 0.9984 + 6 * 0.0416 + 0.416, 1e-12)
    assert.strictEqual(Savings.cents(report.total.netSavings), 0.85)
    assert.closeTo(report.total.netSavingsPercent!, ((0.5934 + 0.2535) / (0.9984 + 0.2496 + 0.416)) * 100, 1e-9)
  })

  it("reports over parts of a fleet combine to the report over all of it", () => {
    const intervals = Array.from({ length: 40 }, (_, n): Savings.RunningInterval => {
      const start = (n % 3) * HOUR // most share a span: their integrals are computed once
      const end = 20 * HOUR + (n % 4) * HOUR
      return {
        instanceId: `i-${n}`,
        agentId: `a-${n % 7}`,
        pool: n % 5 === 0 ? onDemandA : spotA,
        start,
        end,
        primary: n % 3 === 0 ? null : { start: start + HOUR, end: end - HOUR },
        unreconciledFrom: n % 6 === 0 ? end - 2 * HOUR : null
      }
    })
    const window = { from: HOUR, to: 22 * HOUR }
    const whole = Savings.accrue(intervals, prices, window)
    const parts = Savings.combine([0, 13, 29].map((at, k, all) => Savings.accrue(intervals.slice(at, all[k + 1]), prices, window)))
    assert.deepStrictEqual([...parts.byInstance.keys()].sort(), [...whole.byInstance.keys()].sort())
    for (const [id, line] of whole.byInstance) assert.deepStrictEqual(parts.byInstance.get(id), line)
    for (const [id, line] of whole.byAgent) assert.closeTo(parts.byAgent.get(id)!.netSavings, line.netSavings, 1e-12)
    for (const key of ["netSavings", "grossSavings", "baselineCost", "actualCost", "leakedCost", "primaryHours", "hours"] as const) {
      assert.closeTo(parts.total[key], whole.total[key], 1e-12, key)
    }
    assert.isAbove(whole.total.leakedCost, 0)
  })

  it("counts only time with both prices known and inside the window", () => {
    const late: Savings.PriceLookup = { ...prices, spot: () => [{ at: 6 * HOUR, price: 0.01 }] }
    const r = Savings.accrue([primaryInterval("i", "a", spotA, 0, 12 * HOUR)], late, { from: 0, to: 10 * HOUR })
    assert.strictEqual(r.total.hours, 4)
    assert.strictEqual(r.total.primaryHours, 4)
    assert.closeTo(r.total.netSavings, 4 * (0.0416 - 0.01), 1e-12)
  })

  it("rounds half away from zero", () => {
    assert.strictEqual(Savings.cents(0.125), 0.13)
    assert.strictEqual(Savings.cents(-0.125), -0.13)
    assert.strictEqual(Savings.cents(1.005), 1.01)
  })

  it("property: accrue equals a minute-by-minute computation from the instances' own fields", () => {
    // Times are whole minutes and prices change on minute boundaries, so summing minute by minute
    // is exact: an independent reading of the rule, from the instance fields, without intervals.
    const pools = [spotA, Pool.make("m5.large", "us-east-1b"), onDemandA] as const
    const minute = fc.integer({ min: 0, max: 240 })
    const maybe = (arb: fc.Arbitrary<number>) => fc.option(arb, { nil: null })
    const series = fc.array(fc.record({ at: minute, price: fc.integer({ min: 1, max: 1000 }) }), { minLength: 0, maxLength: 5 })
      .map((points) => [...new Map(points.map((p) => [p.at * MINUTE, p.price / 1000])).entries()].sort(([a], [b]) => a - b).map(([at, price]) => ({ at, price })))
    const arbInstance = fc.record({
      agent: fc.integer({ min: 0, max: 2 }),
      pool: fc.constantFrom(...pools),
      role: fc.constantFrom<Role>("LAUNCHING", "PRIMARY", "REPLICA", "ZOMBIE", "TERMINATED"),
      cloud: fc.boolean(),
      launchConfirmedAt: maybe(minute),
      promotedAt: maybe(minute),
      demotedAt: maybe(minute),
      terminatedAt: maybe(minute),
      terminationConfirmedAt: maybe(minute)
    })
    const scenario = fc.record({
      instances: fc.array(arbInstance, { maxLength: 8 }),
      spot: fc.tuple(series, series),
      onDemand: fc.tuple(series, series),
      from: fc.integer({ min: 0, max: 120 }),
      length: fc.integer({ min: 1, max: 150 })
    })
    fc.assert(
      fc.property(scenario, (s) => {
        const instances = s.instances.map((x, n) =>
          instance({
            id: InstanceId.make(`inst-${n}`),
            agentId: AgentId.make(`agent-${x.agent}`),
            cloudInstanceId: x.cloud ? `i-${n}` : null,
            pool: x.pool,
            lifecycle: Pool.lifecycleOf(x.pool),
            role: x.role,
            launchConfirmedAt: x.launchConfirmedAt === null ? null : x.launchConfirmedAt * MINUTE,
            promotedAt: x.promotedAt === null ? null : x.promotedAt * MINUTE,
            demotedAt: x.demotedAt === null ? null : x.demotedAt * MINUTE,
            terminatedAt: x.terminatedAt === null ? null : x.terminatedAt * MINUTE,
            terminationConfirmedAt: x.terminationConfirmedAt === null ? null : x.terminationConfirmedAt * MINUTE
          })
        )
        const lookup: Savings.PriceLookup = {
          spot: (pool) => (pool === pools[0] ? s.spot[0] : pool === pools[1] ? s.spot[1] : []),
          onDemand: (type) => (type === "t3.medium" ? s.onDemand[0] : s.onDemand[1])
        }
        const window = { from: s.from * MINUTE, to: (s.from + s.length) * MINUTE }
        const now = window.to
        const report = Savings.accrue(instances.flatMap((i) => Savings.runningIntervals({ instances: [i] }, now)), lookup, window)

        // The oracle.
        const priceAt = (points: ReadonlyArray<Savings.PricePoint>, at: number): number | null => {
          let price: number | null = null
          for (const p of points) if (p.at <= at) price = p.price
          return price
        }
        type Sums = { hours: number; primaryHours: number; baselineCost: number; primaryCost: number; actualCost: number; leakedCost: number }
        const expected = new Map<string, Sums>()
        const expectedAgents = new Map<string, Sums>()
        const blank = (): Sums => ({ hours: 0, primaryHours: 0, baselineCost: 0, primaryCost: 0, actualCost: 0, leakedCost: 0 })
        for (const i of instances) {
          const sums = blank()
          const { instanceType, region } = Either.getOrThrow(Pool.parse(i.pool))
          const od = lookup.onDemand(instanceType, region!)
          const actualSeries = i.lifecycle === "on-demand" ? od : lookup.spot(i.pool)
          for (let t = window.from; t < window.to; t += MINUTE) {
            // Running: launched with a cloud id, until its end was observed (else until now).
            const running = i.launchConfirmedAt !== null && i.cloudInstanceId !== null && t >= i.launchConfirmedAt &&
              t < (i.terminationConfirmedAt ?? now)
            const base = priceAt(od, t)
            const actual = priceAt(actualSeries, t)
            if (!running || base === null || actual === null) continue
            const becamePrimary = i.promotedAt ?? (i.role === "PRIMARY" ? i.launchConfirmedAt : null)
            const primary = becamePrimary !== null && t >= becamePrimary && t < (i.demotedAt ?? i.terminatedAt ?? Infinity)
            const leaked = i.role === "TERMINATED" && i.terminatedAt !== null && t >= i.terminatedAt
            const h = MINUTE / HOUR
            sums.hours += h
            sums.actualCost += actual * h
            if (primary) {
              sums.primaryHours += h
              sums.baselineCost += base * h
              sums.primaryCost += actual * h
            }
            if (leaked) sums.leakedCost += actual * h
          }
          if (sums.hours === 0) continue
          expected.set(i.id, sums)
          const agent = expectedAgents.get(i.agentId) ?? blank()
          for (const k of Object.keys(sums) as Array<keyof Sums>) agent[k] += sums[k]
          expectedAgents.set(i.agentId, agent)
        }
        const same = (line: Savings.SavingsLine | undefined, sums: Sums, what: string) => {
          assert.isDefined(line, what)
          for (const k of Object.keys(sums) as Array<keyof Sums>) assert.closeTo(line![k], sums[k], 1e-9, `${what} ${k}`)
          assert.closeTo(line!.grossSavings, sums.baselineCost - sums.primaryCost, 1e-9, `${what} gross`)
          assert.closeTo(line!.netSavings, sums.baselineCost - sums.actualCost, 1e-9, `${what} net`)
        }
        assert.deepStrictEqual([...report.byInstance.keys()].sort(), [...expected.keys()].sort())
        for (const [id, sums] of expected) same(report.byInstance.get(id), sums, id)
        for (const [id, sums] of expectedAgents) same(report.byAgent.get(id), sums, id)
        const total = blank()
        for (const sums of expected.values()) for (const k of Object.keys(sums) as Array<keyof Sums>) total[k] += sums[k]
        same(report.total, total, "total")
        // Leaked spend is spend, and the net never beats the gross.
        assert.isAtMost(report.total.leakedCost, report.total.actualCost + 1e-9)
        assert.isAtMost(report.total.netSavings, report.total.grossSavings + 1e-9)
      }),
      { numRuns: NUM_RUNS }
    )
  })
})
