/**
 * Reading a large EC2 offer file: a synthetic file in the offer file format (`BENCH_PRODUCTS`
 * products, default 150,000, each with one OnDemand term; the real us-east-1 file has a few
 * hundred thousand) is written to the temp directory piece by piece, then read by `OnDemandOffer.read` for two
 * instance types, against the baseline of `JSON.parse` on the whole text, in the same run. Prints
 * the file size, both times, their ratio and the peak RSS above the start of each.
 *
 *   npx tsx --conditions=@spotfleet/source packages/aws/bench/offer.ts
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { OnDemandOffer } from "../src/index.js"

const n = Number(process.env.BENCH_PRODUCTS ?? 150_000)
const file = join(tmpdir(), `spotfleet-offer-bench-${process.pid}.json`)
const families = ["c5a", "m5", "r6g", "t3", "c6i", "m7i"]
const sizes = ["large", "xlarge", "2xlarge", "4xlarge"]
const oses = ["Linux", "Windows", "RHEL", "SUSE"]
/** Writes the file piece by piece (the bench holds no large object while it measures). */
const generate = () => {
  const fd = openSync(file, "w")
  const product = (i: number) => {
    const sku = `SKU${i.toString(36).toUpperCase().padStart(12, "0")}`
    const instanceType = `${families[i % families.length]}.${sizes[Math.floor(i / families.length) % sizes.length]}`
    return { sku, instanceType }
  }
  writeSync(fd, "{\"formatVersion\":\"v1.0\",\"publicationDate\":\"2026-01-01T00:00:00Z\",\"products\":{")
  for (let i = 0; i < n; i++) {
    const { instanceType, sku } = product(i)
    writeSync(fd, `${i === 0 ? "" : ","}${JSON.stringify(sku)}:${JSON.stringify({
      sku,
      productFamily: "Compute Instance",
      attributes: {
        servicecode: "AmazonEC2", location: "US East (N. Virginia)", regionCode: "us-east-1", instanceType,
        tenancy: i % 7 === 0 ? "Dedicated" : "Shared", operatingSystem: oses[i % oses.length], licenseModel: "No License required",
        capacitystatus: i % 3 === 0 ? "Used" : "UnusedCapacityReservation", preInstalledSw: "NA", marketoption: "OnDemand", usagetype: `BoxUsage:${instanceType}`
      }
    })}`)
  }
  writeSync(fd, "},\"terms\":{\"OnDemand\":{")
  for (let i = 0; i < n; i++) {
    const { sku } = product(i)
    writeSync(fd, `${i === 0 ? "" : ","}${JSON.stringify(sku)}:${JSON.stringify({
      [`${sku}.JRTCKXETXF`]: {
        offerTermCode: "JRTCKXETXF", sku, effectiveDate: "2026-01-01T00:00:00Z",
        priceDimensions: { [`${sku}.JRTCKXETXF.6YS6EN2CT7`]: { unit: "Hrs", pricePerUnit: { USD: (0.01 + (i % 1000) / 1000).toFixed(10) }, description: "On Demand" } },
        termAttributes: {}
      }
    })}`)
  }
  writeSync(fd, "}}}")
  closeSync(fd)
}
generate()
const bytes = statSync(file).size

const measure = async (run: () => Promise<unknown>) => {
  globalThis.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
  const t0 = performance.now()
  await run()
  const ms = performance.now() - t0
  clearInterval(timer)
  return { ms, peakMb: (Math.max(peak, process.memoryUsage().rss) - before) / 2 ** 20 }
}

// The streamed reader first: the baseline's garbage would weigh on it otherwise.
const streamed = await measure(() => Effect.runPromise(OnDemandOffer.read(file, { instanceTypes: ["c5a.xlarge", "m5.large"] })))
const baseline = await measure(async () => JSON.parse(readFileSync(file, "utf8")))
rmSync(file)
console.log(`offer file: ${n} products, ${(bytes / 2 ** 20).toFixed(0)} MB`)
console.log(`JSON.parse (whole text, baseline): ${baseline.ms.toFixed(0)} ms, peak RSS +${baseline.peakMb.toFixed(0)} MB`)
console.log(`OnDemandOffer.read (streamed, 2 types): ${streamed.ms.toFixed(0)} ms, peak RSS +${streamed.peakMb.toFixed(0)} MB`)
console.log(`ratio streamed/baseline: time ${(streamed.ms / baseline.ms).toFixed(2)}, memory ${(streamed.peakMb / Math.max(1, baseline.peakMb)).toFixed(2)}`)
