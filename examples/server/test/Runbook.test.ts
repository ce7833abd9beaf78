/**
 * docs/DEPLOYMENT_RUNBOOK.md stays true to the repository: the npm scripts it names exist, every
 * environment variable the server reads is documented, and every alert rule has its own heading
 * (the alerts' runbook_url anchors).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const read = (p: string) => fs.readFileSync(path.join(root, p), "utf8")
const runbook = read("docs/DEPLOYMENT_RUNBOOK.md")
const scriptsOf = (dir: string): ReadonlyArray<string> => Object.keys(JSON.parse(read(path.join(dir, "package.json"))).scripts ?? {})

describe("DEPLOYMENT_RUNBOOK.md", () => {
  it("names only npm scripts that exist", () => {
    const found = [...runbook.matchAll(/npm (?:run ([\w:-]+)|(start))(?: -w ([\w/-]+))?/g)]
    assert.isAtLeast(found.length, 4)
    for (const [text, run, start, workspace] of found) {
      assert.include(scriptsOf(workspace ?? "."), run ?? start, text)
    }
  })

  it("documents every environment variable the server reads", () => {
    const sources = ["examples/server/src/main.ts", "examples/server/src/ServerJobs.ts", "examples/server/src/ServerModels.ts"].map(read).join("\n")
    const read_ = new Set([...sources.matchAll(/(?:Config\.\w+|nonEmpty|positive)\("([A-Z][A-Z0-9_]+)"\)/g)].map((m) => m[1]!))
    for (const name of ["MYSQL_URL", "SPOTFLEET_BOOTSTRAP_TENANT_TOKEN", "SPOTFLEET_JOB_PERIOD_SCALE"]) assert.isTrue(read_.has(name), name)
    for (const name of read_) assert.include(runbook, `\`${name}\``, name)
    for (const job of ["LIVENESS", "COMMAND_SWEEP", "ZOMBIE_RETENTION", "RETENTION", "CONSOLIDATION", "AUTO_SWITCH"]) {
      assert.include(runbook, `\`SPOTFLEET_JOB_${job}_SECONDS\``)
    }
  })

  it("has a heading for every alert, matching its runbook_url anchor", () => {
    const rules = read("examples/monitoring/rules/alerts.yml")
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!)
    assert.isAtLeast(alerts.length, 7)
    for (const alert of alerts) {
      assert.match(runbook, new RegExp(`^### ${alert}$`, "m"), alert)
      assert.include(rules, `DEPLOYMENT_RUNBOOK.md#${alert.toLowerCase()}`)
    }
  })
})
