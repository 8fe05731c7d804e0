import Foundation
import XMoECompute
import XMoEModel
import XMoEParallel

/// AdamW hyper-parameters (Megatron defaults; the rate comes from the schedule each step).
public struct AdamWSettings: Sendable, Equatable {
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float

    public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }
}

/// AdamW over a `ParameterStore`'s flat groups (dense, experts): per group, the first and second
/// moments of the elements this rank owns (all of them without ZeRO-1, its shard with it) and the
/// count of updates applied. Weight decay applies per run of parameters flagged for it
/// (`ParameterGroup.decayRuns`): one element-wise AdamW pass per run of the owned range.
public final class Optimizer {
    public let store: ParameterStore
    public let settings: AdamWSettings
    public let placements: [GroupPlacement]
    /// Moments of each group's owned range, index-aligned with `placements`.
    public let m: [Tensor]
    public let v: [Tensor]
    /// Updates applied so far (skipped steps do not count); Adam's bias correction uses it.
    public var step: Int = 0
    /// Gradient sync and ZeRO-1's parameter all-gather of the current step (reset by
    /// `synchronizeGradients`). Bytes are what this rank sends under a ring algorithm: all-reduce
    /// 2·(g−1)/g·n·4, reduce-scatter and all-gather (g−1)/g·n·4 for n fp32 elements over g ranks;
    /// a group whose members sit on more than one node counts as inter-node, otherwise intra-node.
    public private(set) var syncTraffic = CommTraffic.zero
    /// Every rank of the job: decisions that must agree everywhere (skip an update) reduce over it.
    public let world: any Communicator
    /// NaN policy `skip`: copies of each group's values and both moments from before the update,
    /// made on the backend (a device copy, nothing downloaded) when first needed, reused every step.
    var snapshot: [(value: Tensor, m: Tensor, v: Tensor)] = []

    public init(store: ParameterStore, settings: AdamWSettings, groups: ProcessGroups? = nil, zeroStage: Int = 0) {
        self.store = store
        self.settings = settings
        let groups = groups ?? (try! ProcessGroups.single())
        world = groups.world
        placements = store.groups.map { GroupPlacement(group: $0, groups: groups, zeroStage: zeroStage) }
        m = placements.map { store.backend.makeTensor([$0.owned.count]) }
        v = placements.map { store.backend.makeTensor([$0.owned.count]) }
    }

    private var backend: Backend { store.backend }

    /// Sums every group's gradients over the ranks that replicate it (all-reduce; reduce-scatter of
    /// the owned shard under ZeRO-1) and multiplies by `scale` (1 / (micro-batches · dp): each rank
    /// accumulated the unscaled gradients of its micro-batches). Expert gradients already hold the
    /// contributions of every token of their EP group (the dispatcher's backward brought them), so
    /// summing over expert-dp covers each token of the global batch once.
    public func synchronizeGradients(scale: Float) throws {
        syncTraffic = .zero
        let started = Date()
        for p in placements where p.replicas.size > 1 {
            let g = p.replicas.size, n = p.group.count
            var grads = backend.downloadFloats(p.group.grad)
            if p.sharded {
                grads = try p.replicas.reduceScatter(grads, recvCounts: p.shards.map(\.count), op: .sum)
                backend.upload(grads, to: p.group.grad.view(offset: p.owned.lowerBound, shape: [p.owned.count]))
                addTraffic((g - 1) * n * 4 / g, interNode: p.interNode)
            } else {
                try p.replicas.allReduce(&grads, op: .sum)
                backend.upload(grads, to: p.group.grad)
                addTraffic(2 * (g - 1) * n * 4 / g, interNode: p.interNode)
            }
        }
        syncTraffic.seconds += Date().timeIntervalSince(started)
        if scale != 1 { scaleGradients(by: scale) }
    }

    /// L2 norm of the global gradient, every parameter element counted once over all ranks: each
    /// rank sums the squares of its owned range in Double (fixed order: groups, then elements; on a
    /// device, one scalar per group comes back), the shards of a ZeRO group add over its replicas,
    /// and expert parts add over the EP group (each rank of it holds other experts). Call after
    /// `synchronizeGradients`.
    public func gradientNorm() throws -> Double {
        var total: Double = 0
        for p in placements {
            var sum = [backend.sumOfSquares(p.group.grad.view(offset: p.owned.lowerBound, shape: [p.owned.count]))]
            if p.sharded { try p.replicas.allReduce(&sum, op: .sum) }
            if let partners = p.partners, partners.size > 1 { try partners.allReduce(&sum, op: .sum) }
            total += sum[0]
        }
        return total.squareRoot()
    }

    /// Megatron's clip: when `norm` exceeds `maxNorm`, every gradient is scaled by maxNorm / (norm + 1e-6).
    public func clipGradients(norm: Double, maxNorm: Double) {
        let coefficient = maxNorm / (norm + 1e-6)
        guard coefficient < 1 else { return }
        scaleGradients(by: Float(coefficient))
    }

    /// Scales the gradients this rank owns (the rest are not used under ZeRO-1).
    public func scaleGradients(by factor: Float) {
        for p in placements where !p.owned.isEmpty {
            backend.scale(p.group.grad.view(offset: p.owned.lowerBound, shape: [p.owned.count]), by: factor)
        }
    }

    /// One AdamW update of the owned ranges at rate `lr`, the bf16 compute copy (if any) refreshed
    /// in the same pass; under ZeRO-1 the updated shards are then all-gathered so every replica
    /// holds the whole group again.
    public func apply(lr: Float) throws {
        step += 1
        for (i, p) in placements.enumerated() {
            let base = p.owned.lowerBound
            for run in p.group.decayRuns(in: p.owned) {
                let shape = [run.elements.count]
                backend.adamwUpdate(param: p.group.value.view(offset: run.elements.lowerBound, shape: shape),
                                    grad: p.group.grad.view(offset: run.elements.lowerBound, shape: shape),
                                    m: m[i].view(offset: run.elements.lowerBound - base, shape: shape),
                                    v: v[i].view(offset: run.elements.lowerBound - base, shape: shape),
                                    step: step, lr: lr, beta1: settings.beta1, beta2: settings.beta2, eps: settings.eps,
                                    weightDecay: run.decay ? settings.weightDecay : 0,
                                    computeCopy: p.group.compute?.view(offset: run.elements.lowerBound, shape: shape))
            }
        }
        try gatherParameters()
    }

    /// ZeRO-1: every replica gets the shards the others updated.
    func gatherParameters() throws {
        let started = Date()
        for p in placements where p.sharded {
            let mine = backend.downloadFloats(p.group.value.view(offset: p.owned.lowerBound, shape: [p.owned.count]))
            let (whole, _) = try p.replicas.allGatherV(mine)
            backend.upload(whole, to: p.group.value)
            p.group.refreshCompute(backend)  // the other replicas' shards arrived as fp32 masters
            let g = p.replicas.size
            addTraffic((g - 1) * p.group.count * 4 / g, interNode: p.interNode)
        }
        syncTraffic.seconds += Date().timeIntervalSince(started)
    }

    private func addTraffic(_ bytes: Int, interNode: Bool) {
        if interNode { syncTraffic.interNodeBytes += bytes } else { syncTraffic.intraNodeBytes += bytes }
    }
}
