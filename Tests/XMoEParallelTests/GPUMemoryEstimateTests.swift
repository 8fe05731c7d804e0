import Testing
import XMoEModel
import XMoEParallel

/// `xmoe plan`'s GPU memory estimate against a hand computation for a tiny model.
@Suite struct GPUMemoryEstimateTests {
    /// One MoE layer, H 4, 2 heads, S 3, padded vocab 12 (tied), RMSNorm, SwiGLU, 2 experts of width 2,
    /// top-1, no biases; micro-batch 2 on one rank.
    ///
    /// Parameters: attention 4·4·4 = 64, two norms 8, gate 4·2 = 8, embedding 12·4 = 48, final norm 4,
    /// experts 2·3·4·2 = 48 → 180. Activation elements of a micro-batch (6 tokens): 16·6·4 = 384 per
    /// layer, attention probabilities 2·2·3² = 36, expert slots 6·(2·4 + 3·2) = 84, logits and their
    /// gradient 2·6·12 = 144 → 648, of which 612 are not probabilities.
    @Test func tinyModelMatchesTheHandCount() {
        let config = ModelConfig(layers: 1, hidden: 4, heads: 2, ffnHidden: 8, seqLength: 3, vocabSize: 10, paddedVocab: 12,
                                 firstDenseLayers: 0, norm: .rmsNorm, activation: .swiglu, linearBias: false, tiedEmbeddings: true,
                                 numExperts: 2, topK: 1, expertFFNHidden: 2, expertActivation: .swiglu, expertBias: false,
                                 numSharedExperts: 0, sharedExpertFFNHidden: 0)
        let plan = LayoutPlan(sizes: .init(dp: 1, tp: 1, ep: 1, ranksPerNode: 1, zeroStage: 0, microBatch: 2, globalBatch: 2),
                              model: ModelSize(config), capacityFactor: 1, minCapacity: 0, dropTokens: false)
        let probabilities = plan.attentionProbabilityElements
        #expect(probabilities == 36)

        // Today: fp32 master, grad and both moments (16 bytes), fp32 activations, probabilities kept.
        let fp32 = plan.gpuMemory(GPUMemoryInputs())
        #expect(fp32.parameterBytes == 16 * 180)
        #expect(fp32.activationBytes == 4 * 612)
        #expect(fp32.attentionProbabilityBytes == 4 * 36)
        #expect(fp32.totalBytes == 2880 + 2448 + 144)

        // Mixed precision with flash attention: a bf16 copy (+2 bytes), bf16 activations, no probabilities.
        let mixed = plan.gpuMemory(GPUMemoryInputs(bytesPerParameter: 18, bytesPerActivation: 2, keepsAttentionProbabilities: false))
        #expect(mixed.parameterBytes == 18 * 180)
        #expect(mixed.activationBytes == 2 * 612)
        #expect(mixed.attentionProbabilityBytes == 0)
        #expect(mixed.totalBytes == 3240 + 1224)

        // The NaN policy `skip` keeps a device copy of weights and both moments.
        let skip = GPUMemoryInputs.current(skipPolicy: true)
        #expect(skip.bytesPerParameter == 28)
    }
}
