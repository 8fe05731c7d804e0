import Foundation
import XMoECompute
import XMoEModel
import XMoETrain

final class TemporaryDirectory: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("xmoe-train-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A 2-layer MoE (4 experts, top-2), hidden 16, seq 8, vocab 37 padded to 40.
enum Tiny {
    static let config = ModelConfig(layers: 2, hidden: 16, heads: 2, ffnHidden: 24, seqLength: 8, vocabSize: 37,
                                    paddedVocab: 40, firstDenseLayers: 1, norm: .rmsNorm, activation: .swiglu,
                                    linearBias: false, tiedEmbeddings: false, numExperts: 4, topK: 2,
                                    expertFFNHidden: 12, expertActivation: .swiglu, expertBias: false,
                                    numSharedExperts: 1, sharedExpertFFNHidden: 12)

    static func model(seed: UInt64 = 5, gating: Gating = .softmaxTopK, auxLossCoeff: Float = 0.01) -> MoETransformer {
        MoETransformer(config: config, options: MoEOptions(gating: gating, auxLossCoeff: auxLossCoeff, initStd: 0.1, seed: seed),
                       backend: CPUBackend())
    }

    /// Learnable: every next token is (token + 1) mod 16; 24 sequences with different starts.
    static func countingData(offset: Int = 0) throws -> ArrayBatchSource {
        try ArrayBatchSource(sequences: (0..<24).map { start in
            (0...8).map { Int32((start + offset + $0) % 16) }
        })
    }

    /// Pseudo-random tokens from a fixed LCG (independent of the model's generator).
    static func randomData(count: Int = 40, salt: UInt64 = 3) throws -> ArrayBatchSource {
        var state: UInt64 = 0x9E37_79B9 &+ salt
        return try ArrayBatchSource(sequences: (0..<count).map { _ in
            (0...8).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Int32((state >> 33) % 37)
            }
        })
    }

    static func settings(steps: Int, checkpointEvery: Int = 0, keep: Int = 2) -> TrainerSettings {
        TrainerSettings(microBatchSize: 2, globalBatchSize: 4, trainSteps: steps,
                        schedule: LRSchedule(maxLR: 0.01, minLR: 0.001, warmup: 2, decayEnd: steps, decay: .cosine),
                        adamw: AdamWSettings(weightDecay: 0.1), clipGrad: 1.0, nonFinite: .skip,
                        evalInterval: 3, evalIterations: 2, checkpointInterval: checkpointEvery, keepCheckpoints: keep)
    }

    static func weights(_ model: MoETransformer) -> [[Float]] {
        model.parameters.parameters.map { model.backend.downloadFloats($0.value) }
    }
}

/// Bit patterns, so equality means bit-identical (NaN included).
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }
