/**
 * @spotfleet/ml-onnx: ONNX switch-decision models for `@spotfleet/engine` on onnxruntime-node
 * (CPU), and the pipeline that trains them.
 *
 * @since 0.1.0
 */

/**
 * Model artifacts on disk for a registry: validation against the feature layout and a
 * content-addressed directory.
 *
 * @since 0.1.0
 */
export * as ArtifactStore from "./ArtifactStore.js"

/**
 * Training datasets from a price history: features, labels, CSV/JSONL and a manifest.
 *
 * @since 0.1.0
 */
export * as Dataset from "./Dataset.js"

/**
 * The feature tensor layout.
 *
 * @since 0.1.0
 */
export * as FeatureLayout from "./FeatureLayout.js"

/**
 * The engine's `DecisionModel` on onnxruntime-node.
 *
 * @since 0.1.0
 */
export * as OnnxDecisionModel from "./OnnxDecisionModel.js"

/**
 * The training pipeline: price source → dataset → split → train → ONNX + model card.
 *
 * @since 0.1.0
 */
export * as Pipeline from "./Pipeline.js"

/**
 * The engine's `InterruptionData` read from the AWS Spot Instance Advisor feed (file or URL).
 *
 * @since 0.2.0
 */
export * as SpotAdvisor from "./SpotAdvisor.js"

/**
 * The logistic-regression trainer and its ONNX export.
 *
 * @since 0.1.0
 */
export * as Trainer from "./Trainer.js"
