import Testing
import XMoECompute
@testable import XMoEModel

/// The discrete rules, on hand-made inputs whose answers are worked out by hand.
@Suite struct RoutingRuleTests {
    @Test func topKPrefersLargerThenLowerExpertId() {
        #expect(topKIndices([0.1, 0.3, 0.3, 0.2][...], 2) == [1, 2])
        #expect(topKIndices([0.5, 0.5, 0.5, 0.5][...], 3) == [0, 1, 2])
        #expect(topKIndices([-1, -3, 2, -3][...], 4) == [2, 0, 1, 3])
    }

    @Test func capacityKeepsHighestWeightsTiesByLowerSlot() {
        // 4 tokens, K = 2, E = 3. Expert 0 gets slots 0, 2, 4, 6 with weights .5 .9 .5 .7.
        let routing = Routing(tokens: 4, experts: 3, topK: 2,
                              expert_TK: [0, 1, 0, 2, 0, 1, 0, 2],
                              weight_TK: [0.5, 0.5, 0.9, 0.1, 0.5, 0.5, 0.7, 0.3],
                              auxLoss: 0, zLoss: 0)
        let dropping = PermutePlan(routing: routing, capacity: 3)
        // Expert 0 keeps .9 (slot 2), .7 (slot 6), then the tie .5: slot 0 before slot 4.
        #expect(dropping.slot_B == [0, 2, 6, 1, 5, 3, 7])
        #expect(dropping.counts_E == [3, 2, 2])
        #expect(dropping.dropped == 1)
        let dropless = PermutePlan(routing: routing, capacity: nil)
        #expect(dropless.slot_B == [0, 2, 4, 6, 1, 5, 3, 7])
        #expect(dropless.counts_E == [4, 2, 2])
        #expect(dropless.dropped == 0)
    }

    /// Backward adds into the gradients: two backwards of one forward give twice the gradient.
    @Test func backwardAccumulates() throws {
        let model = MoETransformer(config: TinyModels.config(.deepseek), options: TinyModels.options(.softmaxTopK), backend: CPUBackend())
        let (tokens, targets) = TinyModels.batch(vocab: 37)
        model.zeroGrads()
        _ = try model.forward(tokens: tokens, targets: targets)
        try model.backward()
        let once = model.parameters.parameters.map { model.backend.downloadFloats($0.grad) }
        try model.backward()
        let twice = model.parameters.parameters.map { model.backend.downloadFloats($0.grad) }
        for (a, b) in zip(once, twice) { #expect(zip(a, b).allSatisfy { abs($1 - 2 * $0) <= 1e-6 * max(1, abs($1)) }) }
        #expect(once.contains { $0.contains { $0 != 0 } })
        // The experts' weight gradients are only marked by zeroGrads (their next backward overwrites
        // them): what reads gradients settles them first.
        model.zeroGrads()
        model.parameters.settleGradients()
        #expect(model.parameters.parameters.allSatisfy { model.backend.downloadFloats($0.grad).allSatisfy { $0 == 0 } })
    }
}
