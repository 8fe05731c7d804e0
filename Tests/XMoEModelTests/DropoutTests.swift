import Testing
import XMoECompute
@testable import XMoEModel

/// Hidden and attention dropout: masks are a pure function of (seed, site, step, micro-step), the
/// kept elements are scaled by 1/(1−p), evaluation (no stream) drops nothing, and the backward of
/// the dropped model matches finite differences of its own loss.
@Suite struct DropoutTests {
    /// Every expert chosen by every token and no dropping: the loss is smooth in every parameter, so
    /// finite differences need no routing-flip filtering.
    static func smoothModel(seed: UInt64 = 7) -> MoETransformer {
        var config = TinyModels.config(.xmoePaper)
        config.topK = config.numExperts
        return MoETransformer(config: config, options: TinyModels.options(.softmaxTopK, seed: seed), backend: CPUBackend())
    }

    static let rates = DropoutRates(hidden: 0.2, attention: 0.3)

    func loss(_ model: MoETransformer, stream: DropoutStream?) throws -> Float {
        let (tokens, targets) = TinyModels.batch(vocab: 37)
        model.dropoutStream = stream
        return try model.forward(tokens: tokens, targets: targets).total
    }

    @Test func masksDependOnlyOnSeedAndStream() throws {
        let model = Self.smoothModel()
        let undropped = try loss(model, stream: nil)
        model.dropout = Self.rates
        let evaluation = try loss(model, stream: nil)
        let first = try loss(model, stream: DropoutStream(step: 3, microStep: 1))
        let again = try loss(model, stream: DropoutStream(step: 3, microStep: 1))
        let otherStep = try loss(model, stream: DropoutStream(step: 4, microStep: 1))
        let otherMicro = try loss(model, stream: DropoutStream(step: 3, microStep: 0))
        // A second model with the same seed draws the same masks: no state carried between forwards.
        let twin = Self.smoothModel()
        twin.dropout = Self.rates
        _ = try loss(twin, stream: DropoutStream(step: 9, microStep: 0))
        let twinFirst = try loss(twin, stream: DropoutStream(step: 3, microStep: 1))
        let otherSeed = Self.smoothModel(seed: 8)
        otherSeed.dropout = Self.rates
        let otherSeedUndropped = try loss(otherSeed, stream: nil)
        let otherSeedDropped = try loss(otherSeed, stream: DropoutStream(step: 3, microStep: 1))

        #expect(evaluation.bitPattern == undropped.bitPattern, "no stream (evaluation) must drop nothing")
        #expect(first.bitPattern != undropped.bitPattern, "p > 0 must change the loss")
        #expect(again.bitPattern == first.bitPattern)
        #expect(twinFirst.bitPattern == first.bitPattern)
        #expect(otherStep.bitPattern != first.bitPattern)
        #expect(otherMicro.bitPattern != first.bitPattern)
        let seedEffect = (otherSeedDropped - otherSeedUndropped).bitPattern
        let ownEffect = (first - undropped).bitPattern
        #expect(seedEffect != ownEffect)
    }

    @Test func maskKeepsOneMinusPScaledByItsInverse() throws {
        let control = DropoutControl(backend: CPUBackend(), seed: 1234)
        #expect(control.mask(site: "s", count: 10, p: 0.5) == nil, "no stream: no mask")
        control.stream = DropoutStream(step: 1, microStep: 0)
        #expect(control.mask(site: "s", count: 10, p: 0) == nil)
        let n = 200_000
        for p in [0.1, 0.5] {
            let mask = try #require(control.mask(site: "layers.00.attn_out", count: n, p: p))
            let values = control.backend.downloadFloats(mask)
            let kept = Float(1 / (1 - p))
            let onlyTwoValues = values.allSatisfy { $0 == 0 || $0 == kept }
            #expect(onlyTwoValues)
            let mean = values.reduce(0.0) { $0 + Double($1) } / Double(n)
            let dropped = Double(values.filter { $0 == 0 }.count) / Double(n)
            // Standard error of the mean is sqrt(p/(1−p)/n) ≤ 0.0023; the bounds are > 4 of them.
            #expect(abs(mean - 1) < 0.01, "p \(p): mean of the mask \(mean)")
            #expect(abs(dropped - p) < 0.01, "p \(p): dropped fraction \(dropped)")
        }
        let all = try #require(control.mask(site: "s", count: 1000, p: 1))
        let allZero = control.backend.downloadFloats(all).allSatisfy { $0 == 0 }
        #expect(allZero)
    }

    /// For each parameter tensor, the directional derivative of the dropped loss along its own
    /// gradient, by central differences, equals the gradient's norm (a wrong mask in any backward —
    /// attention probabilities, attention or FFN output, embedding — breaks it for that tensor).
    @Test func droppedGradientsMatchFiniteDifferences() throws {
        let model = Self.smoothModel()
        model.dropout = Self.rates
        let stream = DropoutStream(step: 5, microStep: 2)
        model.zeroGrads()
        _ = try loss(model, stream: stream)
        try model.backward()
        let backend = model.backend
        var checked = 0
        for p in model.parameters.parameters {
            let grad = backend.downloadFloats(p.grad).map(Double.init)
            let norm = grad.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 1e-3 else { continue }
            let original = backend.downloadFloats(p.value)
            let eps = 1e-2
            func lossAt(_ sign: Double) throws -> Double {
                backend.upload(zip(original, grad).map { Float(Double($0) + sign * eps * $1 / norm) }, to: p.value)
                return Double(try loss(model, stream: stream))
            }
            let up = try lossAt(1), down = try lossAt(-1)
            backend.upload(original, to: p.value)
            let fd = (up - down) / (2 * eps)
            #expect(abs(fd - norm) <= 2e-3 + 0.02 * norm, "\(p.name): finite difference \(fd), gradient norm \(norm)")
            checked += 1
        }
        #expect(checked >= model.parameters.parameters.count / 2)
    }
}
