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

    static func make(spec: ExperimentSpec) throws -> TrainLayout {
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
        guard layout.worldSize > 1 else {
            return TrainLayout(groups: try ProcessGroups.single(), dispatcher: nil, zeroStage: zeroStage)
        }
        let world = try MPICommunicator.world()
        let groups = try ProcessGroups(world: world, layout: layout)
        guard layout.ep == 1 else {
            // The all-to-all dispatchers (padded, pft) plug in here.
            throw TrainStep.Unsupported(description: "parallel.ep = \(layout.ep): expert parallelism needs the padded or pft "
                + "dispatcher, not in this build yet; use parallel.ep=1 (data parallelism and ZeRO-1 work)")
        }
        return TrainLayout(groups: groups, dispatcher: nil, zeroStage: zeroStage)
    }
}
