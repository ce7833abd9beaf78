/**
 * The end-to-end flow against MariaDB/MySQL at `TEST_MYSQL_URL` (default
 * `mysql://root@127.0.0.1:3306`) in a fresh database, plus a scan of every table for plain-text
 * tokens. Skipped loudly when the server is unreachable (failed under CI=true).
 */
import { assert, describe, layer } from "@effect/vitest"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { Effect, Layer } from "effect"
import { agentLifecycle } from "./flows.js"
import { adminToken, call, createTenant, serverLayer } from "./utils.js"

const reachable = await MysqlTestDatabase.reachable("adapter-http MariaDB tests")
const mysqlStores = MysqlTestDatabase.layerStore({ prefix: "spotfleet_http" }).pipe(Layer.orDie)

// The stores once more beside the server, for the database's name (one build: layers are shared).
const suite = reachable ? layer(Layer.merge(serverLayer(mysqlStores), mysqlStores), { timeout: "60 seconds", excludeTestServices: true }) : undefined

if (suite === undefined) {
  describe.skip("agent API v1 over HTTP (MariaDB)", () => {})
} else {
  suite("agent API v1 over HTTP (MariaDB)", (it) => {
    it.effect("register → heartbeat → poll → report result", () => agentLifecycle)

    it.effect("a lone UTF-16 surrogate is a 400 naming the body, never the store's 503", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`surrogate-${crypto.randomUUID()}`)
        for (const raw of [
          "{\"logicalAgentId\":\"s-1\",\"instanceId\":\"i-\\ud800\",\"pool\":\"t3.medium.us-east-1a\"}",
          "{\"instance_id\":\"i-\\udfff\",\"logical_agent_id\":\"x\",\"instance_type\":\"t3.medium\",\"az\":\"us-east-1a\",\"agent_version\":\"5\"}"
        ]) {
          const res = yield* call("POST", "/api/agents/register", { token: tenant.token, raw })
          assert.strictEqual(res.status, 400, res.text)
          assert.strictEqual(res.body.error.details.field, "body")
        }
        const agents = yield* call("GET", "/api/agents", { token: tenant.token })
        assert.deepStrictEqual(agents.body.agents, [])
      }))

    it.effect("no token is stored in plain text in any table", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`plain-${crypto.randomUUID()}`)
        const extra = yield* call("POST", `/api/admin/tenants/${tenant.id}/tokens`, { token: adminToken, body: { label: "ci" } })
        assert.strictEqual(extra.status, 201)
        const reg = yield* call("POST", "/api/agents/register", {
          token: tenant.token,
          body: { logicalAgentId: "plain-1", instanceId: "i-plain-1", pool: "t3.medium.us-east-1a" },
          headers: { "x-request-id": "plain-register" }
        })
        assert.strictEqual(reg.status, 200)
        const agentToken = reg.body.agentToken as string
        const { name: database } = yield* MysqlTestDatabase.TestDatabase
        const dump = yield* Effect.promise(() =>
          MysqlTestDatabase.admin(async (c) => {
            await c.query(`USE \`${database}\``)
            const [tables] = await c.query("SHOW TABLES")
            let text = ""
            for (const row of tables as Array<Record<string, string>>) {
              const [rows] = await c.query(`SELECT * FROM \`${Object.values(row)[0]}\``)
              text += JSON.stringify(rows)
            }
            return text
          })
        )
        assert.isAbove(dump.length, 100)
        const { hashToken } = yield* Effect.promise(() => import("../src/Auth.js"))
        assert.include(dump, hashToken(tenant.token), "the hash is stored")
        for (const secret of [tenant.token, extra.body.token as string, agentToken, adminToken]) {
          assert.notInclude(dump, secret)
          assert.notInclude(dump, secret.slice(4, 24), "not even a part of it")
        }
      }))
  })
}
