#!/usr/bin/env node
// `npm start`: the example server from its TypeScript sources (tsx, workspace packages resolved to
// src through the @spotfleet/source condition). A demo fleet runs unless MYSQL_URL is set.
import { spawn, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import * as path from "node:path"

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const env = { ...process.env }
if (env.SPOTFLEET_DEMO === undefined && !env.MYSQL_URL) env.SPOTFLEET_DEMO = "1"

// The dashboard at `/`: built once when examples/dashboard/dist is missing (a few seconds); an
// existing build is served as it is (rebuild with `npm run build -w examples/dashboard`).
const dashboard = path.join(root, "examples/dashboard")
if (env.SPOTFLEET_DASHBOARD_DIR === undefined && !existsSync(path.join(dashboard, "dist/index.html"))) {
  let vite
  try {
    vite = path.join(path.dirname(createRequire(path.join(dashboard, "package.json")).resolve("vite/package.json")), "bin/vite.js")
  } catch {
    console.log("spotfleet: vite is not installed, so the dashboard is not built (npm ci first)")
  }
  if (vite !== undefined) {
    console.log("spotfleet: building the dashboard (examples/dashboard/dist), once")
    const built = spawnSync(process.execPath, [vite, "build", "--logLevel", "warn"], { cwd: dashboard, stdio: "inherit" })
    if (built.status !== 0) console.log("spotfleet: the dashboard build failed; the server starts without it")
  }
}

// tsx as an in-process loader (not its CLI): the CLI relays signals through a child process and,
// on a busy machine, can give up waiting and exit 143 before the server has shut down cleanly.
// Arguments pass through (`npm start -- --verbose`: the full cause of a failed start).
const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@spotfleet/source", path.join(root, "examples/server/src/main.ts"), ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: "inherit"
})
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGTERM" || signal === "SIGINT" ? 0 : 1)))
