import Foundation
import XMoEModel

/// How an experiment's ranks are arranged and what each holds: the parallel layout and the
/// per-rank memory estimate that `xmoe plan` prints and `xmoe run` checks before allocating.
public struct LayoutPlan: Sendable {
    public struct Sizes: Sendable {
        public var dp: Int, tp: Int, ep: Int, ranksPerNode: Int, zeroStage: Int
        public var microBatch: Int, globalBatch: Int
        public init(dp: Int, tp: Int, ep: Int, ranksPerNode: Int, zeroStage: Int, microBatch: Int, globalBatch: Int) {
            self.dp = dp
            self.tp = tp
            self.ep = ep
            self.ranksPerNode = ranksPerNode
            self.zeroStage = zeroStage
            self.microBatch = microBatch
            self.globalBatch = globalBatch
        }
    }

    public let sizes: Sizes
    public let model: ModelSize
    public let capacityFactor: Double
    public let minCapacity: Int
    public let dropTokens: Bool

    public init(sizes: Sizes, model: ModelSize, capacityFactor: Double, minCapacity: Int, dropTokens: Bool) {
        self.sizes = sizes
        self.model = model
        self.capacityFactor = capacityFactor
        self.minCapacity = minCapacity
        self.dropTokens = dropTokens
    }

    public var worldSize: Int { sizes.dp * sizes.tp }
    public var nodes: Int { worldSize / sizes.ranksPerNode }
    public var localExperts: Int { model.config.numExperts / sizes.ep }
    /// Ranks holding a replica of the same expert shard; their gradients are averaged.
    public var expertDataParallel: Int { worldSize / sizes.ep }
    public var accumulationSteps: Int { sizes.globalBatch / (sizes.microBatch * sizes.dp) }
    /// Tokens entering one rank's MoE block per micro-batch (1/TP of them under SSMB).
    public var tokensPerMoEBlock: Int { sizes.microBatch * model.config.seqLength / sizes.tp }

    /// Slots each expert keeps: max(min_capacity, ceil(T·K·c/E)); nil when dropless.
    public var capacityPerExpert: Int? {
        guard dropTokens else { return nil }
        let c = model.config
        let raw = (Double(tokensPerMoEBlock * c.topK) * capacityFactor / Double(c.numExperts)).rounded(.up)
        return max(minCapacity, Int(raw))
    }

    /// Parameters held by one rank: non-expert ones sharded over TP (attention, dense FFN, vocab),
    /// routed experts split over EP.
    public var parametersPerRank: Int {
        model.nonExpertParameters / sizes.tp + model.expertParameters / sizes.ep
    }

    /// fp32 weights + gradients + AdamW moments (+ a bf16 compute copy in bf16); ZeRO-1 shards the
    /// moments over the data-parallel replicas.
    public var stateBytesPerRank: Int {
        let nonExpert = model.nonExpertParameters / sizes.tp, expert = model.expertParameters / sizes.ep
        let weightsAndGrads = 8 * (nonExpert + expert)
        let moments = sizes.zeroStage >= 1 ? 8 * (nonExpert / sizes.dp + expert / expertDataParallel) : 8 * (nonExpert + expert)
        let computeCopy = cpuPrecision.computeBytes == 2 ? 2 * (nonExpert + expert) : 0
        return weightsAndGrads + moments + computeCopy
    }

    /// How a CPU rank computes (`train.precision`, the dropout rates): what `activationBytesPerRank`
    /// and the bf16 compute copy in `stateBytesPerRank` count. fp32 without dropout unless set.
    public var cpuPrecision = ActivationPrecision.cpu()

    /// Activations of one micro-batch (no recomputation): what the layers keep for the backward pass,
    /// the attention probabilities where the CPU backend keeps them (only with attention dropout: it
    /// runs flash attention otherwise), and the largest temporaries (`activationMemory`).
    public var activationBytesPerRank: Int { activationMemory(cpuPrecision).totalBytes }

    public var totalBytesPerRank: Int { stateBytesPerRank + activationBytesPerRank }
}
