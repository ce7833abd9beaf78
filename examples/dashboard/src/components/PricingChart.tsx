import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts"
import type { PointSource, PricePoint } from "../api.js"
import { tickLabel, time, timeTicks } from "../format.js"
import type { PoolSeries } from "../store.js"

const colors = ["#2563eb", "#16a34a", "#db2777", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04"]

export const sourceLabel: Record<PointSource, string> = {
  agent: "agent report (consolidated)",
  raw: "agent report (not consolidated yet)",
  interpolated: "filled (interpolated)",
  backfilled: "backfilled (price history)"
}

/** A point's marker: agent points are filled, filled gaps hollow, backfilled points squares, raw reports diamonds. */
const Marker = (props: { cx?: number | undefined; cy?: number | undefined; payload?: PricePoint | undefined; color: string }) => {
  const { cx, cy, payload, color } = props
  if (cx === undefined || cy === undefined || payload === undefined || !Number.isFinite(cx) || !Number.isFinite(cy)) return <g />
  const common = { "data-source": payload.source, "data-price": String(payload.price), "data-at": String(payload.at), className: `pt pt-${payload.source}` }
  switch (payload.source) {
    case "agent":
      return <circle {...common} cx={cx} cy={cy} r={3} fill={color} stroke={color} />
    case "raw":
      return <path {...common} d={`M${cx},${cy - 5}L${cx + 5},${cy}L${cx},${cy + 5}L${cx - 5},${cy}Z`} fill={color} stroke="#111" strokeWidth={1} />
    case "interpolated":
      return <circle {...common} cx={cx} cy={cy} r={3.5} fill="var(--bg)" stroke={color} strokeWidth={1.5} strokeDasharray="2 1" />
    case "backfilled":
      return <rect {...common} x={cx - 3.5} y={cy - 3.5} width={7} height={7} fill="var(--bg)" stroke={color} strokeWidth={1.5} />
  }
}

export interface ChartSeries {
  readonly spot: PoolSeries
  readonly onDemand: PoolSeries | undefined
  /** From the on-demand price list when no on-demand history is reported. */
  readonly onDemandPrice: number | null
}

const markerOf: Record<PointSource, React.ReactNode> = {
  agent: <svg width="12" height="12" aria-hidden="true"><circle cx="6" cy="6" r="3" fill="currentColor" /></svg>,
  raw: <svg width="12" height="12" aria-hidden="true"><path d="M6,1L11,6L6,11L1,6Z" fill="currentColor" /></svg>,
  interpolated: <svg width="12" height="12" aria-hidden="true"><circle cx="6" cy="6" r="3.5" fill="none" stroke="currentColor" strokeDasharray="2 1" /></svg>,
  backfilled: <svg width="12" height="12" aria-hidden="true"><rect x="2" y="2" width="8" height="8" fill="none" stroke="currentColor" /></svg>
}

/**
 * Spot prices of pools over time, each point marked by its source, with the on-demand price as a
 * dashed line. The time axis has round ticks (at least 4); the legend names only the pools,
 * point sources and lines that are on the chart; without a point in the window the chart says so.
 */
export const PricingChart = (props: { readonly series: ReadonlyArray<ChartSeries>; readonly from: number; readonly to: number }) => {
  const all = props.series.flatMap((s) => [...s.spot.points, ...(s.onDemand?.points ?? [])])
  const total = props.series.reduce((n, s) => n + s.spot.points.length, 0)
  const max = Math.max(0.001, ...all.map((p) => p.price), ...props.series.map((s) => s.onDemandPrice ?? 0))
  const ticks = timeTicks(props.from, props.to)
  const span = props.to - props.from
  const drawn = props.series.map((s, n) => ({ s, color: colors[n % colors.length]! })).filter(({ s }) => s.spot.points.length > 0)
  const sources = (Object.keys(sourceLabel) as Array<PointSource>).filter((source) => props.series.some((s) => s.spot.points.some((p) => p.source === source)))
  const withOnDemand = props.series.filter((s) => (s.onDemand?.points.length ?? 0) > 0 || s.onDemandPrice !== null).length
  if (total === 0) {
    return (
      <figure className="chart empty" data-testid="price-chart" data-points={0} data-ondemand={withOnDemand}>
        <p className="muted" data-testid="price-chart-empty">
          No price of {props.series.map((s) => s.spot.pool).join(", ")} since {tickLabel(props.from, span)}. Agents report their pools every 5
          minutes; older history can be backfilled from an AWS export (<code>spotfleet backfill --file …</code>).
        </p>
      </figure>
    )
  }
  return (
    <figure className="chart" data-testid="price-chart" data-points={total} data-ondemand={withOnDemand} data-ticks={ticks.length} aria-label={`Spot price chart of ${drawn.map(({ s }) => s.spot.pool).join(", ")}`}>
      <div className="chart-box">
        <ResponsiveContainer width="100%" height={320}>
          <LineChart margin={{ top: 10, right: 20, bottom: 10, left: 10 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--grid)" />
            <XAxis dataKey="at" type="number" scale="time" domain={[props.from, props.to]} ticks={ticks} tickFormatter={(v: number) => tickLabel(v, span)} minTickGap={4} allowDuplicatedCategory={false} />
            <YAxis type="number" domain={[0, +(max * 1.15).toFixed(4)]} tickFormatter={(v: number) => `$${v.toFixed(3)}`} width={70} />
            <Tooltip labelFormatter={(v) => time(Number(v))} formatter={(v, name, item) => [`$${Number(v).toFixed(5)} · ${sourceLabel[(item.payload as PricePoint).source]}`, name]} />
            {drawn.map(({ s, color }) => {
              return (
                <Line key={s.spot.pool} name={s.spot.pool} data={[...s.spot.points]} dataKey="price" type="stepAfter" stroke={color}
                  strokeWidth={1.5} isAnimationActive={false} connectNulls dot={(p: { cx?: number | undefined; cy?: number | undefined; payload?: unknown; index?: number | undefined }) => <Marker key={`${s.spot.pool}-${p.index ?? 0}`} cx={p.cx} cy={p.cy} payload={p.payload as PricePoint | undefined} color={color} />}
                  activeDot={{ r: 5 }} />
              )
            })}
            {drawn.map(({ s, color }) => {
              const od = s.onDemand?.points ?? []
              // The on-demand price as reported over time, held to the right edge.
              return od.length > 0
                ? <Line key={`od-${s.spot.pool}`} name={`on-demand ${s.spot.pool}`} data={[...od, { ...od[od.length - 1]!, at: props.to }]} dataKey="price" type="stepAfter" stroke={color} strokeDasharray="6 4" dot={false} isAnimationActive={false} className="ondemand-line" />
                : s.onDemandPrice !== null
                ? <ReferenceLine key={`odr-${s.spot.pool}`} y={s.onDemandPrice} stroke={color} strokeDasharray="6 4" label={{ value: "on-demand", position: "insideTopRight", fontSize: 11 }} />
                : null
            })}
          </LineChart>
        </ResponsiveContainer>
      </div>
      <figcaption>
        <ul className="legend" aria-label="Legend">
          {drawn.map(({ s, color }) => <li key={s.spot.pool} data-legend="pool"><span className="swatch" style={{ background: color }} />{s.spot.pool}</li>)}
          {sources.map((source) => <li key={source} data-legend={source}>{markerOf[source]} {sourceLabel[source]}</li>)}
          {withOnDemand > 0 && <li data-legend="on-demand"><svg width="20" height="12" aria-hidden="true"><line x1="0" y1="6" x2="20" y2="6" stroke="currentColor" strokeDasharray="6 4" /></svg> on-demand price</li>}
        </ul>
      </figcaption>
    </figure>
  )
}
