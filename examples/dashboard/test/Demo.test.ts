/**
 * First contact: a fresh `npm start` (the README's command, run in the repository root with an
 * ephemeral port), then every page of the dashboard in Debian's chromium within 60 s of the start,
 * logged in with the demo tenant's token the server prints. The demo's replayed history must show
 * on every page: non-zero savings, a price chart with points and at least 4 time labels, switches,
 * emergencies, auto-switch decisions and the active model. No page error, no failed request (the
 * favicon included), no banner for events from before the login, and a dismissed banner stays
 * dismissed on every view. Screenshots of each page go to examples/dashboard/test-artifacts/demo/
 * (gitignored).
 *
 * Without /usr/bin/chromium (or CHROMIUM_PATH) the suite is skipped with a warning, and fails
 * under CI=true.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync } from "node:fs"
import * as path from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { artifactsDir, chromiumArgs, chromiumPath, ci, hasChromium, root } from "./browser.js"

const artifacts = path.join(artifactsDir, "demo")
const START_BUDGET_MILLIS = 60_000

interface Started {
  readonly url: string
  readonly token: string
  readonly child: ChildProcess
  readonly startedAt: number
  readonly output: () => string
}

/** `npm start` in the repository root, as the README says, on an ephemeral port. */
const npmStart = (): Promise<Started> =>
  new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, PORT: "0", HOST: "127.0.0.1", SPOTFLEET_DRAIN_SECONDS: "1" }
    for (const name of ["MYSQL_URL", "SPOTFLEET_DEMO", "NODE_ENV", "SPOTFLEET_ADMIN_TOKEN", "SPOTFLEET_DASHBOARD_DIR", "SPOTFLEET_BOOTSTRAP_TENANT_TOKEN"]) delete env[name]
    const startedAt = Date.now()
    // Its own process group, so the whole tree (npm, start.mjs, the server) is stopped at the end.
    const child = spawn("npm", ["start"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached: true })
    let out = ""
    const timer = setTimeout(() => reject(new Error(`npm start did not print the demo token in 45 s:\n${out}`)), 45_000)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const url = /dashboard: (http:\/\/localhost:\d+)\//.exec(out)
      const token = /demo fleet: tenant \S+, API token (\S+)/.exec(out)
      if (url !== null && token !== null) {
        clearTimeout(timer)
        resolve({ url: url[1]!.replace("localhost", "127.0.0.1"), token: token[1]!, child, startedAt, output: () => out })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`npm start exited (${code}):\n${out}`))
    })
  })

const stop = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.pid === undefined) return
  const exited = new Promise((resolve) => child.once("exit", resolve))
  process.kill(-child.pid, "SIGTERM")
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 8_000))])
  if (child.exitCode === null) process.kill(-child.pid, "SIGKILL")
}

const dollars = (text: string) => Number(/\$(-?[\d.]+)/.exec(text)?.[1] ?? "NaN")

