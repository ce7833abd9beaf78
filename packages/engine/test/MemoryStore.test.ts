import { JobLease, MemoryStore } from "../src/index.js"
import { StoreSuite } from "../src/testing.js"

StoreSuite.suite("memory", MemoryStore.layer)
StoreSuite.priceSuite("memory", MemoryStore.layer)
StoreSuite.jobLeaseSuite("memory", JobLease.layerMemory)
