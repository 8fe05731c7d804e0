import Testing
import XMoEModel
import XMoEParallel

/// `xmoe plan`'s GPU memory estimate: what each setting adds, on a tiny model whose parameters and
/// attention probabilities are counted by hand. (Its activations are checked against the CPU
/// backend's measured peak in MeasuredPeakMemoryTests.)
@Suite struct GPUMemoryEstimateTests {
    /// One MoE layer, H 4, 2 heads, S 3, padded vocab 12 (tied), RMSNorm, SwiGLU, 2 experts of width 2,
    /// top-1, no biases; micro-batch 2 on one rank.
    ///
    /// Parameters: attention 4·4·4 = 64, two norms 8, gate 4·2 = 8, embedding 12·4 = 48, final norm 4,
    /// experts 2·3·4·2 = 48 → 180. Attention probabilities of a micro-batch: 2·2·3² = 36 elements.
    let plan: LayoutPlan = {
        let config = ModelConfig(layers: 1, hidden: 4, heads: 2, ffnHidden: 8, seqLength: 3, vocabSize: 10, paddedVocab: 12,
                                 firstDenseLayers: 0, norm: .rmsNorm, activation: .swiglu, linearBias: false, tiedEmbeddings: true,
                                 numExperts: 2, topK: 1, expertFFNHidden: 2, expertActivation: .swiglu, expertBias: false,
                                 numSharedExperts: 0, sharedExpertFFNHidden: 0)
        return LayoutPlan(sizes: .init(dp: 1, tp: 1, ep: 1, ranksPerNode: 1, zeroStage: 0, microBatch: 2, globalBatch: 2),
                          model: ModelSize(config), capacityFactor: 1, minCapacity: 0, dropTokens: false)
    }()

    @Test func parametersCountTheirCopies() {
        let fp32 = plan.gpuMemory(.cuda(bf16: false, skipPolicy: false, headDim: 2)).parameterBytes
        let bf16 = plan.gpuMemory(.cuda(bf16: true, skipPolicy: false, headDim: 2)).parameterBytes
        let skip = plan.gpuMemory(.cuda(bf16: true, skipPolicy: true, headDim: 2)).parameterBytes
        #expect(fp32 == 16 * 180)  // fp32 master, gradient, two AdamW moments
        #expect(bf16 == 18 * 180)  // + the bf16 compute copy
        #expect(skip == 30 * 180)  // + nan_policy skip's copy of the weights and both moments
    }

    @Test func attentionProbabilitiesOnlyWhereKept() {
        let elements = plan.attentionProbabilityElements
        #expect(elements == 36)
        // Today's CUDA backend materialises attention: fp32 probabilities, in bf16 too.
        let materialised = plan.gpuMemory(.cuda(bf16: true, skipPolicy: false, headDim: 2)).attentionProbabilityBytes
        #expect(materialised == 4 * 36)
        // Flash attention keeps none.
        let flash = plan.gpuMemory(.cuda(bf16: true, skipPolicy: false, headDim: 2, runsFlash: true)).attentionProbabilityBytes
        #expect(flash == 0)
        // Attention dropout needs them even where flash runs: the probabilities, the mask and the dropped copy.
        let dropped = plan.gpuMemory(.cuda(bf16: true, skipPolicy: false, headDim: 2, attentionDropout: 0.1, runsFlash: true))
        let droppedBytes = dropped.attentionProbabilityBytes
        #expect(droppedBytes == 3 * 4 * 36)
        // The CPU backend runs flash attention: its estimate counts them only with attention dropout.
        let cpu = plan.activationMemory(.cpu()).attentionProbabilityBytes
        let cpuDropout = plan.activationMemory(.cpu(attentionDropout: 0.1)).attentionProbabilityBytes
        #expect(cpu == 0)
        #expect(cpuDropout == 3 * 4 * 36)
    }

    @Test func totalIsTheSumOfItsParts() {
        let e = plan.gpuMemory(.cuda(bf16: false, skipPolicy: false, headDim: 2))
        let parts = e.parameterBytes + e.activationBytes + e.attentionProbabilityBytes + e.transientBytes
        #expect(e.totalBytes == parts)
        #expect(e.transientBytes > 0)
    }
}
