import { StoreSuite } from "@spotfleet/engine/testing"
import { Layer } from "effect"
import * as MysqlJobLease from "../src/MysqlJobLease.js"
import { describeMysql, layerDatabase } from "./utils.js"

describeMysql("MysqlJobLease", () => StoreSuite.jobLeaseSuite("mysql", MysqlJobLease.layer.pipe(Layer.provideMerge(layerDatabase()))))
