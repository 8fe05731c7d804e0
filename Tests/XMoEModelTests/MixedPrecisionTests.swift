import Testing
import XMoECompute
@testable import XMoEModel

/// bf16 compute (DESIGN item 3) on the bf16-emulating CPU backend: the compute copy, one linear map
/// forward and backward, the whole model's forward against the float64 reference with the same
/// bf16 rounding, and a short training run against the fp32 one.
@Suite struct MixedPrecisionTests {
    static func bf16(_ x: Double) -> Double { Double(roundToBFloat16(Float(x))) }

    @Test func computeCopyHoldsTheRoundedMastersAndFollowsThem() {
        let store = ParameterStore(backend: CPUBackend(computeDType: .bfloat16), seed: 3)
        let w = store.add("a.w", shape: [4, 3], initial: .normal(std: 1), weightDecay: true)
        let b = store.add("a.b", shape: [3], initial: .constant(0.1), weightDecay: false)
        store.seal()
        let backend = store.backend
        for p in [w, b] {
            let master = backend.downloadFloats(p.value), copy = backend.downloadFloats(p.compute!)
            #expect(copy == master.map(roundToBFloat16), "\(p.name)")
        }
        backend.fill(w.value, value: 1.00390625 + 1.0 / 1024)  // 1 + 2^-8 + 2^-10: rounds up to 1 + 2^-7
        backend.fill(b.value, value: 1.00390625)  // 1 + 2^-8: a tie, rounds to even (1)
        store.refreshComputeCopy()
        let wCopy = backend.downloadFloats(w.compute!), bCopy = backend.downloadFloats(b.compute!)
        #expect(wCopy == [Float](repeating: 1.0078125, count: 12))
        #expect(bCopy == [1, 1, 1])
        let fp32 = ParameterStore(backend: CPUBackend(), seed: 3)
        let p = fp32.add("a.w", shape: [2], initial: .constant(1), weightDecay: true)
        fp32.seal()
        #expect(p.compute == nil && fp32.groups.allSatisfy { $0.compute == nil })
    }

    @Test(arguments: [false, true])
    func linearRunsItsGemmsOnRoundedOperands(bias: Bool) {
        let backend = CPUBackend(threads: 2, computeDType: .bfloat16)
        let store = ParameterStore(backend: backend, seed: 5)
        let (t, i, o) = (5, 12, 7)
        let linear = Linear(store, "l", inputs: i, outputs: o, bias: bias, std: 0.7)
        store.seal()
        if let b = linear.b { backend.upload((0..<o).map { Float($0) * 0.1 + 0.013 }, to: b.value) }
        var state: UInt64 = 77
        func values(_ n: Int) -> [Float] {
            (0..<n).map { _ in state = state &* 6_364_136_223_846_793_005 &+ 1; return Float(Int64(state >> 40) - (1 << 23)) / Float(1 << 23) }
        }
        let (xValues, dyValues) = (values(t * i), values(t * o))
        let x = backend.makeTensor([t, i]), dy = backend.makeTensor([t, o]), dx = backend.makeTensor([t, i])
        backend.upload(xValues, to: x)
        backend.upload(dyValues, to: dy)
        let y = linear.forward(x)
        linear.backward(dy, dX: dx)
        let w = backend.downloadFloats(linear.w.value).map { Self.bf16(Double($0)) }
        let xr = xValues.map { Self.bf16(Double($0)) }, dyr = dyValues.map { Self.bf16(Double($0)) }
        let bias = linear.b.map { backend.downloadFloats($0.value).map(Double.init) } ?? [Double](repeating: 0, count: o)
        var wantY = [Double](repeating: 0, count: t * o), wantDX = [Double](repeating: 0, count: t * i)
        var wantDW = [Double](repeating: 0, count: i * o), wantDB = [Double](repeating: 0, count: o)
        for r in 0..<t { for j in 0..<o {
            wantY[r * o + j] = bias[j]
            wantDB[j] += Double(dyValues[r * o + j])  // the bias gradient sums the fp32 dOut
            for p in 0..<i {
                wantY[r * o + j] += xr[r * i + p] * w[p * o + j]
                wantDX[r * i + p] += dyr[r * o + j] * w[p * o + j]
                wantDW[p * o + j] += xr[r * i + p] * dyr[r * o + j]
            }
        } }
        func worst(_ got: [Float], _ want: [Double]) -> Double { zip(got, want).map { abs(Double($0) - $1) }.max() ?? 0 }
        // fp32 accumulation over ≤ 12 products of magnitude ≤ 1: ~1e-6. Unrounded operands: ~1e-2.
        let errors = [worst(backend.downloadFloats(y), wantY), worst(backend.downloadFloats(dx), wantDX),
                      worst(backend.downloadFloats(linear.w.grad), wantDW),
                      linear.b.map { worst(backend.downloadFloats($0.grad), wantDB) } ?? 0]
        #expect(errors.allSatisfy { $0 < 1e-5 }, "y, dX, dW, dB errors \(errors)")
    }

