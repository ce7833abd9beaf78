/**
 * Acceptance 1 of issue 5: every fixture of `../shared/fixtures/v5` (relative to the repository
 * root) driven in lifecycle order against the server, on the in-memory store and on MariaDB at
 * `TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`, a fresh database; skipped loudly when
 * unreachable, failed under CI=true). Skipped when the fixtures are absent. Each runs twice: through
 * the HttpApi routes alone, and with the agent fast path in front (v5 heartbeat, polls, price
 * reports and notices answered there).
 */
import { describe, layer } from "@effect/vitest"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { MemoryStore } from "@spotfleet/engine"
import { Layer } from "effect"
import { fixturesDir, fixturesPresent, replay } from "./legacy.js"
import { memoryServer, serverLayer } from "./utils.js"

if (!fixturesPresent) console.warn(`\n!!!! SKIPPING legacy v5 replay: no fixtures at ${fixturesDir}\n`)

const reachable = fixturesPresent && await MysqlTestDatabase.reachable("legacy v5 replay")
const mysqlStores = MysqlTestDatabase.layerStore({ prefix: "spotfleet_legacy" }).pipe(Layer.orDie)

const ways = [["HttpApi", false], ["fast path", true]] as const

for (const [way, fastPath] of ways) {
  if (fixturesPresent) {
    layer(fastPath ? serverLayer(MemoryStore.layer, { fastPath }) : memoryServer, { timeout: "30 seconds", excludeTestServices: true })(
      `legacy v5 fixture replay (in-memory store, ${way})`,
      (it) => {
        it.effect("every fixture in lifecycle order: answers as the agent needs them, engine state afterwards", () => replay)
      }
    )
  } else {
    describe.skip(`legacy v5 fixture replay (in-memory store, ${way})`, () => {})
  }

  if (reachable) {
    layer(serverLayer(mysqlStores, { fastPath }), { timeout: "60 seconds", excludeTestServices: true })(`legacy v5 fixture replay (MariaDB, ${way})`, (it) => {
      it.effect("every fixture in lifecycle order: answers as the agent needs them, engine state afterwards", () => replay)
    })
  } else {
    describe.skip(`legacy v5 fixture replay (MariaDB, ${way})`, () => {})
  }
}
