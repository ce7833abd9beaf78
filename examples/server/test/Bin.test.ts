/**
 * The `spotfleet` bin as a user runs it (bin/spotfleet.mjs, output piped): it builds its bundle
 * into the cache directory (here a temporary one) on first use and reuses it; `--help` prints no
 * colours into a pipe; a real command runs from the bundle (the shipped ONNX runtime and the
 * engine included) and honours `--pool`; nothing is written into the working directory.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const bin = path.join(root, "examples/server/bin/spotfleet.mjs")
const scratch = mkdtempSync(path.join(tmpdir(), "spotfleet-bin-"))
const cache = path.join(scratch, "cache")
const work = path.join(scratch, "work")

const cli = (...args: Array<string>) => {
  const env: Record<string, string | undefined> = { ...process.env, XDG_CACHE_HOME: cache, MYSQL_URL: undefined, DEBUG: undefined, FORCE_COLOR: undefined }
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: scratch, env: env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 120_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe("the spotfleet bin", () => {
  it("builds its bundle once, prints help without colours into a pipe", () => {
    const first = cli("--help")
    expect(first.code).toBe(0)
    expect(first.stdout).toContain("spotfleet 0.1.0")
    expect(first.stdout).not.toContain(`${String.fromCharCode(27)}[`)
    const bundles = readdirSync(path.join(cache, "spotfleet", "cli"))
    expect(bundles.filter((f) => f.endsWith(".mjs"))).toHaveLength(1)
    expect(cli("ml", "--help").code).toBe(0)
    expect(readdirSync(path.join(cache, "spotfleet", "cli"))).toEqual(bundles)
  }, 120_000)

  it("runs export-dataset and train from the bundle, keeping only the pools asked for", () => {
    const out = path.join(work, "dataset")
    const exported = cli(
      "ml", "export-dataset", "--generated", "--out", out, "--window-days", "10",
      "--pool", "c5a.2xlarge.us-east-1a", "--pool", "c5a.2xlarge.us-east-1b"
    )
    expect(exported.code, exported.stderr).toBe(0)
    const manifest = JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8")) as { source: string; pools: Array<string>; examples: number }
    expect(manifest.pools).toEqual(["c5a.2xlarge.us-east-1a", "c5a.2xlarge.us-east-1b"])
    expect(manifest.source).toMatch(/^generated: 5 pools × 60 days, seed 7, pools c5a\.2xlarge\.us-east-1a, c5a\.2xlarge\.us-east-1b \(sha256 /)
    expect(manifest.examples).toBeGreaterThan(50)

    const model = path.join(work, "model.onnx")
    const trained = cli("ml", "train", "--dataset", out, "--out", model, "--epochs", "20")
    expect(trained.code, trained.stderr).toBe(0)
    expect(trained.stdout).toMatch(/wrote .*model\.onnx \(\d+ bytes, sha256:[0-9a-f]{64}\)/)
    expect(existsSync(model)).toBe(true)
    // nothing but what was asked for: no model directory in the working directory
    expect(readdirSync(scratch).sort()).toEqual(["cache", "work"])
  }, 120_000)

  it("runs a dry-run consolidation from the bundle", () => {
    const ran = cli("consolidate", "--dry-run")
    expect(ran.code, ran.stderr).toBe(0)
    expect(JSON.parse(ran.stdout).status).toBe("succeeded")
    expect(ran.stderr).toContain("dry run: in-memory store, nothing is kept")
  }, 120_000)
})
