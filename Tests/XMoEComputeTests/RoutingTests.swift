import Testing
@testable import XMoECompute

func referenceGather(_ src: [Double], index: [Int32], cols: Int) -> [Double] {
    index.flatMap { i in src[(Int(i) * cols)..<((Int(i) + 1) * cols)] }
}

func referenceScatterAdd(_ src: [Double], index: [Int32], weight: [Double], into dst: [Double], cols: Int) -> [Double] {
    var out = dst
    for (b, i) in index.enumerated() {
        for c in 0..<cols { out[Int(i) * cols + c] += weight[b] * src[b * cols + c] }
    }
    return out
}

@Suite struct RoutingTests {
    let backend = CPUBackend()
    let index: [Int32] = [2, 0, 2, 3, 0, 2]  // repeats: several slots of one token
    let tokens = 4, cols = 3

    @Test func gatherRowsAndBackward() {
        var random = TestRandom(seed: 60)
        let src = random.floats(tokens * cols), up = random.floats(index.count * cols)
        let dst = backend.makeTensor([index.count, cols])
        let indexT = backend.intTensor([index.count], index)
        backend.gatherRows(backend.tensor([tokens, cols], src), index: indexT, into: dst)
        #expect(backend.downloadFloats(dst).doubles == referenceGather(src.doubles, index: index, cols: cols))
        let dSrc = backend.makeTensor([tokens, cols])
        backend.gatherRowsBackward(dDst: backend.tensor([index.count, cols], up), index: indexT, dSrc: dSrc)
        expectClose(backend.downloadFloats(dSrc),
                    numericalGradient(of: { referenceGather($0, index: index, cols: cols) }, at: src.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "gather dSrc")
    }

    @Test func weightedScatterAddAndBackward() {
        var random = TestRandom(seed: 61)
        let src = random.floats(index.count * cols), w = random.floats(index.count), base = random.floats(tokens * cols)
        let up = random.floats(tokens * cols)
        let (srcT, wT, indexT) = (backend.tensor([index.count, cols], src), backend.tensor([index.count], w),
                                  backend.intTensor([index.count], index))
        let dst = backend.tensor([tokens, cols], base)
        backend.scatterAddRows(srcT, index: indexT, weight: wT, into: dst)
        let f = { (s: [Double], w: [Double]) in referenceScatterAdd(s, index: index, weight: w, into: base.doubles, cols: cols) }
        expectClose(backend.downloadFloats(dst), f(src.doubles, w.doubles), atol: 1e-6, rtol: 1e-6, "scatterAdd")

        let (dSrc, dW) = (backend.makeTensor([index.count, cols]), backend.makeTensor([index.count]))
        backend.scatterAddRowsBackward(dDst: backend.tensor([tokens, cols], up), src: srcT, index: indexT, weight: wT, dSrc: dSrc, dWeight: dW)
        expectClose(backend.downloadFloats(dSrc), numericalGradient(of: { f($0, w.doubles) }, at: src.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "scatterAdd dSrc")
        expectClose(backend.downloadFloats(dW), numericalGradient(of: { f(src.doubles, $0) }, at: w.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "scatterAdd dWeight")
    }

    @Test func stableArgsortKeepsInputOrderWithinAKey() {
        var random = TestRandom(seed: 62)
        let keyCount = 5
        let keys = (0..<40).map { _ in Int32(random.int(below: keyCount - 1)) }  // key 4 stays empty
        let order = backend.makeTensor([keys.count], dtype: .int32), counts = backend.makeTensor([keyCount], dtype: .int32)
        backend.stableArgsort(keys: backend.intTensor([keys.count], keys), keyCount: keyCount, order: order, counts: counts)
        let expected = keys.indices.sorted { (keys[$0], $0) < (keys[$1], $1) }.map(Int32.init)
        #expect(backend.downloadInts(order) == expected)
        #expect(backend.downloadInts(counts) == (0..<keyCount).map { k in Int32(keys.filter { $0 == k }.count) })
    }

    @Test func embeddingForwardAndBackward() {
        var random = TestRandom(seed: 63)
        let (vocab, h) = (5, 3)
        let tokens: [Int32] = [4, 1, 4, 0]
        let table = random.floats(vocab * h), up = random.floats(tokens.count * h)
        let tokensT = backend.intTensor([tokens.count], tokens), out = backend.makeTensor([tokens.count, h])
        backend.embeddingForward(tokens: tokensT, table: backend.tensor([vocab, h], table), out: out)
        #expect(backend.downloadFloats(out).doubles == referenceGather(table.doubles, index: tokens, cols: h))
        let dTable = backend.makeTensor([vocab, h])
        backend.embeddingBackward(tokens: tokensT, dOut: backend.tensor([tokens.count, h], up), dTable: dTable)
        expectClose(backend.downloadFloats(dTable),
                    numericalGradient(of: { referenceGather($0, index: tokens, cols: h) }, at: table.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "embedding dTable")
    }
}