    /// The experts' output in bf16 (what the MoE block asks for with no all-to-all between) is their
    /// fp32 output, bias included, rounded once: same GEMMs, one rounding at the end.
    @Test(arguments: [ModelConfig.Activation.gelu, .swiglu])
    func expertsOutputInBF16IsTheirFP32OutputRounded(activation: ModelConfig.Activation) {
        let backend = CPUBackend(threads: 2, computeDType: .bfloat16)
        let store = ParameterStore(backend: backend, seed: 9)
        let (h, f, counts) = (8, 12, [3, 0, 4])
        let experts = Experts(store, "e", experts: 0..<counts.count, hidden: h, ffn: f, activation: activation, bias: true,
                              std: 0.5, outputStd: 0.5)
        store.seal()
        if let b = experts.bOut { backend.upload((0..<b.value.count).map { Float($0) * 0.37 - 3 }, to: b.value) }
        let rows = backend.makeTensor([counts.reduce(0, +), h])
        backend.upload((0..<rows.count).map { Float(($0 * 7919) % 201) / 50 - 2 }, to: rows)
        #expect(experts.outputDType == .bfloat16)
        let y32 = experts.forward(rows, counts_L: counts)
        let y16 = experts.forward(rows, counts_L: counts, outputDType: .bfloat16)
        let rounded = backend.converted(y32, to: .bfloat16)  // held: `halves` points into its storage
        #expect(y32.dtype == .float32 && y16.dtype == .bfloat16)
        #expect(Array(y16.halves) == Array(rounded.halves))
    }

    @Test(arguments: TinyModels.Preset.allCases)
    func forwardMatchesFloat64ReferenceWithTheSameRounding(preset: TinyModels.Preset) throws {
        let model = MoETransformer(config: TinyModels.config(preset), options: TinyModels.options(.softmaxTopK),
                                   backend: CPUBackend(computeDType: .bfloat16))
        let (tokens, targets) = TinyModels.batch(vocab: 37)
        let loss = try model.forward(tokens: tokens, targets: targets)
        var reference = TinyModels.reference(model)
        let unrounded = reference.forward(tokens: tokens, targets: targets, seqLen: 8)
        reference.gemmInputRounding = Self.bf16
        let ref = reference.forward(tokens: tokens, targets: targets, seqLen: 8)
        let routed = model.routingStats.map(\.routed_E)
        #expect(routed == ref.routed)
        let error = abs(Double(loss.total) - ref.total) / ref.total
        let bf16Effect = abs(unrounded.total - ref.total) / ref.total
        // The model rounds fp32 activations, the reference float64 ones: they differ by ~1e-7
        // relative, so an element flips to the neighbouring bf16 value only when it lies that close
        // to a rounding boundary (a few in 10⁴ elements), each flip moving it 2⁻⁸ relative. 2e-4
        // bounds that; bf16 rounding itself moves the loss by more (checked, so the test can fail).
        // Measured (xmoe-paper, deepseek): 6.2e-8 and 3.1e-8 against the rounded reference, 1.4e-3 and
        // 1.2e-3 unrounded; without rounding the experts' output rows as the model does, 1.2e-4 and 2.4e-5.
        #expect(error < 2e-4, "bf16 model \(loss.total) vs rounded float64 reference \(ref.total): \(error)")
        #expect(bf16Effect > 4 * error, "bf16 rounding changes the loss by \(bf16Effect) only")
    }

    /// A few AdamW steps on the tiny model (fixed batch) in fp32 and in bf16 emulation, refreshing
    /// the compute copy after each update as the trainer does.
    static func losses(_ backend: Backend, steps: Int) throws -> [Double] {
        let model = MoETransformer(config: TinyModels.config(.deepseek), options: TinyModels.options(.softmaxTopK),
                                   backend: backend)
        let (tokens, targets) = TinyModels.batch(vocab: 37)
        let groups = model.parameters.groups
        let moments = groups.map { (backend.makeTensor([$0.count]), backend.makeTensor([$0.count])) }
        var losses: [Double] = []
        for step in 1...steps {
            model.zeroGrads()
            losses.append(Double(try model.forward(tokens: tokens, targets: targets).total))
            try model.backward()
            for (g, (m, v)) in zip(groups, moments) {
                backend.adamwUpdate(param: g.value, grad: g.grad, m: m, v: v, step: step, lr: 1e-2,
                                    beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0)
            }
            model.parameters.refreshComputeCopy()
        }
        return losses
    }

    @Test func bf16TrainingTracksFp32Training() throws {
        let steps = 12
        let fp32 = try Self.losses(CPUBackend(), steps: steps)
        let bf16 = try Self.losses(CPUBackend(computeDType: .bfloat16), steps: steps)
        let bf16Again = try Self.losses(CPUBackend(threads: 2, computeDType: .bfloat16), steps: steps)
        #expect(bf16 == bf16Again, "bf16 emulation is deterministic for any thread count")
        let worst = zip(fp32, bf16).map { abs($0 - $1) / $0 }.max() ?? 0
        // Tolerance: bf16 operands carry a relative error of ≤ 2⁻⁹ each, which moves this tiny
        // model's step-1 loss by 1.1e-3 (measured); 12 steps of lr 1e-2 on one fixed batch (the loss
        // falls 4.12 → 0.32) let the runs drift apart: measured worst 1.14e-2 (step 6). 3e-2 leaves
        // room for another machine's BLAS summing in another order, and is far below the loss's fall.
        // A compute copy left stale after the updates would keep the bf16 loss from falling.
        #expect(worst < 3e-2, "worst relative loss difference \(worst); fp32 \(fp32), bf16 \(bf16)")
        let fell = bf16[steps - 1] < 0.5 * bf16[0]
        #expect(fell, "bf16 training learns: \(bf16.first!) → \(bf16.last!)")
    }
}
