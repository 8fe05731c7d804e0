import XMoECompute
import XMoEModel
import XMoEParallel
import XMoESpec

/// This rank's place in the spec's layout (`parallel.*`): its process groups, the dispatcher that
/// gives its model the right experts, and the ZeRO stage, for the train step to hand to the model
/// and the Trainer. One rank needs no MPI; more join the job a launcher started (`mpirun`, `srun`).
struct TrainLayout {
    let groups: ProcessGroups
    /// nil: the model's default local dispatcher (EP = 1).
    let dispatcher: TokenDispatcher?
    let zeroStage: Int

    static func make(spec: ExperimentSpec, backend: Backend) throws -> TrainLayout {
        let v = spec.values
        let layout: GroupLayout
        do {
            layout = try GroupLayout(dp: v.int("parallel.dp")!, tp: v.int("parallel.tp")!, ep: v.int("parallel.ep")!,
                                     ranksPerNode: v.int("parallel.ranks_per_node")!)
        } catch let error as GroupLayout.Invalid {
            throw TrainStep.Unsupported(description: error.description)
        }
        let zeroStage = v.int("parallel.zero_stage")!
        guard layout.tp == 1 else {
            throw TrainStep.Unsupported(description: "parallel.tp = \(layout.tp): tensor parallelism is not in this version yet; use parallel.tp=1")
        }
        guard spec.modelConfig.numExperts % layout.ep == 0 else {
            throw TrainStep.Unsupported(description: "parallel.ep = \(layout.ep) must divide model.num_experts (\(spec.modelConfig.numExperts))")
        }
        let kind = v.string("moe.dispatcher")!
        if let reason = DispatcherKind.unsupportedReason(kind, ep: layout.ep) {
            throw TrainStep.Unsupported(description: reason)
        }
        guard layout.worldSize > 1 else {
            return TrainLayout(groups: try ProcessGroups.single(), dispatcher: nil, zeroStage: zeroStage)
        }
        let groups = try ProcessGroups(world: try MPICommunicator.world(), layout: layout)
        // EP = 1: every dispatcher keeps the rows on the rank; the local one does it without copies.
        guard layout.ep > 1 else { return TrainLayout(groups: groups, dispatcher: nil, zeroStage: zeroStage) }
        let dispatcher = try makeTokenDispatcher(kind: kind, groups: groups, experts: spec.modelConfig.numExperts,
                                                 backend: backend)
        return TrainLayout(groups: groups, dispatcher: dispatcher, zeroStage: zeroStage)
    }
}
