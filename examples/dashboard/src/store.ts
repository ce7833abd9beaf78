/**
 * The dashboard's state (zustand): loaded from the tenant API, kept current by the event stream.
 * Events update what they carry at once (prices, notifications) and schedule a debounced reload
 * of what they touch (one agent, the switch history, emergencies).
 */
import { create } from "zustand"
import {
  type AgentView,
  type AgentWire,
  type ApiClient,
  ApiFailure,
  type ConsolidationRunList,
  type ConsolidationRun,
  type DecisionList,
  type DecisionRecord,
  type DomainEventWire,
  type Downtime,
  type EmergencyEventPage,
  enc,
  type ModelPerformanceReport,
  type ModelPerformanceWire,
  type ModelVersionList,
  type ModelVersionWire,
  makeClient,
  type OnDemandPriceList,
  type PriceHistory,
  type PricePoint,
  type Savings,
  type SwitchList,
  type SwitchRecord,
  type TenantWire
} from "./api.js"
import { type ConnectionState, openStream } from "./sse.js"

const TOKEN_KEY = "spotfleet.dashboard.token"
const DISMISSED_KEY = "spotfleet.dashboard.dismissedAlert"

export interface Notification {
  readonly id: number
  readonly at: number
  readonly type: string
  readonly agentId: string | null
  readonly severity: "info" | "warning" | "critical" | "success"
  readonly text: string
}

/** A notification the server keeps (`GET /api/notifications`): survives reloads and restarts. */
export interface StoredNotification {
  readonly id: number
  readonly agentId: string | null
  readonly eventId: number
  readonly kind: string
  readonly severity: "info" | "warning" | "critical"
  readonly title: string
  readonly body: string | null
  readonly createdAt: number
  readonly readAt: number | null
}

export interface PoolSeries {
  readonly pool: string
  readonly from: number
  readonly rawSince: number
  readonly points: ReadonlyArray<PricePoint>
  readonly loadedAt: number
}

export interface State {
  readonly token: string | null
  readonly tenant: TenantWire | null
  readonly loginError: string | null
  readonly connection: ConnectionState | "idle"
  readonly connectionDetail: string | null
  readonly lastEventId: number | null
  readonly agents: Readonly<Record<string, AgentWire>>
  readonly views: Readonly<Record<string, AgentView>>
  readonly switches: ReadonlyArray<SwitchRecord>
  readonly downtime: Downtime | null
  readonly savings: Savings | null
  readonly emergencies: ReadonlyArray<DomainEventWire>
  readonly decisions: ReadonlyArray<DecisionRecord>
  /** The model registry's versions (`GET /api/models`); null until loaded or when the server has no registry. */
  readonly models: ReadonlyArray<ModelVersionWire> | null
  readonly modelPerformance: ReadonlyArray<ModelPerformanceWire>
  /** Why the registry could not be read (e.g. the server runs without one), if so. */
  readonly modelsError: string | null
  /**
   * The newest event id when the dashboard's data was loaded: banners are only raised for
   * events after it (what happens while you watch), never for history.
   */
  readonly liveAfterId: number | null
  /** The newest event id whose banner was dismissed (kept for this browser tab). */
  readonly dismissedAlertId: number
  readonly runs: ReadonlyArray<ConsolidationRun>
  readonly onDemand: OnDemandPriceList["prices"]
  readonly prices: Readonly<Record<string, PoolSeries>>
  readonly notifications: ReadonlyArray<Notification>
  readonly unread: number
  /** The server's notifications, newest first (null: this server keeps none). */
  readonly stored: ReadonlyArray<StoredNotification> | null
  /** How many of them are unread (on the server, all pages). */
  readonly storedUnread: number
  readonly errors: ReadonlyArray<string>
  /** The events seen in this session, newest last (bounded). */
  readonly eventsSeen: number
}

export interface Actions {
  readonly login: (token: string) => Promise<void>
  readonly logout: () => void
  readonly restore: () => void
  readonly refreshAll: () => Promise<void>
  readonly refreshAgent: (agentId: string) => Promise<void>
  readonly loadPrices: (pool: string) => Promise<void>
  readonly markRead: () => void
  readonly dismissError: (index: number) => void
  readonly dismissAlert: (eventId: number) => void
  /** Reloads the model registry, its performance and the decision log (the ML page on open). */
  readonly refreshModels: () => Promise<void>
  readonly act: <A>(label: string, run: (api: ApiClient) => Promise<A>) => Promise<A | undefined>
}

export type Store = State & Actions

