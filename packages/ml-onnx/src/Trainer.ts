/**
 * A logistic-regression trainer in TypeScript (docs/DESIGN.md, "Decision models"): time-based
 * hold-out split, full-batch gradient descent on standardised features, the standardisation folded
 * back into the weights so the ONNX graph is only `sigmoid(features · W + b)`, and a report of
 * accuracy, precision/recall, log loss and calibration on the hold-out set.
 *
 * Weights are rounded to float32 before anything is reported, so the trainer's predictions and
 * the ONNX model's (float32) are the same function.
 *
 * @since 0.1.0
 */
import type { Example } from "./Dataset.js"
import * as FeatureLayout from "./FeatureLayout.js"
import { logisticRegression } from "./internal/onnxProto.js"

/**
 * A trained model.
 *
 * @since 0.1.0
 * @category models
 */
export interface LinearModel {
  readonly layoutVersion: number
  readonly featureNames: ReadonlyArray<string>
  /** float32-representable. */
  readonly weights: ReadonlyArray<number>
  readonly bias: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TrainOptions {
  /** Default 400. */
  readonly epochs?: number | undefined
  /** Default 0.5. */
  readonly learningRate?: number | undefined
  /** L2 penalty (default 1e-4). */
  readonly l2?: number | undefined
}

/**
 * Splits by time: the last `fraction` of decision times is held out, so the model is judged on
 * a period it never saw.
 *
 * @since 0.1.0
 * @category split
 */
export const splitByTime = (
  examples: ReadonlyArray<Example>,
  fraction = 0.2
): { readonly train: Array<Example>; readonly holdout: Array<Example>; readonly cutoff: number } => {
  const times = [...new Set(examples.map((e) => e.time))].sort((a, b) => a - b)
  const cutoff = times[Math.min(times.length - 1, Math.floor(times.length * (1 - fraction)))] ?? 0
  return { train: examples.filter((e) => e.time < cutoff), holdout: examples.filter((e) => e.time >= cutoff), cutoff }
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z))

/**
 * The model's probability for one feature vector.
 *
 * @since 0.1.0
 * @category prediction
 */
export const predict = (model: LinearModel, x: ArrayLike<number>, offset = 0): number => {
  let z = model.bias
  for (let j = 0; j < model.weights.length; j++) z += model.weights[j]! * Math.fround(x[offset + j]!)
  return sigmoid(z)
}

/**
 * Trains on the examples given (deterministic: same data, same model).
 *
 * @since 0.1.0
 * @category training
 */
export const train = (examples: ReadonlyArray<Example>, options: TrainOptions = {}): LinearModel => {
  const w = FeatureLayout.WIDTH
  const n = examples.length
  if (n === 0) throw new Error("no training examples")
  const X = new Float64Array(n * w)
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const e = examples[i]!
    if (e.features.length !== w) throw new Error(`example ${i} has ${e.features.length} features, layout has ${w}`)
    for (let j = 0; j < w; j++) X[i * w + j] = Math.fround(e.features[j]!)
    y[i] = e.label
  }
  const mu = new Float64Array(w)
  const sigma = new Float64Array(w)
  for (let j = 0; j < w; j++) {
    let s = 0
    for (let i = 0; i < n; i++) s += X[i * w + j]!
    mu[j] = s / n
    let v = 0
    for (let i = 0; i < n; i++) v += (X[i * w + j]! - mu[j]!) ** 2
    sigma[j] = Math.sqrt(v / n) || 1
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < w; j++) X[i * w + j] = (X[i * w + j]! - mu[j]!) / sigma[j]!
  const epochs = options.epochs ?? 400
  const lr = options.learningRate ?? 0.5
  const l2 = options.l2 ?? 1e-4
  const beta = new Float64Array(w)
  let b = 0
  const grad = new Float64Array(w)
  for (let epoch = 0; epoch < epochs; epoch++) {
    grad.fill(0)
    let gb = 0
    for (let i = 0; i < n; i++) {
      let z = b
      for (let j = 0; j < w; j++) z += beta[j]! * X[i * w + j]!
      const err = sigmoid(z) - y[i]!
      for (let j = 0; j < w; j++) grad[j]! += err * X[i * w + j]!
      gb += err
    }
    for (let j = 0; j < w; j++) beta[j]! -= lr * (grad[j]! / n + l2 * beta[j]!)
    b -= lr * (gb / n)
  }
  // Fold the standardisation: β·(x − μ)/σ + b = (β/σ)·x + (b − Σ β μ/σ).
  const weights = Array.from(beta, (bj, j) => Math.fround(bj / sigma[j]!))
  let bias = b
  for (let j = 0; j < w; j++) bias -= (beta[j]! * mu[j]!) / sigma[j]!
  return { layoutVersion: FeatureLayout.VERSION, featureNames: [...FeatureLayout.NAMES], weights, bias: Math.fround(bias) }
}

