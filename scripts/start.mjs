#!/usr/bin/env node
// `npm start`: the example server from its TypeScript sources (tsx, workspace packages resolved to
// src through the @spotfleet/source condition). A demo fleet runs unless MYSQL_URL is set.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as path from "node:path"

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const env = { ...process.env }
if (env.SPOTFLEET_DEMO === undefined && !env.MYSQL_URL) env.SPOTFLEET_DEMO = "1"

// tsx as an in-process loader (not its CLI): the CLI relays signals through a child process and,
// on a busy machine, can give up waiting and exit 143 before the server has shut down cleanly.
const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@spotfleet/source", path.join(root, "examples/server/src/main.ts")], {
  cwd: root,
  env,
  stdio: "inherit"
})
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGTERM" || signal === "SIGINT" ? 0 : 1)))
