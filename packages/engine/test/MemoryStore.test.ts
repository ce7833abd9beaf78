import { MemoryStore } from "../src/index.js"
import { StoreSuite } from "../src/testing.js"

StoreSuite.suite("memory", MemoryStore.layer)
StoreSuite.priceSuite("memory", MemoryStore.layer)
