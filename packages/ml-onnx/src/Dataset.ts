/**
 * Training datasets (docs/DESIGN.md, "Decision models"): features and labels from a price history
 * (the canonical tier, or a spot price history export) over a window, written as CSV or JSONL with
 * a manifest.
 *
 * For every hour `t` of the window and every pool `a` priced at `t`, an agent running in `a` is
 * simulated. Each other pool `p` gives one example with the feature vector the engine builds at run
 * time (`FeatureLayout`). What is real and what is not:
 *
 * - prices: the price history given (real when it is an export or the canonical tier);
 * - interruption band and rate: the cloud's band of the candidate's (region, product, instance
 *   type) from the interruption data given (the AWS Spot Instance Advisor feed), and the expected
 *   interruptions per day of one instance derived from it (`interruptionsPerDayOfBand`); without
 *   interruption data, or for a pool the feed does not know, the band is unknown and the rate 0;
 * - still synthetic, drawn from a seeded generator so a dataset is reproducible: the hours in the
 *   current pool, whether a notice is being handled (2 %), and the candidates' boot times (known
 *   70 % of the time).
 *
 * Each example is labelled
 *
 *   1 when switching at t to p would have saved more than the switch cost over the next H hours:
 *   Σ_{h=1..H} (price_a(t+h) − price_p(t+h)) > switchCostHours × price_p(t)
 *                                             + interruptionsPerDay_p × H/24 × interruptionCostHours × price_p(t)
 *
 * and 0 otherwise (always 0 while an interruption notice is being handled).
 *
 * @since 0.1.0
 */
import { DecisionModel, InterruptionData, Pool, type PriceHistorySource, type Pricing } from "@spotfleet/engine"
import { Either, Option } from "effect"
import * as FeatureLayout from "./FeatureLayout.js"

const HOUR = 3_600_000

/**
 * One price observation.
 *
 * @since 0.1.0
 * @category models
 */
export interface PricePoint {
  readonly pool: Pool.PoolId
  readonly time: number
  readonly price: number
}

/**
 * One labelled (agent, candidate) pair.
 *
 * @since 0.1.0
 * @category models
 */
export interface Example {
  readonly time: number
  readonly agentId: string
  readonly currentPool: string
  readonly candidatePool: string
  readonly features: ReadonlyArray<number>
  readonly label: 0 | 1
  /** $ per instance saved over the horizon by switching (before costs). */
  readonly savings: number
  /** $ the switch costs (overlap + expected interruptions). */
  readonly cost: number
}

/**
 * How a dataset is built.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** H: hours over which the switch must pay off (default 24). */
  readonly horizonHours?: number | undefined
  /** Default 1 hour between decision times. */
  readonly stepHours?: number | undefined
  /** Hours of the new instance's price a switch costs (boot and overlap; default 0.5). */
  readonly switchCostHours?: number | undefined
  /** Hours of price lost per interruption (default 1). */
  readonly interruptionCostHours?: number | undefined
  /**
   * The Linux/UNIX on-demand price of the instance type: the baseline of Linux/UNIX pools' decisions
   * (pools of another product have none in the features).
   */
  readonly onDemandPrice?: number | null | undefined
  /** Default 1. */
  readonly seed?: number | undefined
  /** Only decision times in [from, to). */
  readonly from?: number | undefined
  readonly to?: number | undefined
  /** Called every 1,000 decision times with (done, total). */
  readonly onProgress?: ((done: number, total: number) => void) | undefined
}

/**
 * A manifest written beside a dataset.
 *
 * @since 0.1.0
 * @category models
 */
export interface Manifest {
  readonly layoutVersion: number
  readonly width: number
  readonly featureNames: ReadonlyArray<string>
  readonly label: string
  readonly source: string
  readonly options: Readonly<Record<string, number | null>>
  /** The interruption data behind the bands (null or absent: none, every band unknown). */
  readonly interruptions?: {
    readonly kind: "spot-advisor"
    readonly description: string
    readonly sha256: string
    readonly bands: Readonly<Record<string, number | null>>
  } | null | undefined
  readonly window: { readonly from: number; readonly to: number }
  readonly pools: ReadonlyArray<string>
  readonly examples: number
  readonly positives: number
  readonly format: "csv" | "jsonl"
  readonly file: string
  readonly sha256: string
}

/**
 * A seeded 32-bit generator (mulberry32) in [0, 1).
 *
 * @since 0.1.0
 * @category random
 */
