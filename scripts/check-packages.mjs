// The published packages as a consumer gets them (part of `npm run lint`):
//
// 1. `engines.node` and the peer ranges are stated once, in the root package.json (`engines`,
//    `spotfleet.peers`), and every published package must say exactly that; every install line of
//    its README must pin each Effect package to that range's line (`effect@^3.22`: npm's `latest`
//    of effect is 4.x, which nothing here supports yet).
// 2. publint (strict) and arethetypeswrong on each package as `npm pack` packs it, so the exports
//    map, the files list and the types of every resolution mode (node10, node16 from CJS and ESM,
//    bundler) are checked. Packages whose dist/ is missing or older than their sources are built
//    first (`npm run build -w <package>`).
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { publint } from "publint"
import { formatMessage } from "publint/utils"

const root = resolve(import.meta.dirname, "..")
const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const engines = rootPkg.engines?.node
const peers = rootPkg.spotfleet?.peers ?? {}
const problems = []

const packages = readdirSync(join(root, "packages"))
  .map((dir) => ({ dir: join(root, "packages", dir), pkg: JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")) }))
  .filter(({ pkg }) => pkg.private !== true)
const versions = Object.fromEntries(packages.map(({ pkg }) => [pkg.name, pkg.version]))

/** `^3.22.0` → `3.22`; `^0.52.0` → `0.52`: the line a range stays on. */
const lineOf = (range) => /(\d+)\.(\d+)/.exec(range)?.slice(1, 3).join(".")

/** The install lines of a README: lines of sh blocks that run `npm install`. */
const installLines = (text) => {
  const lines = []
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split("\n")) if (/\bnpm (install|i|add)\b/.test(line)) lines.push(line.trim())
  }
  return lines
}

// 1. engines, peers, README install lines
for (const { dir, pkg } of packages) {
  if (pkg.engines?.node !== engines) problems.push(`${pkg.name}: engines.node is ${JSON.stringify(pkg.engines?.node)}, the root states ${JSON.stringify(engines)}`)
  for (const [name, range] of Object.entries(pkg.peerDependencies ?? {})) {
    const expected = name.startsWith("@spotfleet/") ? `^${versions[name]}` : peers[name]
    if (expected === undefined) problems.push(`${pkg.name}: peer ${name} is not in the root's spotfleet.peers`)
    else if (range !== expected) problems.push(`${pkg.name}: peer ${name}@${range}, the root states ${expected}`)
  }
  const readme = join(dir, "README.md")
  if (!existsSync(readme)) {
    problems.push(`${pkg.name}: no README.md`)
    continue
  }
  const lines = installLines(readFileSync(readme, "utf8"))
  if (!lines.some((l) => l.includes(pkg.name))) problems.push(`${pkg.name}: README.md has no install line for it`)
  for (const line of lines) {
    for (const token of line.split(/\s+/)) {
      const m = /^((?:@[\w-]+\/)?[\w.-]+)(?:@(.+))?$/.exec(token)
      if (m === null || !(m[1] === "effect" || m[1].startsWith("@effect/"))) continue
      const stated = peers[m[1]]
      if (m[2] === undefined) problems.push(`${pkg.name}: README installs ${m[1]} without a version: pin it (${m[1]}@${stated ?? "…"})`)
      else if (stated !== undefined && lineOf(m[2]) !== lineOf(stated)) problems.push(`${pkg.name}: README installs ${token}, the peer range is ${stated}`)
    }
  }
}
console.log(`packages: engines.node ${engines} and the peer ranges of ${packages.length} packages as the root states them; README install lines pinned`)

// 2. build what is stale, then publint and attw
const newest = (path) => {
  const info = statSync(path)
  if (!info.isDirectory()) return info.mtimeMs
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), 0)
}
for (const { dir, pkg } of packages) {
  const built = join(dir, "dist", "index.js")
  const fresh = existsSync(built) && existsSync(join(dir, "dist", "dts", "index.d.cts")) &&
    statSync(built).mtimeMs >= Math.max(newest(join(dir, "src")), statSync(join(dir, "package.json")).mtimeMs)
  if (fresh) continue
  console.log(`packages: building ${pkg.name} (dist/ missing or older than its sources)`)
  const r = spawnSync("npm", ["run", "build", "-w", dir], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
  if (r.status !== 0) {
    console.error(`packages: the build of ${pkg.name} failed`)
    process.exit(1)
  }
}
// Packed once (`npm pack`, as publishing packs them); both tools read the tarballs.
const packDir = mkdtempSync(join(tmpdir(), "spotfleet-pack-"))
process.on("exit", () => rmSync(packDir, { recursive: true, force: true }))
const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", packDir, ...packages.flatMap(({ dir }) => ["-w", dir])], {
  cwd: root,
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"]
}))
const tarballOf = (name) => join(packDir, packed.find((p) => p.name === name).filename)
for (const { dir, pkg } of packages) {
  const tarball = readFileSync(tarballOf(pkg.name))
  const { messages } = await publint({
    pkgDir: "package", // the tarball's root directory
    level: "suggestion",
    strict: true,
    pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) }
  })
  const errors = messages.filter((m) => m.type === "error" || m.type === "warning")
  for (const m of errors) problems.push(`publint ${pkg.name}: ${formatMessage(m, pkg) ?? m.code}`)
  for (const m of messages.filter((m) => m.type === "suggestion")) console.log(`publint ${pkg.name} (suggestion): ${formatMessage(m, pkg) ?? m.code}`)
  console.log(`publint ${pkg.name}: ${errors.length === 0 ? "ok" : `${errors.length} problem(s)`}`)

  const attw = join(root, "node_modules", ".bin", "attw")
  let report
  try {
    report = JSON.parse(execFileSync(attw, [tarballOf(pkg.name), "--format", "json"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }))
  } catch (e) {
    // attw exits 1 when it finds problems; its JSON is still on stdout.
    const out = e.stdout ?? ""
    try {
      report = JSON.parse(out)
    } catch {
      problems.push(`attw ${pkg.name}: did not run: ${String(e.stderr ?? e).split("\n")[0]}`)
      continue
    }
  }
  // `analysis.problems`: every problem found (the top-level `problems` groups them by kind).
  const found = Array.isArray(report.analysis?.problems) ? report.analysis.problems : []
  for (const p of found) problems.push(`attw ${pkg.name}: ${p.kind}${p.entrypoint ? ` at ${p.entrypoint}` : ""}${p.resolutionKind ? ` (${p.resolutionKind})` : ""}`)
  const entrypoints = Object.keys(report.analysis?.entrypoints ?? {}).join(", ")
  console.log(`attw ${pkg.name}: ${found.length === 0 ? "no problems" : `${found.length} problem(s)`} (entry points ${entrypoints}; node10, node16 from CJS and ESM, bundler)`)
}

if (problems.length > 0) {
  console.error(problems.join("\n"))
  process.exit(1)
}
