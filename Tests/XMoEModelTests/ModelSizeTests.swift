import Testing
import XMoEModel

@Suite struct ModelSizeTests {
    /// X-MoE Small as the scripts build it (GPT-2 vocab padded to 50304, tied embeddings, biases, LayerNorm).
    static let small = ModelConfig(
        layers: 28, hidden: 2048, heads: 16, ffnHidden: 8192, seqLength: 2048, vocabSize: 50257,
        paddedVocab: ModelConfig.paddedVocab(50257, multiple: 128, tp: 1), firstDenseLayers: 0,
        norm: .layerNorm, activation: .gelu, linearBias: true, tiedEmbeddings: true,
        numExperts: 64, topK: 6, expertFFNHidden: 1408, expertActivation: .gelu, expertBias: true,
        numSharedExperts: 0, sharedExpertFFNHidden: 1408)

    @Test func paddedVocabularyFollowsMegatron() {
        #expect(ModelConfig.paddedVocab(50257, multiple: 128, tp: 1) == 50304)
        #expect(ModelConfig.paddedVocab(50257, multiple: 128, tp: 2) == 50432)
        #expect(ModelConfig.paddedVocab(50257, multiple: 128, tp: 4) == 50688)
    }

    /// The reference notes (§1.1) derive these from the scripts by hand.
    @Test func smallModelParameterCount() {
        let size = ModelSize(Self.small)
        #expect(size.attentionPerLayer == 16_785_408)
        #expect(size.config.numExperts * size.expert == 369_319_936)
        #expect(size.gate == 131_072)
        #expect(size.normsPerLayer == 8_192)
        #expect(size.totalParameters == 10_917_875_712)
    }

    /// The paper's own count: L·(4H² + E·2·H·F_e) / 2^30 = 10.06 ("10.1B").
    @Test func paperCountIsTheMatricesAlone() {
        let c = Self.small
        let matrices = Double(c.layers * (4 * c.hidden * c.hidden + c.numExperts * 2 * c.hidden * c.expertFFNHidden))
        #expect(abs(matrices / Double(1 << 30) - 10.06) < 0.005)
        let size = ModelSize(c)
        // Everything beyond the matrices: biases, norms, gate, embedding.
        let extra = size.totalParameters - Int(matrices)
        #expect(extra == 28 * (4 * 2048 + 64 * (1408 + 2048) + 131_072 + 8_192) + 50304 * 2048 + 4096)
    }

    /// The fork's throughput_calculator, written out for one global batch of B sequences.
    @Test func flopsMatchTheForkFormula() {
        let c = Self.small
        let (b, s, l, h, f, k, v) = (256.0, 2048.0, 28.0, 2048.0, 1408.0, 6.0, 50304.0)
        let fwdMACs = b * l * 4 * h * h * s + b * l * 2 * h * s * s + b * l * 2 * f * h * s * k + b * v * h * s
        let perToken = 2 * 3 * fwdMACs / (b * s)
        #expect(abs(ModelSize(c).trainingFLOPsPerToken - perToken) / perToken < 1e-12)
    }

    @Test func swigluSharedAndDenseLayersCount() {
        var c = Self.small
        c.layers = 3
        c.firstDenseLayers = 1
        c.activation = .swiglu
        c.expertActivation = .swiglu
        c.expertBias = false
        c.linearBias = false
        c.numSharedExperts = 2
        c.sharedExpertFFNHidden = 100
        c.tiedEmbeddings = false
        c.norm = .rmsNorm
        let size = ModelSize(c)
        let h = 2048
        let expected = 3 * (4 * h * h + 2 * h)          // attention + 2 RMSNorms per layer
            + 3 * h * 8192                               // one dense SwiGLU FFN
            + 2 * (64 * 3 * h * 1408 + 2 * 3 * h * 100 + h * 64)  // two MoE layers
            + 2 * 50304 * h + h                          // untied embedding and output, final norm
        #expect(size.totalParameters == expected)
        #expect(size.activatedParameters == expected - 2 * (64 - 6) * 3 * h * 1408)
    }
}
