/**
 * What the browser tests share: Debian's chromium (driven by playwright-core; never a browser
 * download), its flags, where screenshots go (test-artifacts/, gitignored), and a build of the
 * dashboard when dist/ is missing or older than its sources.
 */
import { execFile } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const here = path.dirname(fileURLToPath(import.meta.url))
export const dashboardDir = path.resolve(here, "..")
export const root = path.resolve(dashboardDir, "../..")
export const dist = path.join(dashboardDir, "dist")
export const artifactsDir = path.join(dashboardDir, "test-artifacts")
export const chromiumPath = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
export const ci = process.env["CI"] === "true" || process.env["CI"] === "1"
export const hasChromium = existsSync(chromiumPath)
export const chromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]

if (!hasChromium && !ci) {
  console.warn(`\n*** SKIPPED: the dashboard browser tests need chromium at ${chromiumPath} (apt-get install -y chromium) ***\n`)
}

/** Newest modification time under a directory (files only). */
const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const p = path.join(dir, e.name)
    return Math.max(max, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }, 0)

/** Builds the dashboard when dist/ is missing or older than src/, public/ or index.html. */
export const buildIfStale = async () => {
  const index = path.join(dist, "index.html")
  const sources = Math.max(
    newest(path.join(dashboardDir, "src")),
    newest(path.join(dashboardDir, "public")),
    statSync(path.join(dashboardDir, "index.html")).mtimeMs
  )
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return
  const vite = path.join(path.dirname(createRequire(import.meta.url).resolve("vite/package.json")), "bin", "vite.js")
  const started = Date.now()
  await promisify(execFile)(process.execPath, [vite, "build", "--logLevel", "warn"], { cwd: dashboardDir, timeout: 120_000 })
  console.log(`dashboard built in ${Date.now() - started} ms`)
}
