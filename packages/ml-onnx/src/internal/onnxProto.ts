/**
 * A minimal protobuf writer for the parts of the ONNX `ModelProto` a linear classifier needs
 * (onnx/onnx.proto, IR version 8, opset 13). Field numbers are from onnx.proto3.
 */

class Writer {
  private chunks: Array<number> = []
  varint(v: number | bigint): this {
    let n = BigInt.asUintN(64, BigInt(v))
    while (n >= 0x80n) {
      this.chunks.push(Number(n & 0x7fn) | 0x80)
      n >>= 7n
    }
    this.chunks.push(Number(n))
    return this
  }
  tag(field: number, wire: 0 | 2): this {
    return this.varint((field << 3) | wire)
  }
  int(field: number, v: number | bigint): this {
    return this.tag(field, 0).varint(v)
  }
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length)
    for (const b of data) this.chunks.push(b)
    return this
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s))
  }
  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer()
    build(inner)
    return this.bytes(field, inner.finish())
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.chunks)
  }
}

const FLOAT = 1

/** A dimension: a fixed size or a symbolic name. */
export type Dim = number | string

export interface TensorInfo {
  readonly name: string
  readonly dims: ReadonlyArray<Dim>
}

export interface Initializer {
  readonly name: string
  readonly dims: ReadonlyArray<number>
  readonly values: ArrayLike<number>
}

export interface Node {
  readonly op: string
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
  readonly name: string
}

export interface Graph {
  readonly name: string
  readonly nodes: ReadonlyArray<Node>
  readonly initializers: ReadonlyArray<Initializer>
  readonly inputs: ReadonlyArray<TensorInfo>
  readonly outputs: ReadonlyArray<TensorInfo>
  readonly docString?: string | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
  readonly producerVersion?: string | undefined
}

const valueInfo = (w: Writer, t: TensorInfo) =>
  w.string(1, t.name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor.int(1, FLOAT).message(2, (shape) => {
        for (const d of t.dims) shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)))
      })))

/** Encodes a float32 model graph as ONNX bytes. */
export const encodeModel = (g: Graph): Uint8Array => {
  const w = new Writer()
  w.int(1, 8) // ir_version
  w.string(2, "@spotfleet/ml-onnx")
  w.string(3, g.producerVersion ?? "0.1.0")
  w.int(5, 1)
  if (g.docString !== undefined) w.string(6, g.docString)
  w.message(7, (graph) => {
    for (const n of g.nodes) {
      graph.message(1, (node) => {
        for (const i of n.inputs) node.string(1, i)
        for (const o of n.outputs) node.string(2, o)
        node.string(3, n.name).string(4, n.op)
      })
    }
    graph.string(2, g.name)
    for (const init of g.initializers) {
      graph.message(5, (t) => {
        for (const d of init.dims) t.int(1, d)
        t.int(2, FLOAT)
        t.string(8, init.name)
        const raw = new Uint8Array(init.values.length * 4)
        const view = new DataView(raw.buffer)
        for (let i = 0; i < init.values.length; i++) view.setFloat32(i * 4, init.values[i]!, true)
        t.bytes(9, raw)
      })
    }
    for (const i of g.inputs) graph.message(11, (v) => valueInfo(v, i))
    for (const o of g.outputs) graph.message(12, (v) => valueInfo(v, o))
  })
  w.message(8, (opset) => opset.string(1, "").int(2, 13))
  for (const [key, value] of Object.entries(g.metadata ?? {})) w.message(14, (e) => e.string(1, key).string(2, value))
  return w.finish()
}

/**
 * `probability = sigmoid(features · W + b)`: MatMul → Add → Sigmoid, with `features` of shape
 * `[batch, width]` and `probability` of `[batch, 1]`.
 */
export const logisticRegression = (args: {
  readonly weights: ArrayLike<number>
  readonly bias: number
  readonly inputName: string
  readonly outputName: string
  readonly metadata?: Readonly<Record<string, string>> | undefined
  readonly docString?: string | undefined
}): Uint8Array =>
  encodeModel({
    name: "logistic_regression",
    nodes: [
      { op: "MatMul", inputs: [args.inputName, "W"], outputs: ["logit_raw"], name: "matmul" },
      { op: "Add", inputs: ["logit_raw", "B"], outputs: ["logit"], name: "add" },
      { op: "Sigmoid", inputs: ["logit"], outputs: [args.outputName], name: "sigmoid" }
    ],
    initializers: [
      { name: "W", dims: [args.weights.length, 1], values: args.weights },
      { name: "B", dims: [1], values: [args.bias] }
    ],
    inputs: [{ name: args.inputName, dims: ["batch", args.weights.length] }],
    outputs: [{ name: args.outputName, dims: ["batch", 1] }],
    docString: args.docString,
    metadata: args.metadata
  })
