import XMoECompute
import XMoEModel
import XMoETrain

/// The model, data and settings every layout trains with: a 2-layer MoE (8 experts, top-2,
/// dropless, aux loss off, so the mathematics does not depend on the layout) on a fixed stream of
/// pseudo-random tokens.
enum TinyRun {
    static let config = ModelConfig(layers: 2, hidden: 16, heads: 2, ffnHidden: 24, seqLength: 8, vocabSize: 37,
                                    paddedVocab: 40, firstDenseLayers: 1, norm: .rmsNorm, activation: .swiglu,
                                    linearBias: false, tiedEmbeddings: false, numExperts: 8, topK: 2,
                                    expertFFNHidden: 12, expertActivation: .swiglu, expertBias: false,
                                    numSharedExperts: 1, sharedExpertFFNHidden: 12)
    static func options(gating: Gating) -> MoEOptions {
        MoEOptions(gating: gating, capacity: .dropless, auxLossCoeff: 0, zLossCoeff: 0, initStd: 0.1, seed: 11)
    }

    /// sigmoid_bias gating also moves the selection biases each step, from the global expert loads.
    /// The schedule does not depend on `steps`, so a run stopped early and continued is the same run.
    static func settings(steps: Int, gating: Gating) -> TrainerSettings {
        TrainerSettings(microBatchSize: 1, globalBatchSize: 8, trainSteps: steps,
                        schedule: LRSchedule(maxLR: 0.01, minLR: 0.001, warmup: 2, decayEnd: 10, decay: .cosine),
                        adamw: AdamWSettings(weightDecay: 0.1), clipGrad: 1.0, nonFinite: .stop,
                        checkpointInterval: steps, keepCheckpoints: 1,
                        expertBiasRate: gating == .sigmoidBias ? 0.01 : 0)
    }

    /// An LCG independent of the model's generator.
    static func data() throws -> ArrayBatchSource {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        return try ArrayBatchSource(sequences: (0..<64).map { _ in
            (0...8).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Int32((state >> 33) % 37)
            }
        })
    }
}
