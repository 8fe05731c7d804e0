import Testing
import XMoECompute
@testable import XMoEModel

/// The LM loss in chunks of tokens (LMHead): several chunks, a partial last one and a chunk of only
/// ignored targets give the loss and every gradient of the one-chunk path (the unchunked GEMMs and
/// the op with the old ops' roundings) to fp32 rounding; gradient work happens only when asked for.
@Suite struct ChunkedLossTests {
    /// T = 16: chunks of 5 rows are 5 + 5 + 5 + 1; rows 5..<10 (the second chunk) are all ignored.
    static func batch() -> (tokens: [Int32], targets: [Int32]) {
        var (tokens, targets) = TinyModels.batch(vocab: 37)
        for i in 5..<10 { targets[i] = -1 }
        return (tokens, targets)
    }

    static func run(_ preset: TinyModels.Preset, _ dtype: DType, chunkRows: Int?) throws -> (loss: LossParts, grads: [[Float]]) {
        let model = MoETransformer(config: TinyModels.config(preset), options: TinyModels.options(.softmaxTopK),
                                   backend: CPUBackend(computeDType: dtype))
        if let chunkRows { model.head.chunkRows = chunkRows }
        let (tokens, targets) = batch()
        model.zeroGrads()
        let loss = try model.forward(tokens: tokens, targets: targets)
        try model.backward()
        return (loss, model.parameters.parameters.map { model.backend.downloadFloats($0.grad) })
    }

    /// max |a − b| / max(max |b|, tiny), over one tensor.
    static func relative(_ a: [Float], _ b: [Float]) -> Double {
        let scale = b.map { abs(Double($0)) }.max() ?? 0
        let diff = zip(a, b).map { abs(Double($0) - Double($1)) }.max() ?? 0
        return diff / max(scale, 1e-30)
    }

    @Test(arguments: TinyModels.Preset.allCases, [DType.float32, .bfloat16])
    func chunkedLossAndGradientsEqualOneChunk(preset: TinyModels.Preset, dtype: DType) throws {
        let one = try Self.run(preset, dtype, chunkRows: nil)
        let oneChunk = LMHead.chunkRows(vocab: TinyModels.config(preset).paddedVocab)
        #expect(oneChunk >= 16, "the default chunk holds the whole tiny batch")
        let chunked = try Self.run(preset, dtype, chunkRows: 5)
        let lossError = abs(Double(chunked.loss.lm) - Double(one.loss.lm)) / Double(one.loss.lm)
        #expect(lossError < 1e-6, "lm \(chunked.loss.lm) vs \(one.loss.lm)")
        let (aux, auxOne) = (chunked.loss.aux, one.loss.aux)
        #expect(aux == auxOne)
        // Only the order of the weight gradient's sum over tokens changes (per chunk, then chunks in
        // order): fp32 rounding, ~1e-7 of the largest element.
        let errors = zip(chunked.grads, one.grads).map { Self.relative($0, $1) }
        let worst = errors.max() ?? 0
        #expect(worst < 1e-5, "worst relative gradient difference \(worst)")
        let nonzero = one.grads.allSatisfy { $0.contains { $0 != 0 } }
        #expect(nonzero, "every parameter gets a gradient")
    }

    /// A forward with `gradients: false` (evaluation) adds nothing into the gradients and gives the
    /// same loss; a backward after it still gives the training gradients (the head runs again).
    @Test func evaluationForwardDoesNoGradientWork() throws {
        let model = MoETransformer(config: TinyModels.config(.deepseek), options: TinyModels.options(.softmaxTopK), backend: CPUBackend())
        model.head.chunkRows = 3
        let (tokens, targets) = Self.batch()
        model.zeroGrads()
        let evaluated = try model.forward(tokens: tokens, targets: targets, gradients: false)
        let untouched = model.parameters.parameters.allSatisfy { model.backend.downloadFloats($0.grad).allSatisfy { $0 == 0 } }
        #expect(untouched)
        try model.backward()
        let late = model.parameters.parameters.map { model.backend.downloadFloats($0.grad) }

        model.zeroGrads()
        let trained = try model.forward(tokens: tokens, targets: targets)
        try model.backward()
        let usual = model.parameters.parameters.map { model.backend.downloadFloats($0.grad) }
        #expect(evaluated == trained)
        #expect(late == usual)
    }

    /// Gradients zeroed between forward and backward: the head's share, already added by the
    /// forward, is made again, so backward still gives the whole gradient.
    @Test func zeroingBetweenForwardAndBackwardKeepsTheHeadGradient() throws {
        let model = MoETransformer(config: TinyModels.config(.xmoePaper), options: TinyModels.options(.softmaxTopK), backend: CPUBackend())
        model.head.chunkRows = 4
        let (tokens, targets) = Self.batch()
        model.zeroGrads()
        _ = try model.forward(tokens: tokens, targets: targets)
        try model.backward()
        let usual = model.parameters.parameters.map { model.backend.downloadFloats($0.grad) }
        _ = try model.forward(tokens: tokens, targets: targets)
        model.zeroGrads()
        try model.backward()
        let zeroedBetween = model.parameters.parameters.map { model.backend.downloadFloats($0.grad) }
        #expect(zeroedBetween == usual)
    }
}

/// The loss path's memory at X-MoE Small (T = 8192, H = 2048, V = 50304), worked out by hand:
/// chunks of 2560 rows (512 MiB / (4 · 50304) = 2668, down to a multiple of 128); the last one
/// (512 rows) reuses the same buffers.
@Suite struct LossPathBytesTests {
    @Test func xmoeSmallMicroBatch4() {
        // bf16: 2560 · 50304 · (4 + 2) for a chunk; dX 8192 · 2048 · 4; losses 8192 · 4.
        let bf16 = MoETransformer.lossPathBytes(tokens: 8192, hidden: 2048, vocab: 50304, computeDType: .bfloat16)
        #expect(bf16 == 772_669_440 + 67_108_864 + 32_768)
        let fp32 = MoETransformer.lossPathBytes(tokens: 8192, hidden: 2048, vocab: 50304, computeDType: .float32)
        #expect(fp32 == 515_112_960 + 67_108_864 + 32_768)
        // A batch inside one chunk: its own logits only.
        let small = MoETransformer.lossPathBytes(tokens: 128, hidden: 64, vocab: 50304, computeDType: .bfloat16)
        #expect(small == 128 * 50304 * 6 + 4 * 128 * 64 + 4 * 128)
        // A vocabulary so large that fewer than 128 rows fit: no rounding.
        let rows = LMHead.chunkRows(vocab: 1 << 22)
        #expect(rows == 32)
    }
}