export const random = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const hashString = (s: string, seed: number) => {
  let h = 0x811c9dc5 ^ seed
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/**
 * The monthly share of instances interrupted that each band stands for, taken at the band's
 * middle (`<5%` → 2.5 %, `5-10%` → 7.5 %, …; `>20%` → 25 %, an assumption: the feed gives no upper
 * bound).
 *
 * @since 0.2.0
 * @category interruptions
 */
export const BAND_MONTHLY_SHARE: ReadonlyArray<number> = [0.025, 0.075, 0.125, 0.175, 0.25]

/**
 * Expected interruptions per day of one instance in a pool of that band: its monthly share ÷ 30.
 *
 * @since 0.2.0
 * @category interruptions
 */
export const interruptionsPerDayOfBand = (band: number): number => BAND_MONTHLY_SHARE[band]! / 30

/**
 * Price points from a spot price history export.
 *
 * @since 0.1.0
 * @category sources
 */
export const fromHistoryRows = (rows: ReadonlyArray<PriceHistorySource.HistoryRow>): Array<PricePoint> =>
  rows.map((r) => ({ pool: r.pool, time: r.observedAt, price: r.price }))

/**
 * Price points from the canonical tier.
 *
 * @since 0.1.0
 * @category sources
 */
export const fromCanonical = (points: ReadonlyArray<Pricing.CanonicalPrice>): Array<PricePoint> =>
  points.map((p) => ({ pool: p.pool, time: p.slotStart, price: p.price }))

/**
 * A generated price history when no real one is at hand: per pool a mean-reverting random walk
 * around its own level, with occasional spikes.
 *
 * @since 0.1.0
 * @category sources
 */
export const generatePrices = (options: {
  readonly instanceType?: string | undefined
  readonly zones?: ReadonlyArray<string> | undefined
  readonly days?: number | undefined
  readonly seed?: number | undefined
  readonly start?: number | undefined
} = {}): Array<PricePoint> => {
  const zones = options.zones ?? ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e"]
  const next = random(options.seed ?? 7)
  const start = options.start ?? Date.UTC(2024, 0, 1)
  const hours = (options.days ?? 60) * 24
  const out: Array<PricePoint> = []
  for (const zone of zones) {
    const pool = Pool.make(options.instanceType ?? "c5a.2xlarge", zone)
    const level = 0.12 + next() * 0.08
    let price = level
    for (let h = 0; h < hours; h++) {
      price += 0.15 * (level - price) + (next() - 0.5) * 0.01
      if (next() < 0.01) price *= 1.3 + next() * 0.4
      price = Math.max(0.03, price)
      out.push({ pool, time: start + h * HOUR, price: Math.round(price * 1e4) / 1e4 })
    }
  }
  return out
}

/** Step function: the last price at or before each grid hour (NaN before the first). */
const hourlyGrid = (points: ReadonlyArray<PricePoint>, start: number, hours: number): Float64Array => {
  const sorted = [...points].sort((a, b) => a.time - b.time)
  const grid = new Float64Array(hours).fill(Number.NaN)
  let j = 0
  let last = Number.NaN
  for (let h = 0; h < hours; h++) {
    const t = start + h * HOUR
    while (j < sorted.length && sorted[j]!.time <= t) last = sorted[j++]!.price
    grid[h] = last
  }
  return grid
}

/**
 * Builds the labelled examples.
 *
 * @since 0.1.0
 * @category constructors
 */
export const build = (
  points: ReadonlyArray<PricePoint>,
  options: Options = {},
  interruptions?: InterruptionData.Table | undefined
): Array<Example> => {
  if (points.length === 0) return []
  const H = options.horizonHours ?? 24
  const step = options.stepHours ?? 1
  const switchCostHours = options.switchCostHours ?? 0.5
  const interruptionCostHours = options.interruptionCostHours ?? 1
  const seed = options.seed ?? 1
  const byPool = new Map<Pool.PoolId, Array<PricePoint>>()
  for (const p of points) (byPool.get(p.pool) ?? byPool.set(p.pool, []).get(p.pool)!).push(p)
  const pools = [...byPool.keys()].sort()
  const start = Math.ceil(Math.min(...points.map((p) => p.time)) / HOUR) * HOUR
  const end = Math.floor(Math.max(...points.map((p) => p.time)) / HOUR) * HOUR
  const hours = Math.floor((end - start) / HOUR) + 1
  const grids = new Map(pools.map((pool) => [pool, hourlyGrid(byPool.get(pool)!, start, hours)]))
  const parts = new Map(pools.flatMap((pool) => {
    const p = Pool.parse(pool)
    return Either.isRight(p) ? [[pool, p.right] as const] : []
  }))
  // Per pool: the cloud's interruption band (real, when the interruption data knows the pool) and
  // a boot time (synthetic, seeded).
  const traits = new Map(pools.map((pool) => {
    const r = random(hashString(pool, seed))
    const known = interruptions === undefined
      ? Option.none()
      : Option.flatMap(InterruptionData.keyOfPool(pool), (key) => InterruptionData.lookupIn(interruptions, key))
    const band = Option.isSome(known) ? known.value.band : null
    return [pool, { band, rate: band === null ? 0 : interruptionsPerDayOfBand(band), boot: 60 + r() * 240 }]
  }))
  const examples: Array<Example> = []
  const times: Array<number> = []
  for (let h = 24; h + H < hours; h += step) {
    const t = start + h * HOUR
    if (options.from !== undefined && t < options.from) continue
    if (options.to !== undefined && t >= options.to) continue
    times.push(h)
  }
  let done = 0
  for (const h of times) {
    const t = start + h * HOUR
    if (++done % 1000 === 0) options.onProgress?.(done, times.length)
    for (const current of pools) {
      const here = parts.get(current)
      const g = grids.get(current)!
      const currentPrice = g[h]!
      if (!Number.isFinite(currentPrice)) continue
      const rng = random(hashString(`${current}@${t}`, seed))
      const past = Array.from(g.subarray(h - 24, h)).filter(Number.isFinite)
      const mean = past.reduce((a, b) => a + b, 0) / Math.max(1, past.length)
      const sd = Math.sqrt(past.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, past.length))
      const noticeInProgress = rng() < 0.02
      const candidates: Array<DecisionModel.Candidate> = []
      for (const pool of pools) {
        // Only where an instance may move: same region, product (operating system) and zone form.
        const there = parts.get(pool)
        if (here === undefined || there === undefined || !Pool.canMoveTo(here, there)) continue
        if (pool === current || !Number.isFinite(grids.get(pool)![h]!)) continue
        const trait = traits.get(pool)!
        candidates.push(DecisionModel.Candidate.make({
          pool,
          price: grids.get(pool)![h]!,
          medianBootSeconds: rng() < 0.7 ? Math.round(trait.boot) : null,
          interruptionsPerDay: trait.rate,
          interruptionBand: trait.band
        }))
      }
      if (candidates.length === 0) continue
      const agentId = `sim-${current}-${t}`
      const features = DecisionModel.Features.make({
        layoutVersion: FeatureLayout.VERSION,
        agentId,
        currentPool: current,
        currentPrice,
        onDemandPrice: here?.product === "linux" ? options.onDemandPrice ?? null : null,
        volatility: mean > 0 ? sd / mean : 0,
        hoursInPool: rng() * 96,
        noticeInProgress,
        candidates
      })
      for (const c of candidates) {
        const gp = grids.get(c.pool)!
        let savings = 0
        for (let k = 1; k <= H; k++) savings += g[h + k]! - gp[h + k]!
        const cost = switchCostHours * c.price + c.interruptionsPerDay * (H / 24) * interruptionCostHours * c.price
        examples.push({
          time: t,
          agentId,
          currentPool: current,
          candidatePool: c.pool,
          features: FeatureLayout.encode(features, c),
          label: !noticeInProgress && savings > cost ? 1 : 0,
          savings,
          cost
        })
      }
    }
  }
  options.onProgress?.(times.length, times.length)
  return examples
}

