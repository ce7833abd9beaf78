/**
 * Checks of a request body made before it is parsed, shared by every way in (the HttpApi guard,
 * the agent fast path): the content type, well-formed UTF-8, and a single pass over the JSON text
 * for nesting depth, container sizes, string lengths and lone UTF-16 surrogates (`\ud800`
 * without its pair). Parsing and decoding are recursive: a body nested thousands deep overflowed
 * the stack while its rejection was formatted (a 500), and a lone surrogate reached the store,
 * which refused it (a 503 telling the caller to retry what can never succeed).
 */
import { isUtf8 } from "node:buffer"
import * as ApiError from "../ApiError.js"
import type { JsonLimits } from "../HttpConfig.js"

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff

const hexValue = (text: string, at: number): number => {
  if (at + 4 > text.length) return -1
  let value = 0
  for (let i = at; i < at + 4; i++) {
    const c = text.charCodeAt(i)
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1
    if (digit < 0) return -1
    value = value * 16 + digit
  }
  return value
}

const tooBig = (limit: keyof JsonLimits, max: number, reason: string): ApiError.BadRequest =>
  new ApiError.BadRequest({
    code: "InputLimit",
    message: `body: ${reason}`,
    details: { field: "body", reason, limit, max }
  })

const malformed = (reason: string): ApiError.BadRequest => ApiError.badField("body", reason, "MalformedBody")

/**
 * One pass over JSON text: the first limit it breaks, or a lone surrogate escape; `undefined`
 * when it keeps within the limits. Malformed JSON is left to the parser (it never throws here).
 */
export const checkJsonText = (text: string, limits: JsonLimits): ApiError.BadRequest | undefined => {
  // Items seen so far per open container (commas + 1 once it has content).
  const items = new Int32Array(limits.maxDepth + 1)
  let depth = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      // A string: up to its closing quote.
      let length = 0
      i++
      for (; i < n; i++) {
        const s = text.charCodeAt(i)
        if (s === 0x22) break
        length++
        if (s === 0x5c) {
          i++
          if (i < n && text.charCodeAt(i) === 0x75) {
            const unit = hexValue(text, i + 1)
            i += 4
            if (unit >= 0 && isLow(unit)) return malformed(`a lone UTF-16 surrogate (\\u${unit.toString(16)}) in a string`)
            if (unit >= 0 && isHigh(unit)) {
              const next = text.charCodeAt(i + 1) === 0x5c && text.charCodeAt(i + 2) === 0x75 ? hexValue(text, i + 3) : -1
              if (next < 0 || !isLow(next)) return malformed(`a lone UTF-16 surrogate (\\u${unit.toString(16)}) in a string`)
              i += 6
              length++
            }
          }
        } else if (isHigh(s) ? !isLow(text.charCodeAt(i + 1)) : isLow(s)) {
          return malformed("a lone UTF-16 surrogate in a string")
        } else if (isHigh(s)) {
          i++
          length++
        }
        if (length > limits.maxStringLength) {
          return tooBig("maxStringLength", limits.maxStringLength, `a string longer than ${limits.maxStringLength} characters`)
        }
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (depth > 0 && items[depth] === 0) items[depth] = 1
      depth++
      if (depth > limits.maxDepth) return tooBig("maxDepth", limits.maxDepth, `nested deeper than ${limits.maxDepth} levels`)
      items[depth] = 0
    } else if (c === 0x5d || c === 0x7d) {
      if (depth > 0) depth--
    } else if (c === 0x2c) {
      if (depth > 0) {
        items[depth] = (items[depth] === 0 ? 1 : items[depth]!) + 1
        if (items[depth]! > limits.maxItems) {
          return tooBig("maxItems", limits.maxItems, `an array or object with more than ${limits.maxItems} items`)
        }
      }
    }
  }
  return undefined
}

/**
 * Whether a `Content-Type` names JSON: `application/json` with any parameters (HttpApi parses
 * nothing else as JSON). An absent one counts as JSON: clients that send JSON without saying so
 * keep working.
 */
export const isJsonContentType = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return true
  const semicolon = contentType.indexOf(";")
  return (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase() === "application/json"
}

/** The 415 for a body that is not JSON. */
export const unsupportedMediaType = (contentType: string): ApiError.UnsupportedMediaType => {
  const given = escapeLogField(contentType).slice(0, 100)
  return new ApiError.UnsupportedMediaType({
    code: "UnsupportedMediaType",
    message: `content-type: only application/json is accepted (got ${given})`,
    details: { field: "content-type", reason: "only application/json is accepted", given }
  })
}

/**
 * Whether a request carries a body whose content type must be JSON: a declared length above 0,
 * a chunked body, or a method that takes one (POST, PUT, PATCH) with a content type.
 */
export const carriesBody = (
  method: string,
  headers: { readonly [key: string]: string | ReadonlyArray<string> | undefined }
): boolean => {
  const length = headers["content-length"]
  if (typeof length === "string" && length !== "0") return true
  if (headers["transfer-encoding"] !== undefined) return true
  return (method === "POST" || method === "PUT" || method === "PATCH") && headers["content-type"] !== undefined
}

/** The text of a body's bytes, or the 400 when they are not well-formed UTF-8. */
export const decodeUtf8 = (bytes: Uint8Array): string | ApiError.BadRequest =>
  isUtf8(bytes) ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8") : malformed("not well-formed UTF-8")

/**
 * A request body's bytes checked and parsed: the JSON value (`null` for an empty body) or
 * the 400 that answers it (not UTF-8, a limit, a lone surrogate, malformed JSON).
 */
export const parseBody = (
  bytes: Uint8Array,
  limits: JsonLimits
): { readonly text: string; readonly value: unknown } | ApiError.BadRequest => {
  const text = decodeUtf8(bytes)
  if (typeof text !== "string") return text
  // As the platform reads it: an empty body is `null`; one of only whitespace is no JSON.
  if (text === "") return { text, value: null }
  if (text.trim() === "") return malformed("the request body is blank (only whitespace)")
  const broken = checkJsonText(text, limits)
  if (broken !== undefined) return broken
  try {
    return { text, value: JSON.parse(text) }
  } catch (e) {
    return ApiError.badField("body", `malformed JSON (${e instanceof Error ? e.message.slice(0, 200) : "parse error"})`, "MalformedJson")
  }
}

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f\u2028\u2029]/g

/**
 * A value from a request made safe for one log line: control characters (CR, LF, …) and the
 * line/paragraph separators as `\uXXXX`, at most `max` characters.
 */
export const escapeLogField = (value: unknown, max = 200): string => {
  const text = typeof value === "string" ? value : String(value)
  const cut = text.length > max ? `${text.slice(0, max)}…` : text
  return cut.replace(controlCharacters, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
}
