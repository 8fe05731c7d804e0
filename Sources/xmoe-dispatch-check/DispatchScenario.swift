import XMoECompute
import XMoEModel

/// One routing situation the dispatchers must survive: the model's gating and capacity, and the
/// selection bias each rank's router gets (sigmoid_bias gating adds it before top-k, so a large bias
/// forces the routing: every token to one expert, every rank to its own experts, ...).
struct DispatchScenario {
    let name: String
    let gating: Gating
    let topK: Int
    let capacity: CapacityRule
    /// Selection bias of the batch of EP member `source`, given the EP size and experts per member.
    let bias: (_ source: Int, _ ep: Int, _ local: Int, _ experts: Int) -> [Float]?

    static let experts = 8

    static func all() -> [DispatchScenario] {
        let dropping = CapacityRule(capacityFactor: 0.5, minCapacity: 1)
        func strong(_ chosen: (Int) -> Bool, _ e: Int) -> [Float] { (0..<e).map { chosen($0) ? 5 : 0 } }
        return [
            DispatchScenario(name: "balanced dropless", gating: .softmaxTopK, topK: 2, capacity: .dropless) { _, _, _, _ in nil },
            DispatchScenario(name: "balanced dropping", gating: .softmaxTopK, topK: 2, capacity: dropping) { _, _, _, _ in nil },
            // Every token to expert 0: the other members' experts are all empty and receive nothing.
            DispatchScenario(name: "all tokens to one expert dropless", gating: .sigmoidBias, topK: 1, capacity: .dropless) { _, _, _, e in
                strong({ $0 == 0 }, e)
            },
            DispatchScenario(name: "all tokens to one expert dropping", gating: .sigmoidBias, topK: 1,
                             capacity: CapacityRule(capacityFactor: 1, minCapacity: 1)) { _, _, _, e in strong({ $0 == 0 }, e) },
            // Each rank keeps its tokens: every rank sends and receives nothing from the others.
            DispatchScenario(name: "every rank to its own experts", gating: .sigmoidBias, topK: 2, capacity: .dropless) { s, _, l, e in
                strong({ $0 / l == s }, e)
            },
            // Member 0 sends everything to the last member; member 0's experts get only others' tokens.
            DispatchScenario(name: "member 0 to the last member", gating: .sigmoidBias, topK: 2, capacity: .dropless) { s, ep, l, e in
                s == 0 ? strong({ $0 / l == ep - 1 }, e) : nil
            },
        ]
    }

    func config() -> ModelConfig {
        ModelConfig(layers: 2, hidden: 16, heads: 2, ffnHidden: 24, seqLength: 8, vocabSize: 37,
                    paddedVocab: 40, firstDenseLayers: 0, norm: .layerNorm, activation: .gelu,
                    linearBias: true, tiedEmbeddings: true, numExperts: Self.experts, topK: topK, expertFFNHidden: 12,
                    expertActivation: .gelu, expertBias: true, numSharedExperts: 0, sharedExpertFFNHidden: 12)
    }

    /// Aux and z losses on, with coefficients large enough that their gradients count.
    func options() -> MoEOptions {
        MoEOptions(gating: gating, capacity: capacity, auxLossCoeff: 0.1, zLossCoeff: 0.01, initStd: 0.35, seed: 7)
    }

    /// The batch of world rank `rank`: tokens and next-token targets from a fixed LCG.
    static func batch(rank: Int, vocab: Int = 37, count: Int = 16) -> (tokens: [Int32], targets: [Int32]) {
        var state: UInt64 = 0x9E37_79B9 &+ UInt64(rank) &* 7919
        func next() -> Int32 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int32((state >> 33) % UInt64(vocab))
        }
        let tokens = (0..<count).map { _ in next() }
        var targets = (0..<count).map { _ in next() }
        targets[3] = -1
        return (tokens, targets)
    }

    func applyBias(_ model: MoETransformer, source: Int, ep: Int) {
        let c = model.config
        guard gating == .sigmoidBias else { return }
        let bias = bias(source, ep, c.numExperts / ep, c.numExperts) ?? [Float](repeating: 0, count: c.numExperts)
        for layer in c.firstDenseLayers..<c.layers { model.setExpertBias(layer: layer, bias) }
    }
}
