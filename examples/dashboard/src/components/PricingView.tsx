import { useEffect, useId, useMemo, useRef, useState } from "react"
import { dateTime, money, num, time, useNow } from "../format.js"
import { isPool, parsePool, productOf } from "../pool.js"
import { useStore } from "../store.js"
import { ConsolidationRuns } from "./ConsolidationRuns.js"
import { type ChartSeries, PricingChart, sourceLabel } from "./PricingChart.js"


/** Pools over time (chosen from the fleet's pools), the latest points as a table, and the consolidation runs. */
export const PricingView = () => {
  const views = useStore((s) => s.views)
  const prices = useStore((s) => s.prices)
  const onDemandList = useStore((s) => s.onDemand)
  const loadPrices = useStore((s) => s.loadPrices)
  const tenant = useStore((s) => s.tenant)
  const now = useNow(5000)
  const fleetPools = useMemo(() => {
    const set = new Set<string>()
    // Every pool the fleet has run in (retired instances too: their prices are history worth seeing).
    for (const v of Object.values(views)) for (const i of v.instances) if (!i.pool.startsWith("ondemand:")) set.add(i.pool)
    for (const p of Object.keys(prices)) if (!p.startsWith("ondemand:")) set.add(p)
    return [...set].sort()
  }, [views, prices])
  const [chosen, setChosen] = useState<ReadonlyArray<string> | null>(null)
  const [extra, setExtra] = useState("")
  const selected = chosen ?? fleetPools.slice(0, 3)
  const extraId = useId()

  // Each chosen pool (and its on-demand pool) is loaded once; live reports keep it current.
  const requested = useRef(new Set<string>())
  useEffect(() => {
    for (const pool of selected.flatMap((p) => [p, `ondemand:${p}`])) {
      if (prices[pool] !== undefined || requested.current.has(pool)) continue
      requested.current.add(pool)
      void loadPrices(pool).finally(() => requested.current.delete(pool))
    }
  }, [selected, prices, loadPrices])

  const series: Array<ChartSeries> = selected.flatMap((pool) => {
    const spot = prices[pool]
    if (spot === undefined) return []
    const p = parsePool(pool)
    // Stored on-demand prices are Linux/UNIX prices: another product's baseline is its own on-demand pool.
    const od = p?.product === "linux" ? onDemandList.find((o) => o.instanceType === p.instanceType && o.region === p.region) : undefined
    return [{ spot, onDemand: prices[`ondemand:${pool}`], onDemandPrice: od?.price ?? null }]
  })
  // At least the last 15 minutes, else from the first point of the day.
  const from = Math.min(now - 15 * 60_000, ...series.map((s) => s.spot.points[0]?.at ?? now))
  const latest = series.flatMap((s) => s.spot.points.slice(-5).map((p) => ({ pool: s.spot.pool, ...p }))).sort((a, b) => b.at - a.at).slice(0, 12)

  const toggle = (pool: string, on: boolean) => setChosen(on ? [...selected, pool] : selected.filter((p) => p !== pool))
  return (
    <div className="grid">
      <section className="card wide" aria-labelledby="pc-h">
        <h2 id="pc-h">Spot prices</h2>
        {tenant?.name.startsWith("demo-") === true && (
          // The example server's demo tenant (examples/server/demo/README.md): say where its prices come from.
          <p className="note" role="note" data-testid="demo-provenance">
            Demo prices: the c5a.2xlarge pools carry real AWS spot prices of us-east-1 (Nov–Dec 2023, MIT-licensed export,
            shifted in time to end a week from now); the <strong>c5a.xlarge prices are derived</strong> from them (× 0.5, the
            ratio of the on-demand prices). On-demand prices: AWS's list price for us-east-1, Linux.
          </p>
        )}
        <fieldset className="pools">
          <legend>Pools</legend>
          {[...new Set([...fleetPools, ...selected])].map((pool) => (
            <label key={pool} className="check">
              <input type="checkbox" checked={selected.includes(pool)} onChange={(e) => toggle(pool, e.target.checked)} data-pool={pool} /> {pool}{" "}
              <span className="muted small" data-product={pool}>{productOf(pool)}</span>
            </label>
          ))}
          <form className="row" onSubmit={(e) => {
            e.preventDefault()
            if (isPool(extra) && !selected.includes(extra)) setChosen([...selected, extra])
            setExtra("")
          }}>
            <label htmlFor={extraId} className="sr-only">Add a pool</label>
            <input id={extraId} value={extra} onChange={(e) => setExtra(e.target.value.trim())} placeholder="add a pool, e.g. m5.large.us-east-1c or m5.large.us-east-1c~suse" />
            <button type="submit" className="ghost" disabled={!isPool(extra)}>Add</button>
          </form>
        </fieldset>
        {selected.length === 0
          ? <p className="muted" data-testid="price-chart-empty">{fleetPools.length === 0 ? "No pool yet: the chart fills in when agents register and report their prices." : "Choose a pool above."}</p>
          : series.length === 0
          ? <p className="muted">Loading the price history…</p>
          : <PricingChart series={series} from={from} to={now + 60_000} />}
        <details>
          <summary>Latest points (table)</summary>
          <table>
            <caption className="sr-only">The latest price points of the chosen pools</caption>
            <thead><tr><th scope="col">Time</th><th scope="col">Pool</th><th scope="col">Product</th><th scope="col">Price / h</th><th scope="col">Source</th><th scope="col">Confidence</th></tr></thead>
            <tbody data-testid="latest-prices">
              {latest.map((p) => (
                <tr key={`${p.pool}-${p.at}-${p.source}`}>
                  <td>{time(p.at)}</td><td>{p.pool}</td><td>{productOf(p.pool)}</td><td>{money(p.price, 5)}</td><td>{sourceLabel[p.source]}</td><td>{num(p.confidence, 1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
        <p className="muted small">Consolidated up to {series[0] === undefined ? "—" : dateTime(series[0].spot.rawSince)}; later points are raw reports, added live as agents send them.</p>
      </section>
      <ConsolidationRuns />
    </div>
  )
}
