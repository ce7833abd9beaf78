import { StoreSuite } from "@spotfleet/engine/testing"
import { describeMysql, layerStore } from "./utils.js"

describeMysql("MysqlStore", () => StoreSuite.suite("mysql", layerStore()))
