/**
 * The product (operating system) a capacity pool is priced for.
 *
 * AWS prices spot capacity per instance type, availability zone and *product description*; the
 * same type in the same zone costs different amounts under Linux/UNIX, SUSE, Red Hat or Windows.
 * A product is stored as a short slug (it is part of the pool id, see `Pool`):
 *
 * | slug          | AWS product description                  |
 * |---------------|------------------------------------------|
 * | `linux`       | `Linux/UNIX` (the default)               |
 * | `linux-vpc`   | `Linux/UNIX (Amazon VPC)`                |
 * | `suse`        | `SUSE Linux`                             |
 * | `suse-vpc`    | `SUSE Linux (Amazon VPC)`                |
 * | `rhel`        | `Red Hat Enterprise Linux`               |
 * | `rhel-vpc`    | `Red Hat Enterprise Linux (Amazon VPC)`  |
 * | `windows`     | `Windows`                                |
 * | `windows-vpc` | `Windows (Amazon VPC)`                   |
 *
 * The "(Amazon VPC)" descriptions are kept as products of their own: AWS publishes them as
 * separate price series, and folding them into the plain product would let one series overwrite
 * the other's points in the price tiers. Users who want one series filter by its description.
 *
 * @since 0.2.0
 */
import { Either, Schema } from "effect"

/**
 * The product slugs.
 *
 * @since 0.2.0
 * @category models
 */
export const Product = Schema.Literal(
  "linux",
  "linux-vpc",
  "suse",
  "suse-vpc",
  "rhel",
  "rhel-vpc",
  "windows",
  "windows-vpc"
).annotations({ identifier: "Product", description: "The product (operating system) of a pool; linux (Linux/UNIX) by default" })

/**
 * A product slug.
 *
 * @since 0.2.0
 * @category models
 */
export type Product = typeof Product.Type

/**
 * The product of a pool id without a product suffix, and of v5 agents (which report none):
 * Linux/UNIX.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultProduct: Product = "linux"

/**
 * Every product slug, in table order.
 *
 * @since 0.2.0
 * @category constants
 */
export const all: ReadonlyArray<Product> = Product.literals

const descriptions: Readonly<Record<Product, string>> = {
  "linux": "Linux/UNIX",
  "linux-vpc": "Linux/UNIX (Amazon VPC)",
  "suse": "SUSE Linux",
  "suse-vpc": "SUSE Linux (Amazon VPC)",
  "rhel": "Red Hat Enterprise Linux",
  "rhel-vpc": "Red Hat Enterprise Linux (Amazon VPC)",
  "windows": "Windows",
  "windows-vpc": "Windows (Amazon VPC)"
}

const bySlugOrDescription = new Map<string, Product>(
  all.flatMap((p) => [[p, p], [descriptions[p].toLowerCase(), p]] as const)
)

/**
 * The AWS product description of a product (`suse` → `SUSE Linux`).
 *
 * @since 0.2.0
 * @category destructors
 */
export const toDescription = (product: Product): string => descriptions[product]

/**
 * The product of an AWS product description (`SUSE Linux` → `suse`). Case and surrounding
 * blanks are ignored and a slug is accepted too; anything else is a Left with the reason.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromDescription = (text: string): Either.Either<Product, string> => {
  const found = bySlugOrDescription.get(text.trim().replace(/\s+/g, " ").toLowerCase())
  return found === undefined
    ? Either.left(`unknown product description ${JSON.stringify(text)} (known: ${all.map((p) => descriptions[p]).join(", ")})`)
    : Either.right(found)
}

/**
 * Whether a string is a product slug.
 *
 * @since 0.2.0
 * @category guards
 */
export const isProduct: (u: unknown) => u is Product = Schema.is(Product)
