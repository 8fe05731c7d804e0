import XMoECompute
import XMoEModel

/// The tiny configurations the model tests run: 2 layers, hidden 16, 2 heads, 4 experts, top-2,
/// seq 8, vocab 37 (padded to 40), batch 2.
enum TinyModels {
    enum Preset: String, CaseIterable { case xmoePaper, deepseek }

    static func config(_ preset: Preset) -> ModelConfig {
        switch preset {
        case .xmoePaper:
            return ModelConfig(layers: 2, hidden: 16, heads: 2, ffnHidden: 24, seqLength: 8, vocabSize: 37,
                               paddedVocab: 40, firstDenseLayers: 0, norm: .layerNorm, activation: .gelu,
                               linearBias: true, tiedEmbeddings: true, numExperts: 4, topK: 2, expertFFNHidden: 12,
                               expertActivation: .gelu, expertBias: true, numSharedExperts: 0, sharedExpertFFNHidden: 12)
        case .deepseek:
            return ModelConfig(layers: 2, hidden: 16, heads: 2, ffnHidden: 24, seqLength: 8, vocabSize: 37,
                               paddedVocab: 40, firstDenseLayers: 1, norm: .rmsNorm, activation: .swiglu,
                               linearBias: false, tiedEmbeddings: false, numExperts: 4, topK: 2, expertFFNHidden: 12,
                               expertActivation: .swiglu, expertBias: false, numSharedExperts: 1, sharedExpertFFNHidden: 12)
        }
    }

    /// A larger init std than training uses, so routing scores are well separated and gradients
    /// are far above fp32 rounding; aux and z coefficients large enough that their gradients count.
    static func options(_ gating: Gating, capacity: CapacityRule = .dropless, seed: UInt64 = 7) -> MoEOptions {
        MoEOptions(gating: gating, capacity: capacity, auxLossCoeff: 0.1, zLossCoeff: 0.01, initStd: 0.35, seed: seed)
    }

    /// Tokens and next-token targets from a fixed LCG (independent of the model's generator); one
    /// target is −1 to exercise the ignore rule.
    static func batch(vocab: Int, batch: Int = 2, seqLen: Int = 8, salt: UInt64 = 1) -> (tokens: [Int32], targets: [Int32]) {
        var state: UInt64 = 0x1234_5678 &+ salt
        func next() -> Int32 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int32((state >> 33) % UInt64(vocab))
        }
        let tokens = (0..<(batch * seqLen)).map { _ in next() }
        var targets = (0..<(batch * seqLen)).map { _ in next() }
        targets[3] = -1
        return (tokens, targets)
    }

    /// Every parameter slice by its global name, as float64 (the reference's input).
    static func parameters(of model: MoETransformer) -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        for slice in model.parameters.namedSlices {
            let all = model.backend.downloadFloats(slice.parameter.value)
            out[slice.name] = all[slice.elements].map(Double.init)
        }
        return out
    }

    static func reference(_ model: MoETransformer) -> ReferenceModel {
        var ref = ReferenceModel(c: model.config, o: model.options, params: parameters(of: model))
        for layer in 0..<model.config.layers where layer >= model.config.firstDenseLayers {
            ref.expertBias[layer] = model.expertBias(layer: layer).map(Double.init)
        }
        return ref
    }
}
