import XMoEPipeline
import XMoESpec

enum PrepareDataStep {
    static func step(_ spec: ExperimentSpec) -> Step {
        Step(name: "prepare-data", inputs: spec.slice(["data.input"]), formatVersion: "1") { _ in StepOutputs() }
    }
}
