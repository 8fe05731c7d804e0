import Foundation
import XMoEPipeline
import XMoESpec

/// The steps one experiment expands into, each declaring the slice of the resolved spec it reads,
/// so that a change reruns exactly the steps it affects and the plan can say why.
struct ExperimentDAG {
    let spec: ExperimentSpec
    let runDirectory: RunDirectory
    let pipeline: Pipeline

    init(spec: ExperimentSpec) throws {
        self.spec = spec
        let root = URL(fileURLWithPath: spec.values.string("output.dir")!, isDirectory: true)
            .appendingPathComponent(spec.name, isDirectory: true)
        runDirectory = RunDirectory(root: root)
        let cache = StepCache(root: URL(fileURLWithPath: spec.values.string("output.cache_dir")!, isDirectory: true))
        pipeline = try Pipeline(steps: ExperimentDAG.steps(for: spec), runDirectory: runDirectory, sharedCache: cache)
    }

    static func steps(for spec: ExperimentSpec) -> [Step] {
        var steps: [Step] = []
        var upstream: String?
        if spec.values.value("data.input") != nil {
            steps.append(PrepareDataStep.step(spec))
            upstream = "prepare-data"
        }
        steps.append(RankRole.collective(TrainStep.step(spec, upstream: upstream)))
        return steps
    }
}
