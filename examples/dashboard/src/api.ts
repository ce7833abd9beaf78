/**
 * The dashboard's HTTP client: plain `fetch` with the bearer token, typed by the contract of
 * @spotfleet/adapter-http (type-only imports: nothing of the server reaches the bundle). Wire
 * types are the schemas' encoded (JSON) side.
 */
import type { Api, Client, MetricsSummaryApi, ModelsApi, PricingApi } from "@spotfleet/adapter-http"
import type { Agent, DecisionLog, DomainEvent, Engine, Instance, Pricing, Tenant } from "@spotfleet/engine"
import type { Effect, Schema } from "effect"

type Wire<S extends Schema.Schema.Any> = Schema.Schema.Encoded<S>
/** The JSON answer of a route of the typed client (for groups whose schemas are not exported by name). */
type Answer<F> = F extends (...args: ReadonlyArray<never>) => Effect.Effect<infer A, infer _E, infer _R> ? Exclude<A, readonly [unknown, unknown]> : never

export type AgentWire = Wire<typeof Agent.Agent>
export type AgentConfig = Wire<typeof Agent.AgentConfig>
export type AgentConfigPatch = Wire<typeof Agent.AgentConfigPatch>
export type InstanceWire = Wire<typeof Instance.Instance>
export type AgentView = Wire<typeof Engine.AgentView>
export type DomainEventWire = Wire<typeof DomainEvent.DomainEvent>
export type EventType = Wire<typeof DomainEvent.EventType>
export type TenantWire = Wire<typeof Tenant.Tenant>
export type TenantList = Wire<typeof Api.TenantList>
export type CreatedToken = Wire<typeof Api.CreatedToken>
export type AgentList = Wire<typeof Api.AgentList>
export type PriceHistory = Wire<typeof PricingApi.PriceHistoryResponse>
export type PricePoint = Wire<typeof PricingApi.PricePoint>
export type PointSource = Wire<typeof PricingApi.PointSource>
export type OnDemandPriceList = Wire<typeof PricingApi.OnDemandPriceList>
export type ConsolidationRun = Wire<typeof Pricing.ConsolidationRun>
export type ConsolidationRunList = Wire<typeof PricingApi.ConsolidationRunList>
export type DecisionRecord = Wire<typeof DecisionLog.DecisionRecord>
export type MetricsSummary = Wire<typeof MetricsSummaryApi.MetricsSummary>
export type ModelVersionList = Wire<typeof ModelsApi.ModelVersionList>
export type ModelVersionWire = ModelVersionList["models"][number]
export type ModelPerformanceReport = Wire<typeof ModelsApi.ModelPerformanceReport>
export type ModelPerformanceWire = ModelPerformanceReport["models"][number]

type Ops = Client.Client["ops"]
export type SwitchList = Answer<Ops["listSwitches"]>
export type SwitchRecord = SwitchList["switches"][number]
export type Downtime = Answer<Ops["downtime"]>
export type Savings = Answer<Ops["savings"]>
export type EmergencyEventPage = { readonly events: ReadonlyArray<DomainEventWire>; readonly lastId: number }
export type DecisionList = { readonly decisions: ReadonlyArray<DecisionRecord> }

/** An error answer of the API (`{error:{code,message,details}}`) or a network failure. */
export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message)
  }
}

export interface ApiClient {
  readonly get: <A>(path: string, query?: Record<string, string | number | undefined>) => Promise<A>
  readonly send: <A>(method: "POST" | "PATCH" | "PUT" | "DELETE", path: string, body?: unknown) => Promise<A>
}

const requestId = () => `dash-${globalThis.crypto.randomUUID()}`

/** A client for `baseUrl` (empty: the page's origin) with a bearer token. */
export const makeClient = (token: string, baseUrl = ""): ApiClient => {
  const call = async <A>(method: string, path: string, body?: unknown): Promise<A> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" }
    if (method !== "GET") headers["x-request-id"] = requestId()
    if (body !== undefined) headers["content-type"] = "application/json"
    let response: Response
    try {
      response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
    } catch (e) {
      throw new ApiFailure(0, "NetworkError", e instanceof Error ? e.message : String(e))
    }
    const text = await response.text()
    const json: unknown = text === "" ? undefined : safeJson(text)
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error
      throw new ApiFailure(response.status, error?.code ?? `HTTP${response.status}`, error?.message ?? response.statusText, error?.details)
    }
    return json as A
  }
  return {
    get: (path, query) => {
      const params = new URLSearchParams()
      for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v))
      const qs = params.toString()
      return call("GET", qs === "" ? path : `${path}?${qs}`)
    },
    send: (method, path, body) => call(method, path, body)
  }
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return { error: { code: "MalformedAnswer", message: text.slice(0, 200) } }
  }
}

export const enc = encodeURIComponent
