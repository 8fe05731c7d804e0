import Testing
@testable import XMoECompute

/// The profiling wrapper of the GPU step benchmark: every Backend method reaches the inner backend
/// and its time lands in the category the breakdown promises (the table below is written out here,
/// independently of `ProfilingBackend.category(ofMethod:)`).
@Suite struct ProfilingBackendTests {
    static let expected: [String: OpCategory] = [
        "makeTensor": .memory, "makeOutput": .memory, "zero": .memory, "fill": .memory, "copy": .memory, "upload": .memory,
        "downloadFloats": .memory, "downloadInts": .memory,
        "gemm": .gemm, "batchedGemm": .gemm, "groupedGemm": .groupedGemm, "groupedGemmWeightGrad": .groupedGemm,
        "groupedLinearForward": .groupedGemm,
        "add": .elementwise, "scale": .elementwise, "axpy": .elementwise, "addBias": .elementwise, "sumRows": .elementwise,
        "addSegmentBias": .elementwise, "sumRowSegments": .elementwise,
        "geluForward": .elementwise, "geluBackward": .elementwise, "siluForward": .elementwise, "siluBackward": .elementwise,
        "swigluForward": .elementwise, "swigluBackward": .elementwise, "dropoutForward": .elementwise,
        "dropoutBackward": .elementwise, "layerNormForward": .elementwise, "layerNormBackward": .elementwise,
        "rmsNormForward": .elementwise, "rmsNormBackward": .elementwise, "embeddingForward": .elementwise,
        "embeddingBackward": .elementwise,
        "softmaxForward": .routing, "softmaxBackward": .routing, "gatherRows": .routing, "gatherRowsBackward": .routing,
        "scatterAddRows": .routing, "scatterAddRowsBackward": .routing, "stableArgsort": .routing,
        "routeForward": .routing, "routeBackward": .routing, "permutePlan": .routing, "permuteTokens": .routing,
        "unpermute": .routing, "unpermuteBackward": .routing, "convert": .elementwise,
        "ropeForward": .attention, "ropeBackward": .attention, "attentionForward": .attention, "attentionBackward": .attention,
        "flashAttentionForward": .attention, "flashAttentionBackward": .attention,
        "flashAttentionRoPEForward": .attention, "flashAttentionRoPEBackward": .attention,
        "crossEntropyForward": .loss, "crossEntropyBackward": .loss, "crossEntropyFused": .loss,
        "adamwUpdate": .optimizer, "sumOfSquares": .optimizer, "allFinite": .optimizer,
    ]

    /// A clock that advances one nanosecond per reading. A call reads it three times (start, after
    /// the submit, after the synchronisation), so each call adds exactly 2 ns, 1 of them submit.
    final class Ticks: @unchecked Sendable {
        var value: UInt64 = 0
        var syncs = 0
    }