const initial: State = {
  token: null,
  tenant: null,
  loginError: null,
  connection: "idle",
  connectionDetail: null,
  lastEventId: null,
  agents: {},
  views: {},
  switches: [],
  downtime: null,
  savings: null,
  emergencies: [],
  decisions: [],
  models: null,
  modelPerformance: [],
  modelsError: null,
  liveAfterId: null,
  dismissedAlertId: 0,
  runs: [],
  onDemand: [],
  prices: {},
  notifications: [],
  unread: 0,
  stored: [],
  storedUnread: 0,
  errors: [],
  eventsSeen: 0
}

const emergencyTypes = new Set(["NoticeReceived", "NoticeCleared", "EmergencyLaunch", "EmergencyPromotion", "AgentDegraded", "AgentRecovered"])
/** The event types the server makes notifications of (the engine's `Notification.sourceTypes`). */
const notificationSourceTypes = new Set(["NoticeReceived", "AgentDegraded", "AgentOffline", "FlowFinished", "TerminationRetried", "InstanceAdopted"])
const switchTypes = new Set(["FlowStarted", "FlowFinished", "RoleChanged", "SwitchReported", "EmergencyPromotion"])

/** What a notification says about an event (null: not worth a notification). */
export const describeEvent = (event: DomainEventWire, agentName: (id: string | null) => string): Omit<Notification, "id" | "at" | "type" | "agentId"> | null => {
  const d = event.data as Record<string, unknown>
  const who = agentName(event.agentId)
  switch (event.type) {
    case "AgentRegistered":
      return { severity: "info", text: `${who} registered` }
    case "AgentReregistered":
      return { severity: "info", text: `${who} re-registered on a new instance` }
    case "AgentOnline":
      return { severity: "success", text: `${who} is online` }
    case "AgentOffline":
      return { severity: "warning", text: `${who} went offline` }
    case "AgentDegraded":
      return { severity: "critical", text: `${who} is degraded: no ready replica, emergency launch under way` }
    case "AgentRecovered":
      return { severity: "success", text: `${who} recovered` }
    case "NoticeReceived":
      return { severity: "critical", text: `${who}: ${String(d["kind"] ?? "interruption")} notice received` }
    case "NoticeCleared":
      return { severity: "info", text: `${who}: notice cleared (${String(d["reason"] ?? "")})` }
    case "EmergencyLaunch":
      return { severity: "warning", text: `${who}: emergency launch (${String(d["step"] ?? "")}${d["pool"] ? ` in ${String(d["pool"])}` : ""})` }
    case "EmergencyPromotion":
      return d["step"] === undefined
        ? { severity: "success", text: `${who}: emergency promotion after ${Number(d["secondsSinceNotice"] ?? 0).toFixed(1)} s${d["beforeDeadline"] === false ? " (after the deadline)" : ""}` }
        : { severity: "warning", text: `${who}: emergency promotion ${String(d["step"])}` }
    case "RoleChanged":
      return { severity: "info", text: `${who}: instance ${String(d["from"] ?? "?")} → ${String(d["to"] ?? "?")}` }
    case "FlowStarted":
      return { severity: "info", text: `${who}: ${String(d["kind"] ?? "flow")} started` }
    case "FlowFinished":
      return { severity: d["result"] === "succeeded" || d["outcome"] === "succeeded" ? "success" : "info", text: `${who}: ${String(d["kind"] ?? "flow")} finished (${String(d["result"] ?? d["outcome"] ?? "done")})` }
    case "CommandFailed":
      return { severity: "warning", text: `${who}: command failed` }
    case "CommandExpired":
      return { severity: "warning", text: `${who}: command expired` }
    case "SwitchReported":
      return { severity: "info", text: `${who}: switch reported (downtime ${String(d["downtimeSeconds"] ?? "?")} s)` }
    case "ConfigChanged":
      return { severity: "info", text: `${who}: configuration changed` }
    case "InstanceMissing":
      return { severity: "warning", text: `${who}: an instance is missing from the agent's inventory` }
    default:
      return null
  }
}

let stream: { close: () => void } | null = null
const timers = new Map<string, ReturnType<typeof setTimeout>>()
/** Runs `fn` once, `ms` after the last call with the same key. */
const debounce = (key: string, ms: number, fn: () => void) => {
  const t = timers.get(key)
  if (t !== undefined) clearTimeout(t)
  timers.set(key, setTimeout(() => {
    timers.delete(key)
    fn()
  }, ms))
}

const DAY = 24 * 3600 * 1000

