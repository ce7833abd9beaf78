// A resolve hook that adds the @spotfleet/source export condition (workspace packages resolve to
// their TypeScript sources), for when the CLI is started without `--conditions` on the node
// command line (`node bin/spotfleet.mjs …`).
export async function resolve(specifier, context, nextResolve) {
  return context.conditions.includes("@spotfleet/source")
    ? nextResolve(specifier, context)
    : nextResolve(specifier, { ...context, conditions: [...context.conditions, "@spotfleet/source"] })
}