const HEADER = ["time", "agentId", "currentPool", "candidatePool", ...FeatureLayout.NAMES, "label", "savings", "cost"]

/**
 * The CSV header line.
 *
 * @since 0.1.0
 * @category encoding
 */
export const csvHeader: string = HEADER.join(",")

/**
 * One example as a CSV line (no newline).
 *
 * @since 0.1.0
 * @category encoding
 */
export const toCsvLine = (e: Example): string =>
  [new Date(e.time).toISOString(), e.agentId, e.currentPool, e.candidatePool, ...e.features, e.label, e.savings, e.cost].join(",")

/**
 * One example as a JSON line (no newline).
 *
 * @since 0.1.0
 * @category encoding
 */
export const toJsonLine = (e: Example): string => JSON.stringify(e)

/**
 * Reads examples back from CSV or JSONL text.
 *
 * @since 0.1.0
 * @category decoding
 */
export const parse = (text: string, format: "csv" | "jsonl"): Array<Example> => {
  const lines = text.split("\n").filter((l) => l.length > 0)
  if (format === "jsonl") return lines.map((l) => JSON.parse(l) as Example)
  if (lines[0] !== csvHeader) throw new Error(`not a dataset CSV of layout ${FeatureLayout.VERSION}: unexpected header`)
  return lines.slice(1).map((line) => {
    const c = line.split(",")
    const w = FeatureLayout.WIDTH
    return {
      time: Date.parse(c[0]!),
      agentId: c[1]!,
      currentPool: c[2]!,
      candidatePool: c[3]!,
      features: c.slice(4, 4 + w).map(Number),
      label: Number(c[4 + w]) === 1 ? 1 : 0,
      savings: Number(c[5 + w]),
      cost: Number(c[6 + w])
    }
  })
}
