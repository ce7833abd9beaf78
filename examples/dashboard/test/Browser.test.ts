/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core against the example
 * server (a child process, ephemeral port, in-memory store) with a small simulated fleet that this
 * test drives over HTTP, as real agents would. Screenshots of each main view go to
 * examples/dashboard/test-artifacts/ (gitignored).
 *
 * Without /usr/bin/chromium (or CHROMIUM_PATH) the suite is skipped with a warning, and fails
 * under CI=true. The dashboard is built first when dist/ is missing or older than its sources.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync } from "node:fs"
import * as path from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { artifactsDir as artifacts, chromiumArgs, chromiumPath, ci, dist, hasChromium, root } from "./browser.js"

const TENANT_TOKEN = `sft_browser_${Math.random().toString(36).slice(2)}`
const ADMIN_TOKEN = `sfadmin_browser_${Math.random().toString(36).slice(2)}`
const POOL_A = "t3.medium.us-east-1a"
const POOL_B = "t3.medium.us-east-1b"
const POOL_C = "m5.large.us-east-1c"

interface Server {
  readonly url: string
  readonly child: ChildProcess
  readonly output: () => string
}

const startServer = (): Promise<Server> =>
  new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      SPOTFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
      SPOTFLEET_BOOTSTRAP_TENANT_TOKEN: TENANT_TOKEN,
      SPOTFLEET_DASHBOARD_DIR: dist,
      SPOTFLEET_DRAIN_SECONDS: "1"
    }
    delete env["MYSQL_URL"]
    delete env["SPOTFLEET_DEMO"]
    delete env["NODE_ENV"]
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@spotfleet/source", path.join(root, "examples/server/src/main.ts")], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    const timer = setTimeout(() => reject(new Error(`the server did not start in 30 s:\n${out}`)), 30_000)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const m = /dashboard: (http:\/\/localhost:\d+)\//.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve({ url: m[1]!.replace("localhost", "127.0.0.1"), child, output: () => out })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the server exited (${code}):\n${out}`))
    })
  })

/** A simulated agent: registers, heartbeats, runs its commands (pretending to be the cloud) while not paused. */
class SimAgent {
  agentId = ""
  paused = false
  readonly cloudIds: Array<string> = []
  private timer: ReturnType<typeof setInterval> | undefined
  private busy = false
  constructor(readonly base: string, readonly logical: string, readonly pool: string) {}

  async call<A>(method: string, route: string, body?: unknown): Promise<A> {
    const response = await fetch(`${this.base}${route}`, {
      method,
      headers: { authorization: `Bearer ${TENANT_TOKEN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`)
    return (text === "" ? undefined : JSON.parse(text)) as A
  }

  async register() {
    const cloudId = fakeCloudId()
    const answer = await this.call<{ agentId: string }>("POST", "/api/agents/register", {
      logicalAgentId: this.logical,
      instanceId: cloudId,
      pool: this.pool,
      // A demoted PRIMARY is terminated at once, so a switch finishes within the test.
      config: { terminateWaitSeconds: 0 }
    })
    this.agentId = answer.agentId
    this.cloudIds.push(cloudId)
    this.timer = setInterval(() => void this.tick(), 300)
    return this
  }

  private async tick() {
    if (this.busy) return
    this.busy = true
    try {
      await this.call("POST", `/api/agents/${this.agentId}/heartbeat`, {})
      if (this.paused) return
      const { commands } = await this.call<{ commands: Array<{ id: string; type: string; params: Record<string, unknown> }> }>(
        "GET",
        `/api/agents/${this.agentId}/pending-commands`
      )
      for (const command of commands) await this.execute(command)
    } catch (e) {
      console.warn(`sim ${this.logical}: ${e instanceof Error ? e.message : String(e)}`)
    } finally {
      this.busy = false
    }
  }

  private async execute(command: { id: string; type: string; params: Record<string, unknown> }) {
    let instanceId: string | null = null
    if (command.type === "LAUNCH_INSTANCE") {
      instanceId = fakeCloudId()
      this.cloudIds.push(instanceId)
      await this.call("POST", `/api/agents/${this.agentId}/instances/launched`, { instanceId, commandId: command.id })
    } else if (command.type === "TERMINATE_INSTANCE") {
      const cloudId = command.params["instance_id"] ?? command.params["cloudInstanceId"]
      if (typeof cloudId === "string") await this.call("POST", `/api/agents/${this.agentId}/instances/terminated`, { instanceId: cloudId })
    }
    await this.call("POST", `/api/agents/${this.agentId}/commands/${command.id}/executed`, { success: true, instanceId })
  }

  async primaryCloudId(): Promise<string> {
    const view = await this.call<{ instances: Array<{ role: string; cloudInstanceId: string | null }> }>("GET", `/api/agents/${this.agentId}`)
    return view.instances.find((i) => i.role === "PRIMARY")!.cloudInstanceId!
  }

  stop() {
    if (this.timer !== undefined) clearInterval(this.timer)
  }
}

const fakeCloudId = () => `i-${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 17)}`

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true })

