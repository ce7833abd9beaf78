/**
 * docs/DEPLOYMENT_RUNBOOK.md stays true to the repository: the npm scripts it names exist, every
 * environment variable the server reads is documented, and every alert rule has its own heading
 * (the alerts' runbook_url anchors).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import * as ServerJobs from "../src/ServerJobs.js"
import { settings } from "../src/Settings.js"

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

  /**
   * What the server asks for at start-up: `Settings.settings` run against a ConfigProvider that
   * records every name it is asked for (with a demo setup, so it reads to the end).
   */
  const askedFor = Effect.gen(function*() {
    const asked = new Set<string>()
    const base = ConfigProvider.fromMap(new Map([["SPOTFLEET_DEMO", "1"]])).flattened
    const recording = ConfigProvider.fromFlat(ConfigProvider.makeFlat({
      load: (path, config, split) => {
        asked.add(path.join("_"))
        return base.load(path, config, split)
      },
      enumerateChildren: (path) => base.enumerateChildren(path),
      patch: base.patch
    }))
    yield* Effect.withConfigProvider(settings, recording)
    return asked
  })
  const configurationSection = runbook.slice(runbook.indexOf("## Configuration"), runbook.indexOf("## Database migrations"))
  const documented = new Set([...configurationSection.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!))

  it.effect("the configuration table lists exactly the variables the server reads", () =>
    Effect.gen(function*() {
      const asked = yield* askedFor
      for (const name of ["MYSQL_URL", "SPOTFLEET_BOOTSTRAP_TENANT_TOKEN", "SPOTFLEET_JOB_PERIOD_SCALE", "SPOTFLEET_BATCH_WINDOW_MILLIS", "SPOTFLEET_RATE_LIMIT_AGENT"]) {
        assert.isTrue(asked.has(name), `${name} is read`)
      }
      for (const name of asked) assert.isTrue(documented.has(name), `${name} is read but not in the runbook's configuration table`)
      for (const name of documented) assert.isTrue(asked.has(name), `${name} is documented but the server never reads it`)
      for (const job of ServerJobs.jobNames) assert.isTrue(documented.has(ServerJobs.periodVariable(job)), job)
    }))

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
