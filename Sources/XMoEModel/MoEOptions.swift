/// How the router turns logits into expert choices and combine weights (DESIGN.md "The model").
public enum Gating: String, Sendable, CaseIterable {
    /// softmax → top-k of the probabilities, no renormalisation (the paper's Listing 1).
    case softmaxTopK = "softmax_topk"
    /// softmax → top-k → kept probabilities renormalised to sum to 1 (DeepSpeed).
    case softmaxTopKRenorm = "softmax_topk_renorm"
    /// top-k of the raw logits, which are also the combine weights (the released X-MoE code).
    case topKLogits = "topk_logits"
    /// DeepSeek-V3 aux-loss-free: choose by sigmoid(logit) + bias_e, weigh by the chosen sigmoids
    /// renormalised; the bias is a non-trained buffer the trainer nudges toward balance.
    case sigmoidBias = "sigmoid_bias"
}

/// Token dropping: `nil` capacity factor means dropless.
public struct CapacityRule: Sendable, Equatable {
    public var capacityFactor: Double?
    public var minCapacity: Int

    public init(capacityFactor: Double? = nil, minCapacity: Int = 4) {
        self.capacityFactor = capacityFactor
        self.minCapacity = minCapacity
    }

    public static let dropless = CapacityRule()

    /// Slots each expert keeps: max(min_capacity, ceil(T·K·c/E)), or nil when dropless.
    public func capacity(tokens: Int, topK: Int, experts: Int) -> Int? {
        guard let c = capacityFactor else { return nil }
        let raw = (Double(tokens * topK) * c / Double(experts)).rounded(.up)
        return max(minCapacity, Int(raw))
    }
}

/// The knobs of the model that are not its shape (ModelConfig) : gating, dropping, losses, init.
public struct MoEOptions: Sendable, Equatable {
    public var gating: Gating
    public var capacity: CapacityRule
    /// Coefficient of Σ_layers aux loss in the total (X-MoE: 0.01).
    public var auxLossCoeff: Float
    /// Coefficient of Σ_layers router z-loss in the total (0 = off).
    public var zLossCoeff: Float
    public var ropeTheta: Float
    public var normEps: Float
    /// Std of the normal init of every matrix; output projections get std / sqrt(2·layers).
    public var initStd: Double
    public var seed: UInt64

    public init(gating: Gating = .softmaxTopK, capacity: CapacityRule = .dropless, auxLossCoeff: Float = 0.01,
                zLossCoeff: Float = 0, ropeTheta: Float = 10_000, normEps: Float = 1e-5,
                initStd: Double = 0.02, seed: UInt64 = 1234) {
        self.gating = gating
        self.capacity = capacity
        self.auxLossCoeff = auxLossCoeff
        self.zLossCoeff = zLossCoeff
        self.ropeTheta = ropeTheta
        self.normEps = normEps
        self.initStd = initStd
        self.seed = seed
    }
}
