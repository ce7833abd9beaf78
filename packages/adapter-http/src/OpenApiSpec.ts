/**
 * The OpenAPI 3.1 document of {@link Api.Api} (written to docs/api-spec.yaml by
 * `npm run gen:openapi`).
 *
 * @since 0.1.0
 */
import { OpenApi } from "@effect/platform"
import { Api } from "./Api.js"

type Json = unknown

const stripDecodeError = (node: Json): Json => {
  if (Array.isArray(node)) return node.map(stripDecodeError)
  if (typeof node !== "object" || node === null) return node
  const record = node as Record<string, Json>
  // The platform's default 400 body is never sent: the server answers every 400 with ErrorBody.
  if (Array.isArray(record["anyOf"])) {
    const kept = (record["anyOf"] as Array<Json>).filter((s) =>
      !(typeof s === "object" && s !== null && (s as Record<string, Json>)["$ref"] === "#/components/schemas/HttpApiDecodeError")
    )
    if (kept.length === 1) return stripDecodeError(kept[0])
  }
  const out: Record<string, Json> = {}
  for (const [k, v] of Object.entries(record)) {
    out[k] = k === "anyOf" && Array.isArray(v)
      ? v.filter((s) =>
        !(typeof s === "object" && s !== null && (s as Record<string, Json>)["$ref"] === "#/components/schemas/HttpApiDecodeError")
      ).map(stripDecodeError)
      : stripDecodeError(v)
  }
  if (out["description"] === "The request did not match the expected schema") {
    out["description"] = "Bad input: details.field names the field"
  }
  return out
}

let cached: OpenApi.OpenAPISpec | undefined

/**
 * The OpenAPI document (built on first use).
 *
 * @since 0.1.0
 * @category constructors
 */
export const spec = (): OpenApi.OpenAPISpec => (cached ??= build())

const build = (): OpenApi.OpenAPISpec => {
  const raw = stripDecodeError(structuredClone(OpenApi.fromApi(Api))) as OpenApi.OpenAPISpec
  const schemas = { ...raw.components.schemas }
  for (const name of ["HttpApiDecodeError", "Issue", "PropertyKey"]) delete schemas[name]
  return { ...raw, components: { ...raw.components, schemas } }
}
