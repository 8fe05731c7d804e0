import Testing
import XMoECompute
@testable import XMoEModel

/// The experts' weight gradients are not cleared by zeroGrads but overwritten by their first
/// backward: whatever the gradient buffers held before, one or two micro-batches give the gradients
/// of the eager path (every buffer zeroed, every backward adding), and settleGradients clears what
/// no backward wrote.
@Suite struct PendingGradientZeroTests {
    func model() -> MoETransformer {
        MoETransformer(config: TinyModels.config(.xmoePaper), options: TinyModels.options(.softmaxTopK), backend: CPUBackend())
    }

    /// Fills every gradient with stale nonzero values (what an earlier step leaves behind).
    func spoil(_ m: MoETransformer) {
        for g in m.parameters.groups { m.backend.fill(g.grad, value: 3.5) }
    }

    func gradients(_ m: MoETransformer) -> [[Float]] { m.parameters.groups.map { m.backend.downloadFloats($0.grad) } }

    func run(_ m: MoETransformer, microBatches: Int) throws {
        for i in 0..<microBatches {
            let (tokens, targets) = TinyModels.batch(vocab: 37, salt: UInt64(i + 1))
            _ = try m.forward(tokens: tokens, targets: targets)
            try m.backward()
        }
        m.parameters.settleGradients()
    }

    @Test(arguments: [1, 2])
    func overwritingMatchesTheEagerZero(microBatches: Int) throws {
        let eager = model(), lazy = model()
        spoil(eager)
        eager.zeroGrads()
        eager.parameters.settleGradients()  // clears the pending ones now: every backward then adds
        try run(eager, microBatches: microBatches)
        spoil(lazy)
        lazy.zeroGrads()
        let pending = lazy.parameters.parameters.filter(\.gradPendingZero).map(\.name)
        #expect(!pending.isEmpty && pending.allSatisfy { $0.contains(".w_in") || $0.contains(".w_out") })
        try run(lazy, microBatches: microBatches)
        #expect(gradients(lazy) == gradients(eager))
    }

    @Test func settlingClearsWhatNoBackwardWrote() {
        let m = model()
        spoil(m)
        m.zeroGrads()
        m.parameters.settleGradients()
        #expect(gradients(m).allSatisfy { $0.allSatisfy { $0 == 0 } })
        #expect(m.parameters.parameters.allSatisfy { !$0.gradPendingZero })
    }
}
