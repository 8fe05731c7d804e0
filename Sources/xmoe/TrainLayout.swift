import XMoECompute
import XMoEModel
import XMoEParallel
import XMoESpec

/// This rank's place in the spec's layout (`parallel.*`): its process groups, the dispatcher that
/// gives its model the right experts, and the ZeRO stage, for the train step to hand to the model
/// and the Trainer. One rank needs no MPI; more join the job a launcher started (`RankEnvironment`).
struct TrainLayout {
    let groups: ProcessGroups
    /// nil: the model's default local dispatcher (EP = 1).
    let dispatcher: TokenDispatcher?
    let zeroStage: Int

    static func make(spec: ExperimentSpec, backend: Backend) throws -> TrainLayout {
        let groups: ProcessGroups
        do {
            groups = try RankEnvironment.groups(for: spec)
        } catch let error as GroupLayout.Invalid {
            throw TrainStep.Unsupported(description: error.description)
        }
        let zeroStage = spec.values.int("parallel.zero_stage")!
        // EP = 1: every dispatcher keeps the rows on the rank; the local one does it without copies,
        // so one rank trains exactly as before.
        guard groups.layout.ep > 1 else { return TrainLayout(groups: groups, dispatcher: nil, zeroStage: zeroStage) }
        let dispatcher = try makeTokenDispatcher(kind: spec.values.string("moe.dispatcher")!, groups: groups,
                                                 experts: spec.modelConfig.numExperts, backend: backend)
        return TrainLayout(groups: groups, dispatcher: dispatcher, zeroStage: zeroStage)
    }
}