/**
 * One calibration bin.
 *
 * @since 0.1.0
 * @category models
 */
export interface CalibrationBin {
  readonly from: number
  readonly to: number
  readonly count: number
  readonly meanPredicted: number | null
  readonly observedRate: number | null
}

/**
 * How a model does on a set of examples.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly examples: number
  readonly positives: number
  readonly threshold: number
  readonly accuracy: number
  /** Accuracy of always answering the majority class. */
  readonly baselineAccuracy: number
  readonly precision: number | null
  readonly recall: number | null
  readonly logLoss: number
  readonly brier: number
  /** Mean |predicted − observed| over bins, weighted by count. */
  readonly expectedCalibrationError: number
  readonly calibration: ReadonlyArray<CalibrationBin>
}

/**
 * Evaluates a model (10 calibration bins).
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluate = (model: LinearModel, examples: ReadonlyArray<Example>, threshold = 0.5): Report => {
  let tp = 0, fp = 0, tn = 0, fn = 0, logLoss = 0, brier = 0
  const bins = Array.from({ length: 10 }, () => ({ count: 0, sumP: 0, sumY: 0 }))
  for (const e of examples) {
    const p = predict(model, e.features)
    const yes = p >= threshold
    if (yes && e.label === 1) tp++
    else if (yes) fp++
    else if (e.label === 1) fn++
    else tn++
    const pc = Math.min(1 - 1e-12, Math.max(1e-12, p))
    logLoss -= e.label === 1 ? Math.log(pc) : Math.log(1 - pc)
    brier += (p - e.label) ** 2
    const bin = bins[Math.min(9, Math.floor(p * 10))]!
    bin.count++
    bin.sumP += p
    bin.sumY += e.label
  }
  const n = examples.length
  const positives = tp + fn
  let ece = 0
  for (const b of bins) if (b.count > 0) ece += (b.count / n) * Math.abs(b.sumP / b.count - b.sumY / b.count)
  return {
    examples: n,
    positives,
    threshold,
    accuracy: n === 0 ? 0 : (tp + tn) / n,
    baselineAccuracy: n === 0 ? 0 : Math.max(positives, n - positives) / n,
    precision: tp + fp === 0 ? null : tp / (tp + fp),
    recall: tp + fn === 0 ? null : tp / (tp + fn),
    logLoss: n === 0 ? 0 : logLoss / n,
    brier: n === 0 ? 0 : brier / n,
    expectedCalibrationError: n === 0 ? 0 : ece,
    calibration: bins.map((b, i) => ({
      from: i / 10,
      to: (i + 1) / 10,
      count: b.count,
      meanPredicted: b.count === 0 ? null : b.sumP / b.count,
      observedRate: b.count === 0 ? null : b.sumY / b.count
    }))
  }
}

/**
 * The model as ONNX bytes: input `features` `[batch, WIDTH]`, output `probability` `[batch, 1]`,
 * with the layout version and feature names as metadata.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toOnnx = (model: LinearModel, metadata: Readonly<Record<string, string>> = {}): Uint8Array =>
  logisticRegression({
    weights: model.weights,
    bias: model.bias,
    inputName: FeatureLayout.INPUT_NAME,
    outputName: FeatureLayout.OUTPUT_NAME,
    docString: "spotfleet switch decision: P(switching to the candidate pays off over the horizon)",
    metadata: {
      "spotfleet.layout_version": String(model.layoutVersion),
      "spotfleet.feature_names": model.featureNames.join(","),
      ...metadata
    }
  })

/**
 * Formats a report for a terminal.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatReport = (r: Report): string => {
  const pct = (x: number | null) => (x === null ? "n/a" : `${(x * 100).toFixed(1)}%`)
  const lines = [
    `examples ${r.examples} (positives ${r.positives}, ${pct(r.examples === 0 ? 0 : r.positives / r.examples)})`,
    `accuracy ${pct(r.accuracy)} (majority baseline ${pct(r.baselineAccuracy)})  precision ${pct(r.precision)}  recall ${pct(r.recall)}  at threshold ${r.threshold}`,
    `log loss ${r.logLoss.toFixed(4)}  brier ${r.brier.toFixed(4)}  expected calibration error ${r.expectedCalibrationError.toFixed(4)}`,
    "calibration (predicted bin: count, mean predicted → observed rate):"
  ]
  for (const b of r.calibration) {
    if (b.count === 0) continue
    lines.push(`  [${b.from.toFixed(1)}, ${b.to.toFixed(1)}): ${b.count}, ${b.meanPredicted!.toFixed(3)} → ${b.observedRate!.toFixed(3)}`)
  }
  return lines.join("\n")
}
