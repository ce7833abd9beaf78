// @spotfleet/ml-onnx from its tarball: the shipped ONNX model loads in onnxruntime-node (CPU) and
// decides on one set of features.
import { DecisionModel } from "@spotfleet/engine"
import { OnnxDecisionModel } from "@spotfleet/ml-onnx"
import { Effect } from "effect"

const features = DecisionModel.Features.make({
  layoutVersion: 1,
  agentId: "agent-smoke",
  currentPool: "c5a.2xlarge.us-east-1b",
  currentPrice: 0.1964,
  onDemandPrice: 0.308,
  volatility: 0.01,
  hoursInPool: 6,
  noticeInProgress: false,
  candidates: [
    DecisionModel.Candidate.make({ pool: "c5a.2xlarge.us-east-1f", price: 0.1544, medianBootSeconds: 60, interruptionsPerDay: 0, interruptionBand: null }),
    DecisionModel.Candidate.make({ pool: "c5a.2xlarge.us-east-1c", price: 0.1696, medianBootSeconds: 60, interruptionsPerDay: 0, interruptionBand: null })
  ]
})
const decision = await Effect.runPromise(
  Effect.flatMap(DecisionModel.DecisionModel, (model) => model.decide(features)).pipe(Effect.provide(OnnxDecisionModel.layerDefault))
)
if (!["STAY", "SWITCH", "CREATE_REPLICA", "WAIT"].includes(decision.action) || !(decision.confidence >= 0 && decision.confidence <= 1)) {
  throw new Error(`unexpected decision ${JSON.stringify(decision)}`)
}
console.log(`ml-onnx: ${OnnxDecisionModel.defaultModel.name}@${OnnxDecisionModel.defaultModel.version} decided ${decision.action}${decision.targetPool ? ` → ${decision.targetPool}` : ""} (confidence ${decision.confidence.toFixed(2)})`)