const clickNav = async (page: Page, label: string) => {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }).click()
}

/** Seconds left of an `m:ss` countdown. */
const seconds = (text: string) => {
  const m = /^(\d+):(\d\d)$/.exec(text.trim())
  expect(m, `a countdown, got ${JSON.stringify(text)}`).not.toBeNull()
  return Number(m![1]) * 60 + Number(m![2])
}

describe.skipIf(!hasChromium && !ci)("dashboard in chromium", () => {
  let server: Server | undefined
  let browser: Browser | undefined
  let page: Page
  const sims: Array<SimAgent> = []
  const pageErrors: Array<string> = []

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`CI=true: chromium is required at ${chromiumPath} (apt-get install -y chromium)`)
    mkdirSync(artifacts, { recursive: true })
    ;[server, browser] = await Promise.all([
      startServer(),
      chromium.launch({
        executablePath: chromiumPath,
        args: chromiumArgs
      })
    ])
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on("pageerror", (e) => pageErrors.push(e.message))
    page.setDefaultTimeout(15_000)
  })

  afterAll(async () => {
    for (const sim of sims) sim.stop()
    await browser?.close()
    if (server !== undefined && server.child.exitCode === null) {
      const exited = new Promise((resolve) => server!.child.once("exit", resolve))
      server.child.kill("SIGTERM")
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))])
      if (server.child.exitCode === null) server.child.kill("SIGKILL")
    }
  })

  it("logs in, follows the fleet live (agents, manual switch, termination notice, promotion, prices) and screenshots each view", async () => {
    const base = server!.url
    const a = await new SimAgent(base, "sim-a", POOL_A).register()
    const b = await new SimAgent(base, "sim-b", POOL_B).register()
    sims.push(a, b)
    // Prices before the chart opens: two pools and the on-demand price of the first.
    await a.call("POST", `/api/agents/${a.agentId}/pricing-report`, {
      prices: [{ pool: POOL_A, price: 0.0125 }, { pool: POOL_B, price: 0.0131 }, { pool: `ondemand:${POOL_A}`, price: 0.0416 }]
    })

    // The server answers the dashboard with the right caching headers.
    const index = await fetch(`${base}/agents/some-client-route`)
    expect(index.status).toBe(200)
    expect(index.headers.get("cache-control")).toBe("no-cache")
    const html = await index.text()
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!
    expect((await fetch(`${base}${asset}`)).headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
    expect((await fetch(`${base}/api/no-such-route`)).headers.get("content-type")).toContain("application/json")

    // Log in; the token never appears in the URL.
    await page.goto(`${base}/`)
    await page.getByLabel("API token").fill(TENANT_TOKEN)
    await page.getByRole("button", { name: "Log in" }).click()
    await page.locator('[data-testid="connection"][data-state="open"]').waitFor()
    expect(page.url()).not.toContain(TENANT_TOKEN)
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true))
    await page.locator('[data-agent="sim-a"]').first().waitFor()
    await page.locator('[data-agent="sim-b"]').first().waitFor()

    // An agent registering now appears without a reload.
    const c = await new SimAgent(base, "sim-c", POOL_C).register()
    sims.push(c)
    await page.locator('[data-testid="agent-list"] [data-agent="sim-c"]').waitFor()
    await page.locator('[data-testid="agents-online"]', { hasText: "3" }).waitFor()
    // Savings net of all spend, and what retired instances still running cost.
    await page.getByText("Net savings (30 days)").waitFor()
    expect(await page.getByTestId("leaked-spend").textContent()).toMatch(/^(\$\d+\.\d\d|—) \d+ still running$/)
    await shot(page, "01-overview")
    await clickNav(page, "Agents")
    await page.locator('[data-testid="agent-list"] [data-agent="sim-a"] [data-testid="instance-badge"][data-role="PRIMARY"]').waitFor()
    await shot(page, "02-agents")

    // Manual switch of sim-a from its detail page; the timeline shows it finish, no reload.
    await page.getByRole("link", { name: "sim-a", exact: true }).click()
    await page.locator('[data-testid="agent-detail"][data-agent="sim-a"]').waitFor()
    await page.getByLabel("Target pool").fill(POOL_B)
    await page.getByTestId("switch-button").click()
    const switched = page.locator('[data-testid="switch-timeline"] li[data-result="succeeded"]')
    await switched.waitFor({ timeout: 20_000 })
    expect(await switched.locator("text=" + `${POOL_A} → ${POOL_B}`).count()).toBe(1)
    await page.locator('[data-testid="instances"] [data-role="PRIMARY"]', { hasText: "PRIMARY" }).first().waitFor()
    await shot(page, "03-agent-detail-after-switch")
    await clickNav(page, "Switches")
    await page.locator('[data-testid="switch-timeline"] li[data-result="succeeded"]').waitFor()
    await page.locator('[data-testid="downtime-card"] [data-testid="downtime-avg"]').waitFor()
    await shot(page, "04-switches")

    // A termination notice on sim-b (which has no replica): a live countdown, then the emergency
    // promotion arrives once the simulated cloud runs the emergency launch.
    b.paused = true
    await b.call("POST", `/api/agents/${b.agentId}/termination-notice`, {
      instanceId: await b.primaryCloudId(),
      terminationTime: new Date(Date.now() + 120_000).toISOString()
    })
    await clickNav(page, "Emergencies")
    const countdown = page.locator('[data-testid="notice"][data-agent="sim-b"] [data-testid="countdown"]')
    await countdown.waitFor()
    const first = seconds(await countdown.innerText())
    await page.waitForTimeout(1_300)
    const second = seconds(await countdown.innerText())
    expect(first).toBeGreaterThan(100)
    expect(first).toBeLessThanOrEqual(120)
    expect(second).toBeLessThan(first)
    await page.locator('[data-testid="emergency-alert"][data-type="NoticeReceived"]').waitFor()
    await shot(page, "05-emergency-countdown")
    b.paused = false
    await page.locator('[data-testid="emergency-alert"][data-type="EmergencyPromotion"]').waitFor({ timeout: 20_000 })
    await page.locator('[data-testid="emergency-events"] li[data-type="EmergencyPromotion"]').first().waitFor()
    await page.locator('[data-testid="notice"][data-agent="sim-b"]').waitFor({ state: "detached" })
    await shot(page, "06-emergency-promoted")

    // A price report shows on the open chart in under 5 s.
    await clickNav(page, "Pricing")
    const chart = page.getByTestId("price-chart")
    await chart.waitFor()
    const poolBox = page.locator(`input[data-pool="${POOL_A}"]`)
    if (!(await poolBox.isChecked())) await poolBox.check()
    await chart.locator(`[data-price="0.0125"]`).first().waitFor()
    expect(Number(await chart.getAttribute("data-ondemand"))).toBeGreaterThanOrEqual(1)
    const price = 0.04321
    const sent = Date.now()
    await c.call("POST", `/api/agents/${c.agentId}/pricing-report`, { prices: [{ pool: POOL_A, price }] })
    await chart.locator(`[data-price="${price}"][data-source="raw"]`).waitFor({ timeout: 5_000 })
    const latency = Date.now() - sent
    console.log(`price report → point on the open chart: ${latency} ms`)
    expect(latency).toBeLessThan(5_000)
    await shot(page, "07-pricing")

    await clickNav(page, "ML models")
    await page.getByTestId("ml-models").waitFor()
    await shot(page, "08-ml-models")
    await clickNav(page, "Notifications")
    await page.locator('[data-testid="notification-center"] li').first().waitFor()
    await shot(page, "09-notifications")

    // Phone width: the same views reflow (CSS only).
    await page.setViewportSize({ width: 390, height: 844 })
    await clickNav(page, "Overview")
    await page.getByTestId("overview").waitFor()
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow).toBeLessThanOrEqual(1)
    await shot(page, "10-overview-phone")
    await clickNav(page, "Emergencies")
    await shot(page, "11-emergencies-phone")

    // Everything above arrived over the event stream: the page never reloaded.
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true)
    expect(pageErrors).toEqual([])
  })
})