describe.skipIf(!hasChromium && !ci)("a fresh npm start, every page in chromium", () => {
  let started: Started | undefined
  let browser: Browser | undefined
  let page: Page
  const pageErrors: Array<string> = []
  const failed: Array<string> = []

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`CI=true: chromium is required at ${chromiumPath} (apt-get install -y chromium)`)
    mkdirSync(artifacts, { recursive: true })
    ;[started, browser] = await Promise.all([npmStart(), chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })])
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.setDefaultTimeout(15_000)
    page.on("pageerror", (e) => pageErrors.push(e.message))
    page.on("response", (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`)
    })
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    if (started !== undefined) await stop(started.child)
  })

  it("shows the demo's history on every page within 60 s of the start", async () => {
    const { url, token, startedAt } = started!
    const shot = (name: string) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true })
    const nav = (label: string) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }).click()

    await page.goto(`${url}/`)
    await page.getByLabel("API token").fill(token)
    await page.getByRole("button", { name: "Log in" }).click()
    await page.locator('[data-testid="connection"][data-state="open"]').waitFor()
    const loggedInAt = Date.now()

    // Overview: the replayed fleet saved money against on-demand.
    await page.locator('[data-testid="agents-online"]', { hasText: "6" }).waitFor()
    await page.locator('[data-testid="savings"]', { hasText: "$" }).waitFor()
    const savings = dollars(await page.getByTestId("savings").innerText())
    expect(savings, "savings on the overview").toBeGreaterThan(0)
    // No banner for what happened before the login (the replayed emergencies).
    const early = page.getByTestId("emergency-alert")
    if (await early.count() > 0) expect(Number(await early.getAttribute("data-at"))).toBeGreaterThanOrEqual(loggedInAt - 2_000)
    await shot("01-overview")

    await nav("Agents")
    await page.locator('[data-testid="agent-list"] [data-agent="demo-1"]').first().waitFor()
    await shot("02-agents")
    await page.getByRole("link", { name: "demo-4", exact: true }).first().click()
    await page.locator('[data-testid="agent-detail"][data-agent="demo-4"]').waitFor()
    await page.locator('[data-testid="switch-timeline"] li[data-result="succeeded"]').first().waitFor()
    await shot("03-agent-detail")

    // Pricing: the real series with points and a readable time axis.
    await nav("Pricing")
    const chart = page.locator('[data-testid="price-chart"][data-points]:not([data-points="0"])')
    await chart.first().waitFor()
    expect(Number(await chart.first().getAttribute("data-points"))).toBeGreaterThan(10)
    const ticks = chart.first().locator(".recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value")
    await ticks.first().waitFor()
    const labels = await ticks.allTextContents()
    expect(labels.filter((l) => l.trim() !== "").length, `x-axis labels ${JSON.stringify(labels)}`).toBeGreaterThanOrEqual(4)
    expect(await page.getByTestId("demo-provenance").innerText()).toContain("derived")
    await shot("04-pricing")
    // A pool without prices: no legend entry while others have points, a message when it is alone.
    const empty = "m5.large.us-east-1a"
    await page.getByPlaceholder("add a pool, e.g. m5.large.us-east-1c").fill(empty)
    await page.getByRole("button", { name: "Add", exact: true }).click()
    await page.locator(`input[data-pool="${empty}"]`).waitFor()
    await page.waitForTimeout(1_000)
    const legendPools = (await chart.first().locator('[data-legend="pool"]').allInnerTexts()).map((l) => l.trim())
    expect(legendPools.length).toBeGreaterThan(0)
    expect(legendPools).not.toContain(empty)
    const checked = await page.locator("fieldset.pools input[type=checkbox]:checked").evaluateAll((els) => els.map((e) => e.getAttribute("data-pool")))
    for (const pool of checked) if (pool !== empty) await page.locator(`input[data-pool="${pool}"]`).uncheck()
    await page.getByTestId("price-chart-empty").waitFor()
    expect(await page.getByTestId("price-chart-empty").innerText()).toContain(empty)
    await shot("04b-pricing-empty-pool")

    await nav("Switches")
    await page.locator('[data-testid="switch-timeline"] li[data-result="succeeded"]').first().waitFor()
    await shot("05-switches")

    await nav("Emergencies")
    await page.locator('[data-testid="emergency-events"] li[data-type="EmergencyPromotion"]').first().waitFor()
    await shot("06-emergencies")

    // ML: the registry's active model and the auto-switch loop's decisions.
    await nav("ML models")
    await page.locator('[data-testid="model-version"][data-status="active"]').first().waitFor()
    expect(await page.locator('[data-testid="model-version"][data-status="active"]').first().getAttribute("data-model")).toBe("switch-decision@1")
    await page.locator('[data-testid="decision"]').first().waitFor()
    expect(await page.locator('[data-testid="decision"]').count()).toBeGreaterThanOrEqual(1)
    await shot("07-ml-models")

    await nav("Notifications")
    await page.getByTestId("notification-center").waitFor()
    await shot("08-notifications")

    const elapsed = Date.now() - startedAt
    console.log(`npm start → every page shown with its figures: ${(elapsed / 1000).toFixed(1)} s (savings $${savings.toFixed(2)}, ${labels.length} time labels)`)
    expect(elapsed, "every page within 60 s of npm start").toBeLessThan(START_BUDGET_MILLIS)

    // A banner raised now (a termination notice sent as an agent would) is dismissed once and
    // stays dismissed on every view.
    const agents = await (await fetch(`${url}/api/agents`, { headers: { authorization: `Bearer ${token}` } })).json() as {
      agents: Array<{ id: string; logicalAgentId: string }>
    }
    const demo4 = agents.agents.find((a) => a.logicalAgentId === "demo-4")!
    const view = await (await fetch(`${url}/api/agents/${demo4.id}`, { headers: { authorization: `Bearer ${token}` } })).json() as {
      instances: Array<{ role: string; cloudInstanceId: string | null }>
    }
    const noticed = await fetch(`${url}/api/agents/${demo4.id}/termination-notice`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "x-request-id": `demo-test-${Date.now()}` },
      body: JSON.stringify({ instanceId: view.instances.find((i) => i.role === "PRIMARY")!.cloudInstanceId })
    })
    expect(noticed.status).toBe(200)
    const banner = page.getByTestId("emergency-alert")
    await page.locator('[data-testid="emergency-alert"][data-type="NoticeReceived"]').waitFor()
    const dismissedId = Number(await banner.getAttribute("data-event-id"))
    await page.getByRole("button", { name: "Dismiss the emergency alert" }).click()
    await page.locator(`[data-testid="emergency-alert"][data-event-id="${dismissedId}"]`).waitFor({ state: "detached" })
    for (const label of ["Overview", "Agents", "Pricing", "Emergencies", "Overview"]) {
      await nav(label)
      await page.waitForTimeout(300)
      // Only a newer event may raise a banner again (the demo's simulated cloud goes on: a promotion follows).
      for (const id of await banner.evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-event-id"))))) {
        expect(id).toBeGreaterThan(dismissedId)
      }
    }

    expect(pageErrors).toEqual([])
    expect(failed).toEqual([])
  }, 120_000)
})
