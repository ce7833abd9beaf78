import { StoreSuite } from "@spotfleet/engine/testing"
import { describeMysql, layerStore } from "./utils.js"

// The default: the store's own pool, commits and event appends in one round trip each.
describeMysql("MysqlStore", () => StoreSuite.suite("mysql", layerStore()))

// Without the own pool every statement goes through the SqlClient, one at a time.
describeMysql("MysqlStore without its own pool", () => StoreSuite.suite("mysql (SqlClient only)", layerStore({ store: { rawPoolConnections: 0 } })))
