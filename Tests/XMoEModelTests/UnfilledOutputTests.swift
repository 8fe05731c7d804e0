import Testing
import XMoECompute
@testable import XMoEModel

/// The CPU backend zero-fills `makeOutput` tensors, so a model op that reads (or adds into) a
/// `makeOutput` buffer before writing it passes every other CPU test. Here each `makeOutput`
/// tensor the model takes during a step is filled with NaN first (as unspecified GPU memory may
/// be), and the step must give bit for bit the losses and gradients of a plain CPU run.
@Suite struct UnfilledOutputTests {
    @Test(arguments: TinyModels.Preset.allCases, [DType.float32, .bfloat16])
    func stepIgnoresWhatOutputsHeld(preset: TinyModels.Preset, dtype: DType) throws {
        for capacity in [CapacityRule.dropless, CapacityRule(capacityFactor: 0.5, minCapacity: 1)] {
            let options = TinyModels.options(.softmaxTopK, capacity: capacity)
            let (tokens, targets) = TinyModels.batch(vocab: 37)
            let plain = MoETransformer(config: TinyModels.config(preset), options: options, backend: CPUBackend(computeDType: dtype))
            let inner = CPUBackend(computeDType: dtype)
            let poisoning = ProfilingBackend(inner: inner, synchronize: {})
            poisoning.enabled = false
            let poisoned = MoETransformer(config: TinyModels.config(preset), options: options, backend: poisoning)
            // `willCall` names the method whose tensor `didMakeTensor` sees next.
            var lastMethod = "", armed = false
            poisoning.willCall = { lastMethod = $0 }
            poisoning.didMakeTensor = { t in
                if armed, lastMethod == "makeOutput", t.dtype != .int32 { inner.fill(t, value: .nan) }
            }
            var results: [(LossParts, [[Float]])] = []
            for (model, arm) in [(plain, false), (poisoned, true)] {
                model.zeroGrads()
                armed = arm
                let loss = try model.forward(tokens: tokens, targets: targets)
                try model.backward()
                armed = false
                results.append((loss, model.parameters.parameters.map { model.backend.downloadFloats($0.grad) }))
            }
            let (a, b) = (results[0], results[1])
            let what = "\(preset) \(dtype) capacity \(capacity)"
            #expect(a.0.total == b.0.total && a.0.lm == b.0.lm && a.0.aux == b.0.aux && a.0.z == b.0.z,
                    "\(what): losses \(a.0) vs \(b.0)")
            for (p, (ga, gb)) in zip(plain.parameters.parameters, zip(a.1, b.1)) {
                let bad = ga.indices.first { ga[$0] != gb[$0] }
                #expect(bad == nil, "\(what): \(p.name) gradient differs at \(bad ?? -1)")
            }
        }
    }
}
