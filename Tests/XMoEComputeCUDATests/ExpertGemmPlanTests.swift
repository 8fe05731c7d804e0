import Testing
@testable import XMoEComputeCUDA

/// The host side of the per-expert GEMMs: which expert runs on which stream, and the per-expert
/// products (addresses, shapes, transposes) checked by running them through the column-major
/// BLAS semantics cuBLAS implements and comparing with a grouped product computed in Double.
@Suite struct ExpertGemmPlanTests {
    @Test func scheduleDealsExpertsToTheLeastLoadedStream() {
        // By hand: 0 (5 rows) → s0; 2 (3) → s1; 3 (3) → s1 (3 < 5); 4 (1) → s0 (5 < 6); expert 1 has no rows.
        let schedule = ExpertStreamSchedule(rowCounts: [5, 0, 3, 3, 1], streams: 2)
        let expected = [[0, 4], [2, 3]]
        let rows = schedule.rows
        #expect(schedule.experts == expected)
        #expect(rows == [6, 6])
    }

    @Test(arguments: [1, 2, 3, 4])
    func scheduleRunsEveryExpertWithRowsOnceAndBalances(streams: Int) {
        var counts = (0..<64).map { 768 + ($0 * 37) % 257 - 128 }
        counts[5] = 0
        counts[17] = 0
        let schedule = ExpertStreamSchedule(rowCounts: counts, streams: streams)
        let scheduled = schedule.experts.flatMap { $0 }.sorted()
        let withRows = counts.indices.filter { counts[$0] > 0 }
        #expect(scheduled == withRows)
        let inOrder = schedule.experts.allSatisfy { $0 == $0.sorted() }
        #expect(inOrder)
        let loads = schedule.experts.map { $0.reduce(0) { $0 + counts[$1] } }
        #expect(loads == schedule.rows)
        // A greedy deal never leaves two streams further apart than the largest expert.
        let spread = schedule.rows.max()! - schedule.rows.min()!
        let largest = counts.max()!
        #expect(spread <= largest)
        let again = ExpertStreamSchedule(rowCounts: counts, streams: streams)
        #expect(again == schedule)
    }

    @Test func scheduleOfOnlyEmptyExpertsIsEmpty() {
        let schedule = ExpertStreamSchedule(rowCounts: [0, 0, 0], streams: 2)
        let busy = schedule.busyStreams
        #expect(busy == 0)
    }

    /// Column-major C = op(A) · op(B) + beta · C as cuBLAS defines it, in Double.
    func columnMajorGemm(_ q: ColumnMajorGemm, beta: Double) {
        let (a, b, c) = (q.first.assumingMemoryBound(to: Float.self), q.second.assumingMemoryBound(to: Float.self),
                         q.c.assumingMemoryBound(to: Float.self))
        for j in 0..<Int(q.n) {
            for i in 0..<Int(q.m) {
                var sum = 0.0
                for l in 0..<Int(q.k) {
                    let x = q.opFirst == CUBLASAPI.opN ? a[i + l * Int(q.ldFirst)] : a[l + i * Int(q.ldFirst)]
                    let y = q.opSecond == CUBLASAPI.opN ? b[l + j * Int(q.ldSecond)] : b[j + l * Int(q.ldSecond)]
                    sum += Double(x) * Double(y)
                }
                let index = i + j * Int(q.ldc)
                c[index] = Float(sum + beta * Double(c[index]))
            }
        }
    }

    @Test(arguments: [ExpertGemmShape.rows(transB: false), .rows(transB: true), .weightGradient])
    func problemsComputeTheGroupedProduct(shape: ExpertGemmShape) {
        let counts = [2, 0, 3, 1], offsets = [0, 2, 2, 5]
        let (rows, e, k, n) = (6, 4, 3, 5)
        let beta = 0.5
        var a = (0..<(rows * k)).map { Float(($0 * 7) % 11) - 5 }
        var b = (0..<(shape == .weightGradient ? rows * n : e * k * n)).map { Float(($0 * 5) % 13) - 6 }
        let cCount = shape == .weightGradient ? e * k * n : rows * n
        var c = (0..<cCount).map { Float($0 % 3) }
        // The reference, straight from the definitions.
        var expected = c.map { Double($0) * beta }
        for g in 0..<e {
            for r in offsets[g]..<(offsets[g] + counts[g]) {
                switch shape {
                case .rows(let transB):
                    for j in 0..<n {
                        for l in 0..<k {
                            let weight = transB ? b[g * k * n + j * k + l] : b[g * k * n + l * n + j]
                            expected[r * n + j] += Double(a[r * k + l]) * Double(weight)
                        }
                    }
                case .weightGradient:
                    for i in 0..<k {
                        for j in 0..<n { expected[g * k * n + i * n + j] += Double(a[r * k + i]) * Double(b[r * n + j]) }
                    }
                }
            }
        }
        a.withUnsafeMutableBytes { pa in
            b.withUnsafeMutableBytes { pb in
                c.withUnsafeMutableBytes { pc in
                    let problems = ExpertGemmProblems.make(shape, k: k, n: n, a: pa.baseAddress!, b: pb.baseAddress!, c: pc.baseAddress!,
                                                           operandBytes: 4, outputBytes: 4, rowOffsets: offsets, rowCounts: counts)
                    let experts = problems.map(\.expert)
                    #expect(experts == [0, 2, 3])
                    for p in problems { columnMajorGemm(ColumnMajorGemm(p.gemm), beta: beta) }
                }
            }
        }
        // The zero-row expert's rows (none) or dW block: the products leave it alone (the backend
        // scales it by beta before the products), so apply beta to it here as the backend does.
        if shape == .weightGradient { for i in (k * n)..<(2 * k * n) { c[i] = Float(Double(c[i]) * beta) } }
        let worst = zip(c, expected).map { abs(Double($0) - $1) }.max()!
        #expect(worst < 1e-9)
    }
}
