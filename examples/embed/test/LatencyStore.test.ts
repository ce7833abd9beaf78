/**
 * The custom store written from docs/EMBEDDING.md passes the conformance suite, with 0–2 ms of
 * latency on every call (so concurrent commits really interleave).
 */
import { StoreSuite } from "@spotfleet/engine/testing"
import * as LatencyStore from "./LatencyStore.js"

StoreSuite.suite("latency-map", LatencyStore.layer({ minMillis: 0, maxMillis: 2 }))
