/**
 * The spotfleet fleet simulator: simulated agents for demos, load tests and end-to-end tests.
 */
export * as PriceModel from "./PriceModel.js"
export * as Random from "./Random.js"
export * as Simulator from "./Simulator.js"
export * as Stats from "./Stats.js"
