import Testing
@testable import XMoECompute

/// C = alpha · op(A) · op(B) + beta · C with explicit offsets and leading dimensions, in float64.
func referenceGemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
    a: [Double], aOffset: Int, lda: Int, b: [Double], bOffset: Int, ldb: Int,
    beta: Double, c: [Double], cOffset: Int, ldc: Int
) -> [Double] {
    var c = c
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let av = transA ? a[aOffset + p * lda + i] : a[aOffset + i * lda + p]
                let bv = transB ? b[bOffset + j * ldb + p] : b[bOffset + p * ldb + j]
                sum += av * bv
            }
            c[cOffset + i * ldc + j] = alpha * sum + beta * c[cOffset + i * ldc + j]
        }
    }
    return c
}

@Suite struct GemmTests {
    let backend = CPUBackend()

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func gemmMatchesTripleLoop(transA: Bool, transB: Bool) {
        var random = TestRandom(seed: 1)
        let (m, n, k) = (5, 7, 3)
        // Padded leading dimensions and offsets: sub-matrices of larger buffers.
        let lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3
        let (aOff, bOff, cOff) = (3, 2, 4)
        let aValues = random.floats(aOff + (transA ? k : m) * lda)
        let bValues = random.floats(bOff + (transB ? n : k) * ldb)
        let cValues = random.floats(cOff + m * ldc)
        let (a, b, c) = (backend.tensor([aValues.count], aValues), backend.tensor([bValues.count], bValues),
                         backend.tensor([cValues.count], cValues))
        backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75,
                     a: a, aOffset: aOff, lda: lda, b: b, bOffset: bOff, ldb: ldb,
                     beta: 0.5, c: c, cOffset: cOff, ldc: ldc)
        let expected = referenceGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75,
                                     a: aValues.doubles, aOffset: aOff, lda: lda, b: bValues.doubles, bOffset: bOff, ldb: ldb,
                                     beta: 0.5, c: cValues.doubles, cOffset: cOff, ldc: ldc)
        expectClose(backend.downloadFloats(c), expected, atol: 1e-5, rtol: 1e-5, "gemm(\(transA), \(transB))")
    }

    @Test func batchedGemmMatchesTripleLoops() {
        var random = TestRandom(seed: 2)
        let (m, n, k, batches) = (3, 4, 5, 3)
        let aValues = random.floats(batches * m * k), bValues = random.floats(batches * n * k)
        let a = backend.tensor([batches, m, k], aValues), b = backend.tensor([batches, n, k], bValues)
        let c = backend.makeTensor([batches, m, n])
        backend.batchedGemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1,
                            a: a, aOffset: 0, lda: k, strideA: m * k, b: b, bOffset: 0, ldb: k, strideB: n * k,
                            beta: 0, c: c, cOffset: 0, ldc: n, strideC: m * n, batchCount: batches)
        var expected = [Double](repeating: 0, count: batches * m * n)
        for i in 0..<batches {
            expected = referenceGemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1,
                                     a: aValues.doubles, aOffset: i * m * k, lda: k, b: bValues.doubles, bOffset: i * n * k, ldb: k,
                                     beta: 0, c: expected, cOffset: i * m * n, ldc: n)
        }
        expectClose(backend.downloadFloats(c), expected, atol: 1e-5, rtol: 1e-5, "batchedGemm")
    }

    @Test(arguments: [false, true])
    func groupedGemmUsesEachSegmentsWeights(transB: Bool) {
        var random = TestRandom(seed: 3)
        let (k, n) = (4, 3)
        let offsets = [0, 2, 2, 5], counts = [2, 0, 3, 1]  // an empty segment; row 6 belongs to none
        let rows = 7
        let aValues = random.floats(rows * k), wValues = random.floats(counts.count * k * n)
        let cValues = random.floats(rows * n)
        let c = backend.tensor([rows, n], cValues)
        backend.groupedGemm(transB: transB, k: k, n: n, alpha: 1, a: backend.tensor([rows, k], aValues),
                            w: backend.tensor([counts.count * k * n], wValues), beta: 0.5, c: c,
                            rowOffsets: offsets, rowCounts: counts)
        var expected = cValues.doubles
        for g in 0..<counts.count where counts[g] > 0 {
            expected = referenceGemm(transA: false, transB: transB, m: counts[g], n: n, k: k, alpha: 1,
                                     a: aValues.doubles, aOffset: offsets[g] * k, lda: k,
                                     b: wValues.doubles, bOffset: g * k * n, ldb: transB ? k : n,
                                     beta: 0.5, c: expected, cOffset: offsets[g] * n, ldc: n)
        }
        expectClose(backend.downloadFloats(c), expected, atol: 1e-5, rtol: 1e-5, "groupedGemm(transB: \(transB))")
        #expect(backend.downloadFloats(c)[(6 * n)...] == cValues[(6 * n)...])
    }

    @Test func groupedGemmWeightGradSumsSegmentRows() {
        var random = TestRandom(seed: 4)
        let (k, n) = (3, 2)
        let offsets = [0, 3], counts = [3, 2]
        let aValues = random.floats(5 * k), dcValues = random.floats(5 * n), dwValues = random.floats(2 * k * n)
        let dW = backend.tensor([2, k, n], dwValues)
        backend.groupedGemmWeightGrad(k: k, n: n, a: backend.tensor([5, k], aValues), dC: backend.tensor([5, n], dcValues),
                                      dW: dW, rowOffsets: offsets, rowCounts: counts)
        var expected = dwValues.doubles
        for g in 0..<2 {
            for p in 0..<k {
                for j in 0..<n {
                    for r in offsets[g]..<(offsets[g] + counts[g]) {
                        expected[g * k * n + p * n + j] += Double(aValues[r * k + p]) * Double(dcValues[r * n + j])
                    }
                }
            }
        }
        expectClose(backend.downloadFloats(dW), expected, atol: 1e-5, rtol: 1e-5, "groupedGemmWeightGrad")
    }

    /// Overwriting: dW_g = Σ_seg aᵀ·dC whatever dW held, and a zero-row expert's block becomes 0.
    @Test func groupedGemmWeightGradOverwritesEveryBlock() {
        var random = TestRandom(seed: 5)
        let (k, n) = (3, 2)
        let offsets = [0, 4, 4], counts = [4, 0, 1]
        let aValues = random.floats(5 * k), dcValues = random.floats(5 * n)
        let dW = backend.tensor([3, k, n], random.floats(3 * k * n).map { $0 + 7 })  // stale values, never read
        backend.groupedGemmWeightGrad(k: k, n: n, a: backend.tensor([5, k], aValues), dC: backend.tensor([5, n], dcValues),
                                      dW: dW, rowOffsets: offsets, rowCounts: counts, overwrite: true)
        var expected = [Double](repeating: 0, count: 3 * k * n)
        for g in 0..<3 {
            for p in 0..<k {
                for j in 0..<n {
                    for r in offsets[g]..<(offsets[g] + counts[g]) {
                        expected[g * k * n + p * n + j] += Double(aValues[r * k + p]) * Double(dcValues[r * n + j])
                    }
                }
            }
        }
        expectClose(backend.downloadFloats(dW), expected, atol: 1e-5, rtol: 1e-5, "groupedGemmWeightGrad(overwrite: true)")
        #expect(backend.downloadFloats(dW)[(k * n)..<(2 * k * n)].allSatisfy { $0 == 0 })
    }
}
