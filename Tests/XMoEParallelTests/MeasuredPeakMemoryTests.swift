import Testing
import XMoECompute
import XMoEModel
import XMoEParallel
import XMoETrain

/// The GPU memory estimate against what the model really allocates: the CPU backend's tally of live
/// tensor bytes (`CPUBackend.memoryTally`) at its peak over a few training steps of a tiny model.
/// The same model code allocates the same tensors on the CUDA backend (whose allocator's peak the
/// device run reports), so this checks the count on a machine without a GPU. The CPU backend runs
/// flash attention, so the estimate is taken with `runsFlash: true` (no probabilities) — except with
/// attention dropout, where both keep them.
@Suite struct MeasuredPeakMemoryTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var config: ModelConfig
        var microBatch: Int
        var capacityFactor: Double?
        var attentionDropout: Double = 0
        var hiddenDropout: Double = 0
        var description: String { name }
    }

    /// A dense layer then an MoE layer (RMSNorm, SwiGLU, a shared expert, tied head, dropless), and
    /// two MoE layers of the other kinds (LayerNorm, GELU, biases, untied head, capacity 1.25).
    static let cases: [Case] = [
        Case(name: "swiglu-dense-shared",
             config: ModelConfig(layers: 2, hidden: 32, heads: 4, ffnHidden: 64, seqLength: 32, vocabSize: 500, paddedVocab: 512,
                                 firstDenseLayers: 1, norm: .rmsNorm, activation: .swiglu, linearBias: false, tiedEmbeddings: true,
                                 numExperts: 4, topK: 2, expertFFNHidden: 32, expertActivation: .swiglu, expertBias: false,
                                 numSharedExperts: 1, sharedExpertFFNHidden: 32),
             microBatch: 4, capacityFactor: nil),
        Case(name: "gelu-layernorm-capacity",
             config: ModelConfig(layers: 2, hidden: 48, heads: 6, ffnHidden: 96, seqLength: 24, vocabSize: 256, paddedVocab: 256,
                                 firstDenseLayers: 0, norm: .layerNorm, activation: .gelu, linearBias: true, tiedEmbeddings: false,
                                 numExperts: 8, topK: 2, expertFFNHidden: 48, expertActivation: .gelu, expertBias: true,
                                 numSharedExperts: 0, sharedExpertFFNHidden: 0),
             microBatch: 6, capacityFactor: 1.25),
        Case(name: "attention-dropout",
             config: ModelConfig(layers: 2, hidden: 32, heads: 4, ffnHidden: 64, seqLength: 32, vocabSize: 256, paddedVocab: 256,
                                 firstDenseLayers: 0, norm: .rmsNorm, activation: .swiglu, linearBias: false, tiedEmbeddings: true,
                                 numExperts: 4, topK: 2, expertFFNHidden: 32, expertActivation: .swiglu, expertBias: false,
                                 numSharedExperts: 0, sharedExpertFFNHidden: 0),
             microBatch: 4, capacityFactor: nil, attentionDropout: 0.1, hiddenDropout: 0.1),
    ]

    /// Peak live bytes of `steps` training steps (forward, backward, AdamW, bf16 refresh).
    func measuredPeak(_ c: Case, bf16: Bool, steps: Int = 3) throws -> Int {
        let backend = CPUBackend(threads: 1, computeDType: bf16 ? .bfloat16 : .float32)
        let options = MoEOptions(capacity: c.capacityFactor.map { CapacityRule(capacityFactor: $0, minCapacity: 0) } ?? .dropless,
                                 seed: 7)
        let model = MoETransformer(config: c.config, options: options, backend: backend)
        model.dropout = DropoutRates(hidden: c.hiddenDropout, attention: c.attentionDropout)
        let optimizer = Optimizer(store: model.parameters, settings: AdamWSettings())
        let t = c.microBatch * c.config.seqLength
        var seed: UInt64 = 12345
        for step in 1...steps {
            let tokens: [Int32] = (0..<(t + 1)).map { _ in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Int32(truncatingIfNeeded: (seed >> 33) % UInt64(c.config.vocabSize))
            }
            model.dropoutStream = DropoutStream(step: step, microStep: 0)
            model.zeroGrads()
            _ = try model.forward(tokens: Array(tokens[0..<t]), targets: Array(tokens[1...t]))
            try model.backward()
            try optimizer.apply(lr: 1e-3)
            model.parameters.refreshComputeCopy()
        }
        return backend.memoryTally.peakBytes
    }

    func estimate(_ c: Case, bf16: Bool) -> GPUMemoryEstimate {
        let plan = LayoutPlan(sizes: .init(dp: 1, tp: 1, ep: 1, ranksPerNode: 1, zeroStage: 0, microBatch: c.microBatch,
                                           globalBatch: c.microBatch),
                              model: ModelSize(c.config), capacityFactor: c.capacityFactor ?? 1, minCapacity: 0,
                              dropTokens: c.capacityFactor != nil)
        // The CPU tally has no device workspaces (the cuBLASLt ones): compare everything else.
        var e = plan.gpuMemory(.cuda(bf16: bf16, skipPolicy: false, headDim: c.config.headDim, hiddenDropout: c.hiddenDropout,
                                     attentionDropout: c.attentionDropout, runsFlash: true))
        e.workspaceBytes = 0
        return e
    }

    /// Within 15% of the measured peak, in fp32 and in bf16 (fp32 masters, bf16 compute copies).
    @Test(arguments: cases, [false, true])
    func estimateIsWithin15PercentOfTheMeasuredPeak(_ c: Case, bf16: Bool) throws {
        let measured = try measuredPeak(c, bf16: bf16)
        let e = estimate(c, bf16: bf16)
        let ratio = Double(e.totalBytes) / Double(measured)
        print("\(c.name) \(bf16 ? "bf16" : "fp32"): estimate \(e.totalBytes) (params \(e.parameterBytes), saved \(e.activationBytes), "
              + "probs \(e.attentionProbabilityBytes), temporaries \(e.transientBytes)), measured peak \(measured), ratio \(ratio)")
        #expect(abs(ratio - 1) <= 0.15, "estimate \(e.totalBytes) vs measured \(measured)")
    }

    /// The activations, measured apart from the parameters: the bf16 model's peak above its fp32 one's
    /// is what the estimate says it is (2 bytes per parameter for the compute copy, plus the change in
    /// saved GEMM inputs), within 15% of the activations.
    @Test func bf16ChangesThePeakAsEstimated() throws {
        let c = Self.cases[0]
        let measured = try measuredPeak(c, bf16: true) - measuredPeak(c, bf16: false)
        let estimated = estimate(c, bf16: true).totalBytes - estimate(c, bf16: false).totalBytes
        let activations = estimate(c, bf16: false).totalBytes - estimate(c, bf16: false).parameterBytes
        let error = Double(abs(measured - estimated)) / Double(activations)
        #expect(error <= 0.15, "bf16 − fp32: measured \(measured), estimated \(estimated)")
    }
}
