/**
 * The v5 (legacy Python) agent's request bodies as the benches send them: the bodies of the v5
 * dialect's fixtures (heartbeat with a two-instance inventory, price report with three spot pools
 * and one on-demand price, registration), with the agent's own instance filled in so the
 * inventory shows what the engine believes (a reconcile that changes nothing, as in a steady
 * fleet). `LegacyApi.ts` describes the dialect.
 */

/** A v5 registration of the agent on `instanceId` (in us-east-1a, t3.medium). */
export const register = (instanceId: string) => ({
  cloud_account: "",
  project_id: "default",
  region: "us-east-1",
  hostname: `ip-${instanceId}`,
  agent_version: "5.0.1-production",
  instance_id: instanceId,
  instance_type: "t3.medium",
  az: "us-east-1a",
  ami_id: "ami-03cf127a",
  mode: "unknown",
  logical_agent_id: instanceId
})

/** A v5 heartbeat (every 30 s): the region's inventory — the agent's own instance and an unrelated one. */
export const heartbeat = (instanceId: string) => ({
  status: "online",
  inventory_snapshot: {
    instances: [
      {
        instance_id: instanceId,
        state: "running",
        az: "us-east-1a",
        instance_type: "t3.medium",
        pool: "t3.medium.us-east-1a",
        tags: { Role: "primary", ManagedBy: "SpotOptimizer" },
        launch_time: "2026-11-26T20:51:03+00:00",
        private_ip: "10.0.1.17",
        public_ip: "54.12.3.4"
      },
      {
        instance_id: "i-0a1b2c3d4e5f60718",
        state: "running",
        az: "us-east-1b",
        instance_type: "t3.medium",
        pool: null,
        tags: { Name: "unrelated-db" },
        launch_time: "2026-10-01T08:00:00+00:00",
        private_ip: "10.0.2.9",
        public_ip: null
      }
    ],
    count: 2
  },
  health_metrics: { uptime: 4134, cpu_percent: 0, memory_percent: 0 },
  reconnect: false
})

/** A v5 price report (every 300 s): three spot pools and one on-demand price. */
export const pricingReport = (agentId: string) => ({
  agent_id: agentId,
  timestamp: "2026-11-26T20:57:41.779922",
  pricing_data_array: [
    { instance_type: "t3.medium", az: "us-east-1a", pool_id: "t3.medium.us-east-1a", spot_price: 0.0125, timestamp: "2026-11-26T20:57:40.101223" },
    { instance_type: "t3.medium", az: "us-east-1b", pool_id: "t3.medium.us-east-1b", spot_price: 0.0131, timestamp: "2026-11-26T20:57:40.402117" },
    { instance_type: "t3.medium", az: "us-east-1c", pool_id: "t3.medium.us-east-1c", spot_price: 0.0118, timestamp: "2026-11-26T20:57:40.713904" },
    { instance_type: "t3.medium", price_type: "ondemand", price: 0.0416, timestamp: "2026-11-26T20:57:41.512006" }
  ]
})

/** The v5 poll (every 5 s): GET with a JSON content type and no body. */
export const pollPath = (agentId: string) => `/api/agents/${agentId}/commands/pending`
