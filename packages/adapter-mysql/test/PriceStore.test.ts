import { StoreSuite } from "@spotfleet/engine/testing"
import { describeMysql, layerStore } from "./utils.js"

describeMysql("MysqlStore PriceStore", () => StoreSuite.priceSuite("mysql", layerStore()))

// Without the own pool: price appends and log commits through the SqlClient.
describeMysql("MysqlStore PriceStore without its own pool", () =>
  StoreSuite.priceSuite("mysql (SqlClient only)", layerStore({ store: { rawPoolConnections: 0 } })))
