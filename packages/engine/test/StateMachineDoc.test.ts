import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { StateMachine } from "../src/index.js"

const doc = fs.readFileSync(path.join(__dirname, "../../../docs/STATE_MACHINE.md"), "utf8")

/** The `from --> to : trigger` arrows of every Mermaid block of the document. */
const arrows = (() => {
  const out: Array<string> = []
  for (const block of doc.matchAll(/```mermaid\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split("\n")) {
      const m = /^\s*(\S+)\s*-->\s*(\S+)\s*:\s*(.+?)\s*$/.exec(line)
      if (m !== null) out.push(`${m[1] === "[*]" ? "NONE" : m[1]} -> ${m[2]} : ${m[3]}`)
    }
  }
  return out
})()

const code = [...StateMachine.roleTransitions, ...StateMachine.commandTransitions].map((t) => `${t.from} -> ${t.to} : ${t.trigger}`)

describe("docs/STATE_MACHINE.md", () => {
  it("draws every transition the code can make", () => {
    const missing = code.filter((t) => !arrows.includes(t))
    assert.deepStrictEqual(missing, [])
  })

  it("draws no transition the code cannot make", () => {
    const extra = arrows.filter((t) => !code.includes(t))
    assert.deepStrictEqual(extra, [])
  })

  it("has at least the role and command diagrams", () => {
    assert.isAtLeast(arrows.length, code.length)
    assert.isAtLeast([...doc.matchAll(/```mermaid/g)].length, 2)
  })
})
