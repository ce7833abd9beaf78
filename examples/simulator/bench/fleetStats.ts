/**
 * The bookkeeping of `npm run bench:fleet` (fleet.ts), kept free of I/O: latency samples in
 * growable typed arrays, quantiles, and the schedule that fires N agents on one period with
 * offsets spread evenly over it (one cursor per activity instead of a timer per agent).
 */

/** Latencies (ms) in a growable Float64Array: 8 bytes a sample, no per-sample allocation. */
export class Samples {
  private data: Float64Array
  private n = 0

  constructor(capacity = 1024) {
    this.data = new Float64Array(capacity)
  }

  get length(): number {
    return this.n
  }

  push(value: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2)
      bigger.set(this.data)
      this.data = bigger
    }
    this.data[this.n++] = value
  }

  clear(): void {
    this.n = 0
  }

  /** The samples from index `from` on, sorted ascending (a copy). */
  sorted(from = 0): Float64Array {
    return this.data.slice(from, this.n).sort()
  }
}

/** The `p` quantile (0..1) of ascending `sorted` (nearest rank); NaN when empty. */
export const quantile = (sorted: Float64Array, p: number): number => {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil(p * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!
}

/** Count, mean, p50, p90, p99, p99.9 and max of a set of samples. */
export interface Distribution {
  readonly count: number
  readonly mean: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
  readonly max: number
}

/** The distribution of `samples` (from index `from` on). */
export const distribution = (samples: Samples, from = 0): Distribution => {
  const s = samples.sorted(from)
  let sum = 0
  for (let i = 0; i < s.length; i++) sum += s[i]!
  return {
    count: s.length,
    mean: s.length === 0 ? NaN : sum / s.length,
    p50: quantile(s, 0.5),
    p90: quantile(s, 0.9),
    p99: quantile(s, 0.99),
    p999: quantile(s, 0.999),
    max: s.length === 0 ? NaN : s[s.length - 1]!
  }
}

/** A uniform random number in [0, 1) from a seeded generator (mulberry32), so runs are repeatable. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * N agents that each act once every `periodMs`, agent `order[j]` at offset `(j + u_j) / N` of the
 * period (a random permutation, one random point in each of N equal slots): the firings are as
 * smooth as they can be while every agent's phase is random. Firing k (k = 0, 1, …) is due at
 * `⌊k / N⌋ · period + offset[k mod N]`, so the whole schedule is one cursor.
 */
export class Schedule {
  private readonly order: Uint32Array
  private readonly offsets: Float64Array
  private k = 0

  constructor(readonly agents: number, readonly periodMs: number, random: () => number) {
    this.order = new Uint32Array(agents)
    for (let i = 0; i < agents; i++) this.order[i] = i
    for (let i = agents - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      const t = this.order[i]!
      this.order[i] = this.order[j]!
      this.order[j] = t
    }
    this.offsets = new Float64Array(agents)
    for (let j = 0; j < agents; j++) this.offsets[j] = ((j + random()) / agents) * periodMs
  }

  /** When the next firing is due (ms since the schedule's start); Infinity without agents. */
  nextDue(): number {
    if (this.agents === 0) return Infinity
    return Math.floor(this.k / this.agents) * this.periodMs + this.offsets[this.k % this.agents]!
  }

  /** The agent of the next firing; moves the cursor on. */
  take(): number {
    const agent = this.order[this.k % this.agents]!
    this.k++
    return agent
  }

  /** Scheduled firings per second. */
  get ratePerSecond(): number {
    return (this.agents * 1000) / this.periodMs
  }
}
