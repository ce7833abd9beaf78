import { SqlClient } from "@effect/sql"
import { assert } from "@effect/vitest"
import { ModelRegistrySuite } from "@spotfleet/engine/testing"
import { Effect, Either, Layer } from "effect"
import * as MysqlModelRegistry from "../src/MysqlModelRegistry.js"
import { describeMysql, it, layerDatabase } from "./utils.js"

const TestLayer = MysqlModelRegistry.layer.pipe(Layer.provideMerge(layerDatabase({ migrate: true })))

describeMysql("MysqlModelRegistry", () => {
  ModelRegistrySuite.suite("mysql", TestLayer)

  it.layer(TestLayer, { timeout: "60 seconds" })((it) => {
    it.effect("the database refuses a second active version of a name", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql.unsafe("INSERT INTO model_active (name, version, activated_at) VALUES ('x', '1', 1)")
        const second = yield* Effect.either(sql.unsafe("INSERT INTO model_active (name, version, activated_at) VALUES ('x', '2', 2)"))
        assert.isTrue(Either.isLeft(second))
      }))
  })
})
