/**
 * The price service, composed: reports (`priceReports.ts`) and reads (`priceReads.ts`) over the
 * stores in context.
 */
import { Effect } from "effect"
import type { PriceServiceService } from "../PriceService.js"
import { InterruptionData } from "../InterruptionData.js"
import { PriceStore } from "../PriceStore.js"
import * as PriceReads from "./priceReads.js"
import * as PriceReports from "./priceReports.js"

export { lookupIn, quoteIn } from "./priceReads.js"

export const make = Effect.gen(function*() {
  const store = yield* PriceStore
  // Interruption bands for pool options when a service is provided; unknown (null) otherwise.
  const interruptions = yield* Effect.serviceOption(InterruptionData)
  const reports = yield* PriceReports.make
  const service: PriceServiceService = {
    ...reports,
    ...PriceReads.make(store, interruptions),
    onDemandPrices: store.onDemandPrices,
    runs: (options) => store.runs(options)
  }
  return service
})
