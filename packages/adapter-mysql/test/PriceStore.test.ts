import { StoreSuite } from "@spotfleet/engine/testing"
import { describeMysql, layerStore } from "./utils.js"

describeMysql("MysqlStore PriceStore", () => StoreSuite.priceSuite("mysql", layerStore()))
