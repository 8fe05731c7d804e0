import Testing
import XMoECompute
@testable import XMoEModel

/// The fp32 forward against the independent float64 reference: losses, routing counts, aux loss,
/// capacity dropping.
@Suite struct ForwardTests {
    static let gatings: [Gating] = [.softmaxTopK, .softmaxTopKRenorm, .topKLogits, .sigmoidBias]

    @Test(arguments: TinyModels.Preset.allCases, gatings)
    func droplessForwardMatchesFloat64Reference(preset: TinyModels.Preset, gating: Gating) throws {
        let model = MoETransformer(config: TinyModels.config(preset), options: TinyModels.options(gating), backend: CPUBackend())
        if gating == .sigmoidBias {
            for layer in model.config.firstDenseLayers..<model.config.layers { model.setExpertBias(layer: layer, [0.05, -0.1, 0.2, 0]) }
        }
        let (tokens, targets) = TinyModels.batch(vocab: 37)
        let loss = try model.forward(tokens: tokens, targets: targets)
        let ref = TinyModels.reference(model).forward(tokens: tokens, targets: targets, seqLen: 8)
        // fp32 with H = 16: a few ulps per op, relative 1e-5 is far above that and far below any bug.
        #expect(abs(Double(loss.lm) - ref.lm) <= 1e-5 * ref.lm, "lm \(loss.lm) vs \(ref.lm)")
        #expect(abs(Double(loss.aux) - ref.aux) <= 1e-5 * ref.aux, "aux \(loss.aux) vs \(ref.aux)")
        #expect(abs(Double(loss.z) - ref.z) <= 1e-5 * ref.z, "z \(loss.z) vs \(ref.z)")
        #expect(abs(Double(loss.total) - ref.total) <= 1e-5 * ref.total)
        let stats = model.routingStats
        #expect(stats.count == ref.routed.count)
        for (layer, s) in stats.enumerated() {
            #expect(s.routed_E == ref.routed[layer])
            #expect(s.kept_E == ref.routed[layer], "dropless keeps every slot")
            #expect(s.dropped == 0)
        }
    }

    @Test(arguments: TinyModels.Preset.allCases, [Gating.softmaxTopK, .topKLogits])
    func droppingForwardMatchesFloat64Reference(preset: TinyModels.Preset, gating: Gating) throws {
        // T·K = 32 slots, E = 4, c = 0.5 → capacity max(2, ceil(4)) = 4 of the 8 a balanced expert gets.
        let rule = CapacityRule(capacityFactor: 0.5, minCapacity: 2)
        let model = MoETransformer(config: TinyModels.config(preset), options: TinyModels.options(gating, capacity: rule),
                                   backend: CPUBackend())
        let (tokens, targets) = TinyModels.batch(vocab: 37)
        let loss = try model.forward(tokens: tokens, targets: targets)
        let ref = TinyModels.reference(model).forward(tokens: tokens, targets: targets, seqLen: 8)
        #expect(abs(Double(loss.total) - ref.total) <= 1e-5 * ref.total, "total \(loss.total) vs \(ref.total)")
        for (layer, s) in model.routingStats.enumerated() {
            #expect(s.routed_E == ref.routed[layer])
            #expect(s.kept_E == ref.kept[layer])
            #expect(s.kept_E.allSatisfy { $0 <= 4 })
            #expect(s.dropped == 32 - ref.kept[layer].reduce(0, +))
            #expect(s.dropped > 0, "the test must actually drop")
            #expect(abs(s.droppedFraction - Double(s.dropped) / 32) < 1e-12)
        }
    }

    @Test func capacityRule() {
        #expect(CapacityRule.dropless.capacity(tokens: 100, topK: 2, experts: 4) == nil)
        #expect(CapacityRule(capacityFactor: 1.25, minCapacity: 4).capacity(tokens: 10, topK: 2, experts: 8) == 4)
        #expect(CapacityRule(capacityFactor: 1.25, minCapacity: 4).capacity(tokens: 100, topK: 2, experts: 8) == 32)
    }

    @Test func badInputIsAThrownError() {
        let model = MoETransformer(config: TinyModels.config(.deepseek), options: TinyModels.options(.softmaxTopK), backend: CPUBackend())
        #expect(throws: ModelInputError.self) { try model.forward(tokens: [1, 2, 3], targets: [1, 2, 3]) }
        #expect(throws: ModelInputError.self) {
            try model.forward(tokens: [Int32](repeating: 40, count: 8), targets: [Int32](repeating: 0, count: 8))
        }
    }
}

@Suite struct ExpertBiasTests {
    /// The bias moves by ±rate toward balance, and then changes which experts the reference picks
    /// exactly as it changes the model's picks.
    @Test func biasUpdateFollowsLoadAndSteersSelection() throws {
        let model = MoETransformer(config: TinyModels.config(.deepseek), options: TinyModels.options(.sigmoidBias), backend: CPUBackend())
        let (tokens, targets) = TinyModels.batch(vocab: 37)
        _ = try model.forward(tokens: tokens, targets: targets)
        let routed = model.routingStats[0].routed_E
        #expect(model.expertBias(layer: 1) == [0, 0, 0, 0])
        model.updateExpertBias(rate: 0.3)
        let mean = Double(routed.reduce(0, +)) / 4
        let expected: [Float] = routed.map { Double($0) < mean ? 0.3 : (Double($0) > mean ? -0.3 : 0) }
        #expect(model.expertBias(layer: 1) == expected)
        _ = try model.forward(tokens: tokens, targets: targets)
        let ref = TinyModels.reference(model).forward(tokens: tokens, targets: targets, seqLen: 8)
        #expect(model.routingStats[0].routed_E == ref.routed[0])
        #expect(model.routingStats[0].routed_E != routed, "a 0.3 bias must move some tokens")
    }
}
