#!/usr/bin/env node
// `npm start`: the example server from its TypeScript sources (tsx, workspace packages resolved to
// src through the @spotfleet/source condition). A demo fleet runs unless MYSQL_URL is set.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as path from "node:path"

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const env = { ...process.env }
if (env.SPOTFLEET_DEMO === undefined && !env.MYSQL_URL) env.SPOTFLEET_DEMO = "1"

const tsx = path.join(root, "node_modules", ".bin", process.platform === "win32" ? "tsx.cmd" : "tsx")
const child = spawn(tsx, ["--conditions=@spotfleet/source", path.join(root, "examples/server/src/main.ts")], {
  cwd: root,
  env,
  stdio: "inherit"
})
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGTERM" || signal === "SIGINT" ? 0 : 1)))
