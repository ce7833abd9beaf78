/**
 * The spot market as the simulated agents see it: per pool a mean-reverting random walk of the log
 * price around a base price (a fraction of the on-demand price of the instance type), advanced in
 * fixed steps of simulated time. All agents quote the same market.
 */
import type * as Random from "./Random.js"

/** On-demand hourly prices (us-east-1, Linux) of the instance types the simulator knows. */
export const onDemand: Readonly<Record<string, number>> = {
  "t3.medium": 0.0416,
  "t3.large": 0.0832,
  "m5.large": 0.096,
  "m5.xlarge": 0.192,
  "c5.large": 0.085,
  "r5.large": 0.126
}

export const defaultPools: ReadonlyArray<string> = [
  "t3.medium.us-east-1a",
  "t3.medium.us-east-1b",
  "t3.medium.us-east-1c",
  "m5.large.us-east-1a",
  "m5.large.us-east-1b",
  "c5.large.us-east-1a"
]

export interface PriceModelOptions {
  /** Simulated milliseconds per step of the walk (default 5 minutes). */
  readonly stepMillis?: number
  /** Standard deviation of one step in log space (default 0.04). */
  readonly volatility?: number
  /** Pull back towards the base per step, 0..1 (default 0.1). */
  readonly reversion?: number
}

export interface PriceModel {
  /** The price of `pool` at simulated time `now` (ms). */
  readonly quote: (pool: string, now: number) => number
  readonly pools: ReadonlyArray<string>
}

const typeOf = (pool: string) => pool.split(".").slice(0, 2).join(".")

export const make = (pools: ReadonlyArray<string>, random: Random.Random, options: PriceModelOptions = {}): PriceModel => {
  const stepMillis = options.stepMillis ?? 300_000
  const volatility = options.volatility ?? 0.04
  const reversion = options.reversion ?? 0.1
  const state = new Map<string, { base: number; x: number; step: number | null }>()
  for (const pool of pools) {
    // spot sits at 25–40 % of on-demand, a little different per pool
    const base = (onDemand[typeOf(pool)] ?? 0.05) * (0.25 + random.next() * 0.15)
    state.set(pool, { base, x: 0, step: null })
  }
  return {
    pools,
    quote: (pool, now) => {
      let s = state.get(pool)
      if (s === undefined) {
        s = { base: (onDemand[typeOf(pool)] ?? 0.05) * 0.3, x: 0, step: null }
        state.set(pool, s)
      }
      const step = Math.floor(now / stepMillis)
      if (s.step === null) s.step = step
      // at most 1,000 steps at once (a long pause is the same as a fresh market)
      for (let n = Math.min(step - s.step, 1_000); n > 0; n--) {
        s.x = (1 - reversion) * s.x + volatility * random.normal()
        s.x = Math.max(-1.5, Math.min(1, s.x))
      }
      s.step = Math.max(s.step, step)
      return Number((s.base * Math.exp(s.x)).toFixed(6))
    }
  }
}
