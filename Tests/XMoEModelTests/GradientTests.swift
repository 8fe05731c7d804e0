import Testing
import XMoECompute
@testable import XMoEModel

/// The fp32 analytic gradient of every parameter tensor against central finite differences of the
/// float64 reference's total loss (lm + aux + z), in both presets and every gating variant.
@Suite struct GradientTests {
    static let gatings: [Gating] = [.softmaxTopK, .softmaxTopKRenorm, .topKLogits, .sigmoidBias]

    @Test(arguments: TinyModels.Preset.allCases, gatings)
    func droplessGradientsMatchFiniteDifferences(preset: TinyModels.Preset, gating: Gating) throws {
        try checkGradients(preset: preset, options: TinyModels.options(gating))
    }

    /// Dropping is piecewise smooth too: with the kept set fixed, dropped slots just contribute 0.
    @Test(arguments: TinyModels.Preset.allCases)
    func droppingGradientsMatchFiniteDifferences(preset: TinyModels.Preset) throws {
        try checkGradients(preset: preset, options: TinyModels.options(.softmaxTopK, capacity: CapacityRule(capacityFactor: 0.5, minCapacity: 2)))
    }

    func checkGradients(preset: TinyModels.Preset, options: MoEOptions) throws {
        let model = MoETransformer(config: TinyModels.config(preset), options: options, backend: CPUBackend())
        if options.gating == .sigmoidBias {
            for layer in model.config.firstDenseLayers..<model.config.layers { model.setExpertBias(layer: layer, [0.05, -0.1, 0.2, 0]) }
        }
        let (tokens, targets) = TinyModels.batch(vocab: 37)
        model.zeroGrads()
        _ = try model.forward(tokens: tokens, targets: targets)
        try model.backward()
        let base = TinyModels.reference(model)
        let baseline = base.forward(tokens: tokens, targets: targets, seqLen: 8)
        let step = 1e-5
        var checked = 0, skipped = 0
        for p in model.parameters.parameters {
            let grad = model.backend.downloadFloats(p.grad)
            // Four elements per tensor, spread over it (first, last and two inside).
            let picks = Set([0, p.value.count / 3, 2 * p.value.count / 3 + 1, p.value.count - 1].map { min($0, p.value.count - 1) })
            for element in picks.sorted() {
                guard let slice = p.slices.first(where: { $0.elements.contains(element) }) else { fatalError() }
                let offset = element - slice.elements.lowerBound
                var plus = base, minus = base
                plus.params[slice.name]![offset] += step
                minus.params[slice.name]![offset] -= step
                let up = plus.forward(tokens: tokens, targets: targets, seqLen: 8)
                let down = minus.forward(tokens: tokens, targets: targets, seqLen: 8)
                // A discrete decision (top-k choice or kept set) that flips under ±step makes the loss
                // non-smooth there; such samples say nothing about the gradient.
                if up.choices != baseline.choices || down.choices != baseline.choices
                    || up.kept != baseline.kept || down.kept != baseline.kept {
                    skipped += 1
                    continue
                }
                let fd = (up.total - down.total) / (2 * step)
                let analytic = Double(grad[element])
                // fp32 backward over H = 16, 2 layers: absolute 2e-5 + 1% relative; float64 FD with
                // step 1e-5 is accurate to ~1e-9.
                #expect(abs(analytic - fd) <= 2e-5 + 1e-2 * abs(fd),
                        "\(slice.name)[\(offset)]: analytic \(analytic), finite difference \(fd)")
                checked += 1
            }
        }
        #expect(skipped * 10 <= checked, "too many samples (\(skipped)) crossed a routing decision")
        #expect(checked >= 4 * model.parameters.parameters.count - 8 - skipped)
    }
}
