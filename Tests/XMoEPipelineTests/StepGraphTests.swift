import Foundation
import Testing

@testable import XMoEPipeline

struct StepGraphTests {
    private func step(_ name: String, _ upstream: [String] = []) -> Step {
        Step(name: name, upstream: upstream, inputs: [:], formatVersion: "1") { _ in StepOutputs() }
    }

    private let runDirectory = RunDirectory(root: URL(fileURLWithPath: "/nonexistent/xmoe-run"))

    @Test func orderIsTopologicalAndKeepsDeclarationOrderOtherwise() throws {
        let pipeline = try Pipeline(
            steps: [step("train", ["sample-index"]), step("report", ["train"]), step("prepare-data"),
                    step("sample-index", ["prepare-data"]), step("notes")],
            runDirectory: runDirectory)
        #expect(pipeline.steps.map(\.name) == ["prepare-data", "sample-index", "train", "report", "notes"])
    }

    @Test func cycleIsNamedInDataFlowOrder() {
        #expect(throws: PipelineError.cycle(["a", "b", "c", "a"])) {
            try Pipeline(steps: [step("a", ["c"]), step("b", ["a"]), step("c", ["b"]), step("d")],
                         runDirectory: runDirectory)
        }
        #expect("\(PipelineError.cycle(["a", "b", "a"]))"
            == "steps form a cycle: a → b → a; remove one of these upstream links")
    }

    @Test func selfLoopIsACycle() {
        #expect(throws: PipelineError.cycle(["x", "x"])) {
            try Pipeline(steps: [step("x", ["x"])], runDirectory: runDirectory)
        }
    }

    @Test func cycleBehindAValidPrefixIsFound() {
        #expect(throws: PipelineError.cycle(["q", "r", "q"])) {
            try Pipeline(steps: [step("p"), step("q", ["p", "r"]), step("r", ["q"])], runDirectory: runDirectory)
        }
    }

    @Test func unknownUpstreamIsReportedWithTheKnownNames() {
        let error = PipelineError.unknownUpstream(
            step: "train", upstream: "sample-idx", known: ["prepare-data", "sample-index", "train"])
        #expect(throws: error) {
            try Pipeline(steps: [step("prepare-data"), step("sample-index", ["prepare-data"]),
                                 step("train", ["sample-idx"])], runDirectory: runDirectory)
        }
        #expect("\(error)" == "step 'train' lists upstream 'sample-idx', which is not a step of this pipeline "
            + "(steps: prepare-data, sample-index, train)")
    }

    @Test func duplicateNamesAreRejected() {
        #expect(throws: PipelineError.duplicateStep("train")) {
            try Pipeline(steps: [step("train"), step("train")], runDirectory: runDirectory)
        }
    }
}
