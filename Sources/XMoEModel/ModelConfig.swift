/// The shape of a model, independent of how it is parallelised or where its spec came from.
/// Legend: H hidden, F dense FFN width, E experts, K top-k, V padded vocabulary, S sequence.
public struct ModelConfig: Sendable, Equatable {
    public enum Norm: String, Sendable { case layerNorm = "layernorm", rmsNorm = "rmsnorm" }
    public enum Activation: String, Sendable { case gelu, swiglu }

    public var layers: Int
    public var hidden: Int
    public var heads: Int
    public var ffnHidden: Int
    public var seqLength: Int
    /// The tokenizer's vocabulary; the embedding has `paddedVocab` rows.
    public var vocabSize: Int
    public var paddedVocab: Int
    public var firstDenseLayers: Int
    public var norm: Norm
    public var activation: Activation
    public var linearBias: Bool
    public var tiedEmbeddings: Bool

    public var numExperts: Int
    public var topK: Int
    public var expertFFNHidden: Int
    public var expertActivation: Activation
    public var expertBias: Bool
    public var numSharedExperts: Int
    public var sharedExpertFFNHidden: Int

    public init(layers: Int, hidden: Int, heads: Int, ffnHidden: Int, seqLength: Int, vocabSize: Int,
                paddedVocab: Int, firstDenseLayers: Int, norm: Norm, activation: Activation, linearBias: Bool,
                tiedEmbeddings: Bool, numExperts: Int, topK: Int, expertFFNHidden: Int,
                expertActivation: Activation, expertBias: Bool, numSharedExperts: Int, sharedExpertFFNHidden: Int) {
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.ffnHidden = ffnHidden
        self.seqLength = seqLength
        self.vocabSize = vocabSize
        self.paddedVocab = paddedVocab
        self.firstDenseLayers = firstDenseLayers
        self.norm = norm
        self.activation = activation
        self.linearBias = linearBias
        self.tiedEmbeddings = tiedEmbeddings
        self.numExperts = numExperts
        self.topK = topK
        self.expertFFNHidden = expertFFNHidden
        self.expertActivation = expertActivation
        self.expertBias = expertBias
        self.numSharedExperts = numSharedExperts
        self.sharedExpertFFNHidden = sharedExpertFFNHidden
    }

    public var moeLayers: Int { layers - firstDenseLayers }
    public var headDim: Int { hidden / heads }

    /// Megatron pads the vocabulary to a multiple of `multiple·tp` (GPT-2: 50257 → 50304 at TP 1).
    public static func paddedVocab(_ vocab: Int, multiple: Int, tp: Int) -> Int {
        let m = multiple * tp
        return (vocab + m - 1) / m * m
    }
}
