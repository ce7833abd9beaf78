#!/usr/bin/env node
// The `spotfleet` CLI, started quickly.
//
// Loading the CLI and its commands' code (Effect, @effect/cli, the engine and adapters from their
// TypeScript sources) as several hundred modules through tsx takes 2–3 s before anything happens.
// So the CLI runs from one bundled file (esbuild, built on first use into the user's cache
// directory — ~/.cache/spotfleet/cli, or $XDG_CACHE_HOME — and rebuilt when the sources or the
// installed Effect change): `--help` and a bad option answer in a few tenths of a second, and a
// command loads in under a second. Native and driver packages (onnxruntime-node, mysql2) stay
// outside the bundle and load from node_modules; `import.meta.url` keeps meaning each source
// file's own place (the shipped model file is found next to its module). Without esbuild, or when
// the cache cannot be written, the CLI runs from its sources through tsx.
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs"
import { createRequire, register } from "node:module"
import { homedir } from "node:os"
import { dirname, isAbsolute, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const src = resolve(here, "..", "src")
const repo = resolve(here, "..", "..", "..")
/** Packages loaded from node_modules, not bundled: native code, drivers, and what only they load. */
const external = /^(onnxruntime-node|onnxruntime-common|mysql2|msgpackr|msgpackr-extract|@parcel\/watcher|esbuild|tsx|undici|ws)(\/.*)?$/

/** Runs the CLI from its TypeScript sources (workspace packages resolved to their sources). */
const fromSources = async () => {
  if (!process.execArgv.some((a) => a.includes("@spotfleet/source"))) register("./source-condition.mjs", import.meta.url)
  const { register: registerTsx } = await import("tsx/esm/api")
  registerTsx()
  await import(pathToFileURL(join(src, "bin.ts")).href)
}

/** What the bundle is built from: the times of its sources and the versions of the installed packages it bundles or loads. */
const fingerprint = () => {
  const hash = createHash("sha1").update(src)
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.(ts|json|onnx)$/.test(entry.name)) hash.update(`${path}:${statSync(path).mtimeMs}`)
    }
  }
  walk(src)
  for (const pkg of ["engine", "adapter-mysql", "adapter-http", "ml-onnx"]) walk(join(repo, "packages", pkg, "src"))
  for (const pkg of ["effect", "@effect/cli", "@effect/platform", "@effect/platform-node", "@effect/sql", "@effect/sql-mysql2", "mysql2", "onnxruntime-node"]) {
    try {
      hash.update(JSON.parse(readFileSync(join(repo, "node_modules", pkg, "package.json"), "utf8")).version)
    } catch {
      hash.update(`${pkg}:?`)
    }
  }
  hash.update(readFileSync(fileURLToPath(import.meta.url)))
  return hash.digest("hex").slice(0, 16)
}

/** The bundled CLI, built when missing or stale (throws when it cannot be). */
const bundle = async () => {
  const base = process.env.XDG_CACHE_HOME && isAbsolute(process.env.XDG_CACHE_HOME) ? process.env.XDG_CACHE_HOME : join(homedir(), ".cache")
  const dir = join(base, "spotfleet", "cli")
  const file = join(dir, `spotfleet-${fingerprint()}.mjs`)
  if (existsSync(file)) return file
  const esbuild = await import("esbuild")
  mkdirSync(dir, { recursive: true })
  const partial = `${file}.${process.pid}.tmp`
  await esbuild.build({
    entryPoints: [join(src, "bin.ts")],
    outfile: partial,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@spotfleet/source"],
    logLevel: "silent",
    // Some dependencies are CommonJS inside: give the ESM bundle a `require`.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    plugins: [{
      name: "spotfleet-cli",
      setup(build) {
        const requireFrom = createRequire(join(here, "..", "package.json"))
        // Native and driver packages load from node_modules (by their absolute path: the bundle lives elsewhere).
        build.onResolve({ filter: external }, (args) => ({ path: requireFrom.resolve(args.path), external: true }))
        // Each source file keeps its own import.meta.url (files found beside a module stay found).
        build.onLoad({ filter: /\.(ts|tsx|mts)$/ }, (args) => {
          if (args.path.includes(`${join("node_modules", "")}`)) return undefined
          const text = readFileSync(args.path, "utf8")
          return {
            contents: text.includes("import.meta.url") ? text.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)) : text,
            loader: args.path.endsWith(".tsx") ? "tsx" : "ts"
          }
        })
      }
    }]
  })
  renameSync(partial, file)
  // Bundles of older sources are of no more use.
  for (const name of readdirSync(dir)) {
    if (name.startsWith("spotfleet-") && join(dir, name) !== file && !name.endsWith(".tmp")) rmSync(join(dir, name), { force: true })
  }
  return file
}

const entry = await bundle().catch(() => null)
if (entry === null) await fromSources()
else await import(pathToFileURL(entry).href)
