import type { InstanceWire } from "../api.js"
import { productOf } from "../pool.js"

/** An instance's role and lifecycle (spot / on-demand), with its pool and the pool's product. */
export const InstanceStatusBadge = (props: { readonly instance: InstanceWire; readonly showPool?: boolean }) => {
  const i = props.instance
  const label = `${i.role.toLowerCase()} ${i.lifecycle} instance${i.cloudInstanceId ? ` ${i.cloudInstanceId}` : ""} in ${i.pool} (${productOf(i.pool) || "unknown product"})`
  return (
    <span className={`badge role-${i.role.toLowerCase()}`} title={label} aria-label={label} data-testid="instance-badge" data-role={i.role}>
      <span className="badge-role">{i.role}</span>
      <span className={`badge-life life-${i.lifecycle}`}>{i.lifecycle}</span>
      {props.showPool && <span className="badge-pool">{i.pool}</span>}
    </span>
  )
}

export const LivenessBadge = (props: { readonly liveness: "online" | "offline" }) => (
  <span className={`live live-${props.liveness}`} data-testid="liveness">
    <span className="dot" aria-hidden="true" />
    {props.liveness}
  </span>
)
