import Testing
@testable import XMoEComputeCUDA

/// The row-major → column-major mapping, checked by running a textbook column-major GEMM (what
/// cuBLAS computes) on the mapped arguments and comparing with a row-major product in Double.
@Suite struct GemmMappingTests {
    /// Column-major C = alpha · op(A) · op(B) + beta · C, BLAS reference semantics.
    func columnMajorGemm(_ q: ColumnMajorGemm, alpha: Float, beta: Float) {
        let (a, b, c) = (q.first.assumingMemoryBound(to: Float.self), q.second.assumingMemoryBound(to: Float.self),
                         q.c.assumingMemoryBound(to: Float.self))
        for j in 0..<Int(q.n) {
            for i in 0..<Int(q.m) {
                var sum: Double = 0
                for l in 0..<Int(q.k) {
                    let aIL = q.opFirst == CUBLASAPI.opN ? a[i + l * Int(q.ldFirst)] : a[l + i * Int(q.ldFirst)]
                    let bLJ = q.opSecond == CUBLASAPI.opN ? b[l + j * Int(q.ldSecond)] : b[j + l * Int(q.ldSecond)]
                    sum += Double(aIL) * Double(bLJ)
                }
                let index = i + j * Int(q.ldc)
                c[index] = Float(Double(alpha) * sum + Double(beta) * Double(c[index]))
            }
        }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func mappedCallComputesTheRowMajorProduct(transA: Bool, transB: Bool) {
        let (m, n, k) = (3, 5, 4)
        let lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3
        var a = (0..<((transA ? k : m) * lda)).map { Float(($0 * 7) % 11) - 5 }
        var b = (0..<((transB ? n : k) * ldb)).map { Float(($0 * 5) % 13) - 6 }
        var c = (0..<(m * ldc)).map { Float($0 % 3) }
        var expected = c.map(Double.init)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for l in 0..<k {
                    let x = transA ? a[l * lda + i] : a[i * lda + l]
                    let y = transB ? b[j * ldb + l] : b[l * ldb + j]
                    sum += Double(x) * Double(y)
                }
                expected[i * ldc + j] = 2 * sum + 0.5 * expected[i * ldc + j]
            }
        }
        a.withUnsafeMutableBytes { pa in
            b.withUnsafeMutableBytes { pb in
                c.withUnsafeMutableBytes { pc in
                    let p = RowMajorGemm(transA: transA, transB: transB, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                                         b: pb.baseAddress!, ldb: ldb, c: pc.baseAddress!, ldc: ldc)
                    columnMajorGemm(ColumnMajorGemm(p), alpha: 2, beta: 0.5)
                }
            }
        }
        let got = c.map(Double.init)
        #expect(got == expected)
    }
}
