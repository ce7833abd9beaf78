import { execFileSync, spawnSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const hasPromtool = spawnSync("promtool", ["--version"]).status === 0
const ci = process.env.CI === "true"

if (!hasPromtool && !ci) {
  console.warn("SKIPPING the promtool checks: promtool is not installed (apt-get install -y prometheus); under CI=true this fails")
}

const promtool = (...args: Array<string>) => {
  const r = spawnSync("promtool", args, { cwd: here, encoding: "utf8" })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

describe.skipIf(!hasPromtool && !ci)("promtool", () => {
  it("is installed (Debian's prometheus package)", () => {
    assert.isTrue(hasPromtool, "promtool missing: .ci/run installs Debian's prometheus package")
    assert.match(execFileSync("promtool", ["--version"], { encoding: "utf8" }), /promtool, version 2\./)
  })

  it("check config: prometheus.yml and its rule files", () => {
    const r = promtool("check", "config", "prometheus.yml")
    assert.strictEqual(r.status, 0, r.output)
    assert.match(r.output, /SUCCESS: 2 rule files found/)
  })

  it("check rules: recording and alert rules", () => {
    const r = promtool("check", "rules", "rules/recording.yml", "rules/alerts.yml")
    assert.strictEqual(r.status, 0, r.output)
  })

  it("test rules: every alert fires over its threshold and not at or under it", () => {
    const r = promtool("test", "rules", "rules/tests/alerts.test.yml", "rules/tests/recording.test.yml")
    assert.strictEqual(r.status, 0, r.output)
    assert.strictEqual(r.output.match(/SUCCESS/g)?.length, 2, r.output)
  }, 120_000) // a few seconds alone; far longer on a machine busy with other suites
})