export const useStore = create<Store>()((set, get) => {
  const api = (): ApiClient => {
    const token = get().token
    if (token === null) throw new ApiFailure(401, "Unauthorized", "not logged in")
    return makeClient(token)
  }
  const report = (label: string, e: unknown) => {
    if (e instanceof ApiFailure && e.status === 401) {
      get().logout()
      set({ loginError: "The token is no longer accepted: log in again." })
      return
    }
    const message = `${label}: ${e instanceof Error ? e.message : String(e)}`
    set((s) => ({ errors: [...s.errors.slice(-4), message] }))
  }
  const quietly = async (label: string, run: () => Promise<void>) => {
    try {
      await run()
    } catch (e) {
      report(label, e)
    }
  }

  const loadAgents = () =>
    quietly("agents", async () => {
      const { agents } = await api().get<{ agents: ReadonlyArray<AgentWire> }>("/api/agents")
      set({ agents: Object.fromEntries(agents.map((a) => [a.id, a])) })
      // Instance badges on the list need each agent's instances (small fleets: all of them).
      await Promise.all(agents.slice(0, 100).map((a) => get().refreshAgent(a.id)))
    })
  const loadSwitches = () =>
    quietly("switch history", async () => {
      const client = api()
      const since = Date.now() - 30 * DAY
      const [list, downtime] = await Promise.all([
        client.get<SwitchList>("/api/switches", { since }),
        client.get<Downtime>("/api/analytics/downtime")
      ])
      set({ switches: list.switches, downtime })
    })
  const loadSavings = () =>
    quietly("savings", async () => {
      set({ savings: await api().get<Savings>("/api/savings") })
    })
  const loadEmergencies = () =>
    quietly("emergency events", async () => {
      const page = await api().get<EmergencyEventPage>("/api/emergency-events", { after: 0, limit: 1000 })
      set({ emergencies: page.events.slice(-200) })
    })
  const loadDecisions = () =>
    quietly("decisions", async () => {
      set({ decisions: (await api().get<DecisionList>("/api/decisions", { limit: 500 })).decisions })
    })
  const loadModels = () =>
    quietly("models", async () => {
      const client = api()
      try {
        const [list, performance] = await Promise.all([
          client.get<ModelVersionList>("/api/models"),
          client.get<ModelPerformanceReport>("/api/models/performance")
        ])
        set({ models: list.models, modelPerformance: performance.models, modelsError: null })
      } catch (e) {
        // A server without a model registry answers 503: said on the page, not as an error banner.
        if (e instanceof ApiFailure && e.status === 503) set({ models: [], modelPerformance: [], modelsError: e.message })
        else throw e
      }
    })
  const loadPricing = () =>
    quietly("pricing", async () => {
      const client = api()
      const [runs, onDemand] = await Promise.all([
        client.get<ConsolidationRunList>("/api/prices/consolidation-runs", { limit: 50 }),
        client.get<OnDemandPriceList>("/api/prices/on-demand")
      ])
      set({ runs: runs.runs, onDemand: onDemand.prices })
    })

  /** The kept notifications; a server without a notification store (503) keeps none. */
  const loadNotifications = async () => {
    try {
      const page = await api().get<{ notifications: ReadonlyArray<StoredNotification>; unread: number }>("/api/notifications", { limit: 200 })
      set({ stored: page.notifications, storedUnread: page.unread })
    } catch (e) {
      if (e instanceof ApiFailure && e.status === 503) set({ stored: null, storedUnread: 0 })
      else report("notifications", e)
    }
  }

  const onEvent = (event: DomainEventWire) => {
    const agentName = (id: string | null) => (id === null ? "tenant" : get().agents[id]?.logicalAgentId ?? id.slice(0, 8))
    const described = describeEvent(event, agentName)
    set((s) => ({
      eventsSeen: s.eventsSeen + 1,
      lastEventId: event.id,
      ...(described === null ? {} : {
        notifications: [...s.notifications.slice(-199), { id: event.id, at: event.at, type: event.type, agentId: event.agentId, ...described }],
        unread: s.unread + 1
      })
    }))
    if (event.type === "PriceReported") {
      const prices = (event.data as { prices?: ReadonlyArray<{ pool: string; price: number; observedAt: number; role: string | null }> }).prices ?? []
      set((s) => {
        const next = { ...s.prices }
        for (const p of prices) {
          const series = next[p.pool]
          if (series === undefined) continue
          const point: PricePoint = { at: p.observedAt, price: p.price, source: "raw", confidence: null, runId: null, snapshotsMerged: null, reporterRole: (p.role as PricePoint["reporterRole"]) ?? null }
          next[p.pool] = { ...series, points: [...series.points, point].sort((a, b) => a.at - b.at) }
        }
        return { prices: next }
      })
      return
    }
    if (event.agentId !== null) {
      const agentId = event.agentId
      if (get().agents[agentId] === undefined || event.type === "AgentRegistered" || event.type === "AgentReregistered") {
        debounce("agents", 150, () => void loadAgents())
      } else if (!event.type.startsWith("Command") || event.type === "CommandSucceeded" || event.type === "CommandFailed") {
        debounce(`agent:${agentId}`, 150, () => void get().refreshAgent(agentId))
      }
    }
    if (switchTypes.has(event.type)) {
      debounce("switches", 200, () => void loadSwitches())
      debounce("savings", 2000, () => void loadSavings())
      debounce("decisions", 2000, () => void Promise.all([loadDecisions(), loadModels()]))
    }
    if (emergencyTypes.has(event.type)) {
      set((s) => ({ emergencies: [...s.emergencies.slice(-199), event] }))
    }
    // The server writes notifications of these events within its projector's period (2 s).
    if (notificationSourceTypes.has(event.type)) debounce("notifications", 2500, () => void loadNotifications())
  }

  const connect = (token: string) => {
    stream?.close()
    stream = openStream({
      url: "/api/events/stream",
      token,
      onState: (connection, detail) => {
        set({ connection, connectionDetail: detail ?? null })
        if (connection === "unauthorized") report("event stream", new ApiFailure(401, "Unauthorized", "token refused"))
      },
      onEvent: (message) => {
        try {
          onEvent(JSON.parse(message.data) as DomainEventWire)
        } catch (e) {
          report("event stream", e)
        }
      },
      // Subscribed first, loaded second: every change after the snapshot arrives as an event.
      onOpen: () => void get().refreshAll()
    })
  }

  return {
    ...initial,
    login: async (raw) => {
      const token = raw.trim()
      if (token === "") {
        set({ loginError: "Enter a token." })
        return
      }
      try {
        const tenant = await makeClient(token).get<TenantWire>("/api/tenant")
        sessionStorage.setItem(TOKEN_KEY, token)
        set({ ...initial, token, tenant, dismissedAlertId: Number(sessionStorage.getItem(DISMISSED_KEY) ?? 0) || 0 })
        connect(token)
      } catch (e) {
        set({ loginError: e instanceof ApiFailure && e.status === 401 ? "This token is not a tenant token." : `Login failed: ${e instanceof Error ? e.message : String(e)}` })
        throw e
      }
    },
    logout: () => {
      stream?.close()
      stream = null
      for (const t of timers.values()) clearTimeout(t)
      timers.clear()
      sessionStorage.removeItem(TOKEN_KEY)
      sessionStorage.removeItem(DISMISSED_KEY)
      set({ ...initial })
    },
    restore: () => {
      const token = sessionStorage.getItem(TOKEN_KEY)
      if (token !== null && get().token === null) void get().login(token).catch(() => sessionStorage.removeItem(TOKEN_KEY))
    },
    refreshAll: async () => {
      await Promise.all([loadAgents(), loadSwitches(), loadSavings(), loadEmergencies(), loadDecisions(), loadPricing(), loadModels(), loadNotifications()])
      // Everything up to here is history: banners are for what happens from now on.
      set((s) => ({ liveAfterId: s.liveAfterId ?? Math.max(0, s.lastEventId ?? 0, ...s.emergencies.map((e) => e.id)) }))
      await Promise.all(Object.keys(get().prices).map((pool) => get().loadPrices(pool)))
    },
    refreshAgent: (agentId) =>
      quietly("agent", async () => {
        const view = await api().get<AgentView>(`/api/agents/${enc(agentId)}`)
        set((s) => ({ views: { ...s.views, [agentId]: view }, agents: { ...s.agents, [agentId]: view.agent } }))
      }),
    loadPrices: (pool) =>
      quietly("price history", async () => {
        const from = Date.now() - DAY
        const history = await api().get<PriceHistory>("/api/prices/history", { pool, from })
        set((s) => ({ prices: { ...s.prices, [pool]: { pool, from, rawSince: history.rawSince, points: history.points, loadedAt: Date.now() } } }))
      }),
    markRead: () => {
      set({ unread: 0 })
      const { stored, storedUnread } = get()
      if (stored === null || stored.length === 0 || storedUnread === 0) return
      void quietly("notifications", async () => {
        const done = await api().send<{ unread: number }>("POST", "/api/notifications/read", { upToId: stored[0]!.id })
        set((s) => ({ storedUnread: done.unread, stored: (s.stored ?? []).map((n) => (n.readAt === null && n.id <= stored[0]!.id ? { ...n, readAt: Date.now() } : n)) }))
      })
    },
    dismissError: (index) => set((s) => ({ errors: s.errors.filter((_, i) => i !== index) })),
    refreshModels: async () => {
      await Promise.all([loadDecisions(), loadModels()])
    },
    dismissAlert: (eventId) => {
      sessionStorage.setItem(DISMISSED_KEY, String(eventId))
      set((s) => ({ dismissedAlertId: Math.max(s.dismissedAlertId, eventId) }))
    },
    act: async (label, run) => {
      try {
        return await run(api())
      } catch (e) {
        report(label, e)
        return undefined
      }
    }
  }
})
