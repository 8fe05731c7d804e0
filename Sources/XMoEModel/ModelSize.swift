/// Parameter counts and training FLOPs of a `ModelConfig`, as built (biases, norms, gate included).
public struct ModelSize: Sendable, Equatable {
    /// Attention QKVO (+ biases) of one layer.
    public let attentionPerLayer: Int
    /// Both norms of one layer.
    public let normsPerLayer: Int
    public let denseFFN: Int
    /// One routed expert.
    public let expert: Int
    /// One shared expert.
    public let sharedExpert: Int
    /// The router of one MoE layer (H·E, no bias).
    public let gate: Int
    public let embedding: Int
    /// The separate output projection; 0 when tied to the embedding.
    public let outputProjection: Int
    public let finalNorm: Int

    public let config: ModelConfig

    public init(_ c: ModelConfig) {
        config = c
        let h = c.hidden
        attentionPerLayer = 4 * h * h + (c.linearBias ? 4 * h : 0)
        let norm = c.norm == .layerNorm ? 2 * h : h
        normsPerLayer = 2 * norm
        denseFFN = ModelSize.mlp(hidden: h, ffn: c.ffnHidden, activation: c.activation, bias: c.linearBias)
        expert = ModelSize.mlp(hidden: h, ffn: c.expertFFNHidden, activation: c.expertActivation, bias: c.expertBias)
        sharedExpert = ModelSize.mlp(hidden: h, ffn: c.sharedExpertFFNHidden, activation: c.expertActivation, bias: c.expertBias)
        gate = h * c.numExperts
        embedding = c.paddedVocab * h
        outputProjection = c.tiedEmbeddings ? 0 : c.paddedVocab * h
        finalNorm = norm
    }

    /// Parameters of one MLP: GELU has two matrices (H→F, F→H), SwiGLU three (gate, up, down).
    static func mlp(hidden h: Int, ffn f: Int, activation: ModelConfig.Activation, bias: Bool) -> Int {
        switch activation {
        case .gelu: return 2 * h * f + (bias ? f + h : 0)
        case .swiglu: return 3 * h * f + (bias ? 2 * f + h : 0)
        }
    }

    public var moeBlock: Int { config.numExperts * expert + config.numSharedExperts * sharedExpert + gate }

    /// Parameters not in routed experts (replicated across expert-parallel ranks).
    public var nonExpertParameters: Int {
        config.layers * (attentionPerLayer + normsPerLayer) + config.firstDenseLayers * denseFFN
            + config.moeLayers * (config.numSharedExperts * sharedExpert + gate)
            + embedding + outputProjection + finalNorm
    }

    public var expertParameters: Int { config.moeLayers * config.numExperts * expert }

    public var totalParameters: Int { nonExpertParameters + expertParameters }

    /// Parameters one token passes through (its K routed experts instead of all E).
    public var activatedParameters: Int { nonExpertParameters + config.moeLayers * config.topK * expert }

    /// Training FLOPs per token by the X-MoE fork's accounting (`megatron/utils.py::throughput_calculator`):
    /// 6 × forward MACs with MACs/token = L·4h² + L·2h·s + Σ_layers ffn_mult·f·h·k + V·h, the full s² attention
    /// (no causal halving), gate and all-to-alls not counted. Generalised to SwiGLU (ffn_mult 3), leading dense
    /// layers (f = F, k = 1) and shared experts; for an X-MoE model it is exactly the fork's formula.
    public var trainingFLOPsPerToken: Double {
        let c = config
        let h = Double(c.hidden), s = Double(c.seqLength), layers = Double(c.layers)
        func ffnMult(_ a: ModelConfig.Activation) -> Double { a == .gelu ? 2 : 3 }
        var macs = layers * 4 * h * h + layers * 2 * h * s
        macs += Double(c.firstDenseLayers) * ffnMult(c.activation) * Double(c.ffnHidden) * h
        macs += Double(c.moeLayers) * ffnMult(c.expertActivation) * h
            * (Double(c.expertFFNHidden) * Double(c.topK) + Double(c.sharedExpertFFNHidden) * Double(c.numSharedExperts))
        macs += Double(c.paddedVocab) * h
        return 6 * macs
    }
}