    @Test func everyMethodForwardsAndLandsInItsCategory() {
        let cpu = CPUBackend(threads: 1)
        let ticks = Ticks()
        let p = ProfilingBackend(inner: cpu, synchronize: { ticks.syncs += 1 }, now: { ticks.value += 1; return ticks.value })
        func f(_ shape: [Int], _ values: [Float]? = nil) -> Tensor {
            let t = cpu.makeTensor(shape)
            cpu.upload(values ?? (0..<t.count).map { Float($0 % 7) * 0.25 - 0.5 }, to: t)
            return t
        }
        func i(_ values: [Int32]) -> Tensor { let t = cpu.makeTensor([values.count], dtype: .int32); cpu.upload(values, to: t); return t }
        p.reset()
        let syncsBefore = ticks.syncs

        // memory
        let made = p.makeTensor([2, 2], dtype: .float32)
        _ = p.makeOutput([2, 2], dtype: .float32)
        p.zero(made)
        p.fill(made, value: 2)
        let copied = cpu.makeTensor([2, 2])
        p.copy(from: made, to: copied)
        p.upload([1, 2, 3, 4] as [Float], to: made)
        let ints = cpu.makeTensor([2], dtype: .int32)
        p.upload([Int32(5), 6], to: ints)
        let downloaded = p.downloadFloats(copied)
        let downloadedInts = p.downloadInts(ints)
        #expect(downloaded == [2, 2, 2, 2])
        #expect(downloadedInts == [5, 6])

        // matrix products: [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
        let a = f([2, 2], [1, 2, 3, 4]), b = f([2, 2], [5, 6, 7, 8]), c = f([2, 2], [0, 0, 0, 0])
        p.gemm(transA: false, transB: false, m: 2, n: 2, k: 2, alpha: 1, a: a, aOffset: 0, lda: 2, b: b, bOffset: 0, ldb: 2,
               beta: 0, c: c, cOffset: 0, ldc: 2)
        let product = cpu.downloadFloats(c)
        #expect(product == [19, 22, 43, 50])
        p.batchedGemm(transA: false, transB: false, m: 2, n: 2, k: 2, alpha: 1, a: a, aOffset: 0, lda: 2, strideA: 4,
                      b: b, bOffset: 0, ldb: 2, strideB: 4, beta: 0, c: c, cOffset: 0, ldc: 2, strideC: 4, batchCount: 1)
        let w = f([1, 2, 2], [5, 6, 7, 8]), grouped = f([2, 2], [0, 0, 0, 0])
        p.groupedGemm(transB: false, k: 2, n: 2, alpha: 1, a: a, w: w, beta: 0, c: grouped, rowOffsets: [0], rowCounts: [2])
        let groupedProduct = cpu.downloadFloats(grouped)
        #expect(groupedProduct == [19, 22, 43, 50])
        p.groupedGemmWeightGrad(k: 2, n: 2, a: a, dC: b, dW: f([1, 2, 2]), rowOffsets: [0], rowCounts: [2])
        let linear = f([2, 2])
        p.groupedLinearForward(x: a, w: w, b: f([1, 2], [1, -1]), rowOffsets: [0], rowCounts: [2], out: linear)
        let linearOut = cpu.downloadFloats(linear)
        #expect(linearOut == [20, 21, 44, 49])

        // element-wise
        let x = f([2, 2]), out = f([2, 2]), dX = f([2, 2])
        p.add(a, b, out: out)
        let sum = cpu.downloadFloats(out)
        #expect(sum == [6, 8, 10, 12])
        p.scale(out, by: 2)
        p.axpy(alpha: 1, x: a, y: out)
        p.addBias(out, bias: f([2]), biasOffset: 0, rows: 0..<2)
        p.sumRows(x, rows: 0..<2, into: f([2]), outOffset: 0)
        p.addSegmentBias(out, bias: f([2, 2]), rowOffsets: [0, 1], rowCounts: [1, 1])
        p.sumRowSegments(x, rowOffsets: [0, 1], rowCounts: [1, 1], into: f([2, 2]))
        p.geluForward(x, out: out)
        p.geluBackward(x: x, dOut: out, dX: dX)
        p.siluForward(x, out: out)
        p.siluBackward(x: x, dOut: out, dX: dX)
        p.swigluForward(gateUp: f([2, 4]), out: out)
        p.swigluBackward(gateUp: f([2, 4]), dOut: out, dGateUp: f([2, 4]))
        p.dropoutForward(x, mask: f([2, 2], [0, 2, 2, 0]), out: out)
        p.dropoutBackward(dOut: x, mask: f([2, 2], [0, 2, 2, 0]), dX: dX)
        p.softmaxForward(logits: x, probs: out)
        p.softmaxBackward(probs: out, dProbs: x, dLogits: dX)
        p.layerNormForward(x: x, weight: f([2]), bias: f([2]), eps: 1e-5, out: out, mean: f([2]), rstd: f([2]))
        p.layerNormBackward(dOut: x, x: x, weight: f([2]), mean: f([2]), rstd: f([2]), dX: dX, dWeight: f([2]), dBias: f([2]))
        p.rmsNormForward(x: x, weight: f([2]), eps: 1e-5, out: out, rstd: f([2]))
        p.rmsNormBackward(dOut: x, x: x, weight: f([2]), rstd: f([2]), dX: dX, dWeight: f([2]))

        // attention: 2 tokens of one sequence, 1 head of width 2
        let qkv = f([2, 6])
        p.ropeForward(qkv: qkv, heads: 1, seqLen: 2, theta: 10_000, out: f([2, 6]))
        p.ropeBackward(dOut: qkv, heads: 1, seqLen: 2, theta: 10_000, dQkv: f([2, 6]))
        p.attentionForward(qkv: qkv, heads: 1, seqLen: 2, out: out, probs: f([1, 2, 2]))
        p.attentionBackward(dOut: x, qkv: qkv, probs: f([1, 2, 2]), heads: 1, seqLen: 2, dQkv: f([2, 6]))
        let lse = f([1, 2])
        p.flashAttentionForward(qkv: qkv, heads: 1, seqLen: 2, out: out, logSumExp: lse)
        p.flashAttentionBackward(dOut: x, qkv: qkv, out: out, logSumExp: lse, heads: 1, seqLen: 2, dQkv: f([2, 6]))
        p.flashAttentionRoPEForward(qkv: qkv, heads: 1, seqLen: 2, theta: 10_000, out: out, logSumExp: lse)
        p.flashAttentionRoPEBackward(dOut: x, saved: qkv, out: out, logSumExp: lse, heads: 1, seqLen: 2, theta: 10_000, dQkv: f([2, 6]),
                                     overwrite: true)

        // routing data movement
        let index = i([1, 0]), weights = f([2], [1, 1])
        p.gatherRows(a, index: index, into: out)
        let gathered = cpu.downloadFloats(out)
        #expect(gathered == [3, 4, 1, 2])
        p.gatherRowsBackward(dDst: x, index: index, dSrc: f([2, 2]))
        p.scatterAddRows(a, index: index, weight: weights, into: f([2, 2]))
        p.scatterAddRowsBackward(dDst: x, src: a, index: index, weight: weights, dSrc: f([2, 2]), dWeight: f([2]))
        let order = cpu.makeTensor([3], dtype: .int32), counts = cpu.makeTensor([2], dtype: .int32)
        p.stableArgsort(keys: i([1, 0, 1]), keyCount: 2, order: order, counts: counts)
        let sorted = cpu.downloadInts(order)
        #expect(sorted == [1, 0, 2])

        // routing and permutation: 2 tokens, 2 experts, top-1
        let logits = f([2, 2], [0.5, -0.5, -1, 1]), expert = cpu.makeTensor([2], dtype: .int32), gate = f([2])
        let routed = cpu.makeTensor([2], dtype: .int32), scores = f([2, 2])
        p.routeForward(logits: logits, bias: nil, gating: .softmaxTopK, topK: 1, scores: scores, expert: expert, weight: gate,
                       routed: routed, losses: f([2]))
        let chosen = cpu.downloadInts(expert)
        #expect(chosen == [0, 1])
        p.routeBackward(logits: logits, scores: scores, expert: expert, weight: gate, routed: routed, dWeight: f([2], [1, 1]),
                        gating: .softmaxTopK, auxCoeff: 0, zCoeff: 0, dLogits: f([2, 2]))
        let kept = cpu.makeTensor([2], dtype: .int32), rowOfSlot = cpu.makeTensor([2], dtype: .int32)
        p.permutePlan(expert: expert, weight: gate, experts: 2, capacity: nil, kept: kept, rowOfSlot: rowOfSlot)
        p.permuteTokens(rowOfSlot: rowOfSlot, topK: 1, tokenOfRow: cpu.makeTensor([2], dtype: .int32))
        p.unpermute(a, rowOfSlot: rowOfSlot, weight: gate, topK: 1, into: f([2, 2]))
        p.unpermuteBackward(dDst: x, src: a, rowOfSlot: rowOfSlot, weight: gate, topK: 1, dSrc: f([2, 2]), dWeight: f([2]))
        p.convert(a, to: cpu.makeTensor([2, 2], dtype: .bfloat16))

        // embedding, loss, optimizer
        p.embeddingForward(tokens: index, table: f([3, 2]), out: out)
        p.embeddingBackward(tokens: index, dOut: x, dTable: f([3, 2]))
        let targets = i([0, 2])
        p.crossEntropyForward(logits: f([2, 3]), targets: targets, probs: f([2, 3]), losses: f([2]))
        p.crossEntropyBackward(probs: f([2, 3]), targets: targets, dLosses: f([2], [1, 1]), dLogits: f([2, 3]))
        p.crossEntropyFused(logits: f([1, 3]), targets: targets, rowOffset: 1, scale: 0.5, losses: f([2]))
        p.adamwUpdate(param: f([4]), grad: f([4]), m: f([4]), v: f([4]), step: 1, lr: 1e-3, beta1: 0.9, beta2: 0.95,
                      eps: 1e-8, weightDecay: 0.1)
        let squares = p.sumOfSquares(f([2], [3, 4]))
        #expect(squares == 25)
        let finite = p.allFinite(f([2], [1, .nan]))
        #expect(!finite)

        // Every method once (upload has two overloads), each followed by one synchronisation.
        var expectedCalls = Dictionary(uniqueKeysWithValues: Self.expected.keys.map { ($0, 1) })
        expectedCalls["upload"] = 2
        let methodCalls = p.methodCalls
        #expect(methodCalls == expectedCalls)
        let totalCalls = expectedCalls.values.reduce(0, +)
        let syncs = ticks.syncs - syncsBefore
        #expect(syncs == totalCalls)
        for category in OpCategory.allCases {
            let want = expectedCalls.filter { Self.expected[$0.key] == category }.values.reduce(0, +)
            let calls = p.calls[category] ?? 0, nanos = p.nanoseconds[category] ?? 0
            #expect(calls == want, "calls in \(category.rawValue)")
            #expect(nanos == UInt64(2 * want), "nanoseconds in \(category.rawValue) (two ticks per call)")
            let submit = p.submitNanoseconds[category] ?? 0
            #expect(submit == UInt64(want), "submit nanoseconds in \(category.rawValue) (one tick per call)")
        }
        let seconds = p.seconds
        #expect(seconds.count == OpCategory.allCases.count)
        p.reset()
        let afterReset = p.methodCalls
        #expect(afterReset.isEmpty)
    }

    @Test func categoryTableCoversEveryNamedMethod() {
        for (name, category) in Self.expected {
            let mapped = ProfilingBackend.category(ofMethod: name)
            #expect(mapped == category, "\(name)")
        }
    }
}
