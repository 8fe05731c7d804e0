import Testing
import XMoECompute
@testable import XMoEModel

/// The model's attention runs as flash attention when no probabilities are dropped; the
/// materialised path (kept for attention dropout) computes the same function. Both models start
/// from the same seed, so their losses and every gradient must agree within fp32 rounding.
@Suite struct FlashAttentionPathTests {
    @Test(arguments: TinyModels.Preset.allCases)
    func flashAndMaterialisedPathsAgree(preset: TinyModels.Preset) throws {
        func run(materialise: Bool) throws -> (loss: Float, grads: [[Float]], keptProbs: [Bool]) {
            let model = MoETransformer(config: TinyModels.config(preset), options: TinyModels.options(.softmaxTopK), backend: CPUBackend())
            for block in model.blocks { block.attention.alwaysMaterialise = materialise }
            let (tokens, targets) = TinyModels.batch(vocab: 37)
            model.zeroGrads()
            let loss = try model.forward(tokens: tokens, targets: targets).total
            let keptProbs = model.blocks.map { $0.attention.keepsProbabilities }
            try model.backward()
            return (loss, model.parameters.parameters.map { model.backend.downloadFloats($0.grad) }, keptProbs)
        }
        let flash = try run(materialise: false), materialised = try run(materialise: true)
        let lossGap = abs(flash.loss - materialised.loss)
        #expect(lossGap <= 1e-5 * abs(materialised.loss), "loss: flash \(flash.loss), materialised \(materialised.loss)")
        var worst: Float = 0
        for (f, m) in zip(flash.grads, materialised.grads) {
            let scale = m.map(abs).max() ?? 0
            for (a, b) in zip(f, m) { worst = max(worst, abs(a - b) / max(scale, 1e-6)) }
        }
        #expect(worst <= 1e-4, "gradients differ by \(worst) of their tensor's largest element")
        // The flash forward keeps no S×S probabilities; the materialised one does (the switch works).
        let flashKept = flash.keptProbs, materialisedKept = materialised.keptProbs
        #expect(flashKept.allSatisfy { !$0 }, "flash path kept probabilities: \(flashKept)")
        #expect(materialisedKept.allSatisfy { $0 }, "materialised path kept no probabilities: \(materialisedKept)")
    }
}
