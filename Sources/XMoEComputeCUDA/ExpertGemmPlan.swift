/// The experts' GEMMs as a list of independent per-expert products, each placed on one of a few
/// streams. Measured on the H200 (Benchmarks/gpu/NOTES.md, c3): one cublasGemmEx per expert beats
/// cuBLAS's grouped kernel (cublasGemmGroupedBatchedEx) by 1.4–1.8×, and a second stream helps the
/// backward shapes. Each product is computed by one cuBLAS call on one handle with its own
/// workspace, so the result does not depend on which stream ran it: bit-identical run to run.
public enum ExpertGemmShape: Equatable, Sendable {
    /// c[seg_g] = a[seg_g] · op(w_g) + beta · c[seg_g]; w_g is [k, n], or [n, k] with transB.
    /// The data gradient dA = dC · W_gᵀ is this shape with transB.
    case rows(transB: Bool)
    /// dW_g = a[seg_g]ᵀ · dC[seg_g] + beta · dW_g: a reduction over the expert's rows; a zero-row
    /// expert still owns its dW_g (scaled by beta).
    case weightGradient
}

/// Which expert runs on which stream: experts with rows are dealt, in expert order, to the stream
/// with the fewest rows so far (ties to the lowest stream), so the streams finish together when
/// counts are uneven. Depends only on the counts: the same counts give the same schedule.
public struct ExpertStreamSchedule: Equatable, Sendable {
    /// For each stream, the experts it runs, in expert order.
    public var experts: [[Int]]
    /// Rows per stream (the load the deal balances).
    public var rows: [Int]

    public init(rowCounts: [Int], streams: Int) {
        precondition(streams >= 1, "at least one stream")
        experts = Array(repeating: [], count: streams)
        rows = Array(repeating: 0, count: streams)
        for (g, count) in rowCounts.enumerated() where count > 0 {
            let s = rows.indices.min { (rows[$0], $0) < (rows[$1], $1) }!
            experts[s].append(g)
            rows[s] += count
        }
    }

    /// Streams that have at least one expert.
    public var busyStreams: Int { experts.filter { !$0.isEmpty }.count }
}

/// One expert's product in row-major terms, for an element size of 2 (bf16 operands) and an output
/// element size of 2 or 4.
struct ExpertGemmProblem {
    var expert: Int
    var gemm: RowMajorGemm
}

/// Builds the per-expert products of one grouped GEMM on device (or, in tests, host) addresses.
/// `a` holds the routed rows [Σrows, k]; `b` the experts' weights [E, k, n] (or [E, n, k] with
/// transB), or for the weight gradient the output gradient dC [Σrows, n]; `c` the outputs
/// [Σrows, n], or the weight gradients [E, k, n], in elements of `outputBytes` each.
enum ExpertGemmProblems {
    static func make(
        _ shape: ExpertGemmShape, k: Int, n: Int, a: UnsafeMutableRawPointer, b: UnsafeMutableRawPointer,
        c: UnsafeMutableRawPointer, operandBytes: Int, outputBytes: Int, rowOffsets: [Int], rowCounts: [Int]
    ) -> [ExpertGemmProblem] {
        precondition(rowOffsets.count == rowCounts.count, "\(rowOffsets.count) offsets, \(rowCounts.count) counts")
        var problems: [ExpertGemmProblem] = []
        for g in rowCounts.indices where rowCounts[g] > 0 {
            let rows = rowCounts[g], start = rowOffsets[g]
            switch shape {
            case .rows(let transB):
                problems.append(ExpertGemmProblem(expert: g, gemm: RowMajorGemm(
                    transA: false, transB: transB, m: rows, n: n, k: k,
                    a: a + operandBytes * start * k, lda: k,
                    b: b + operandBytes * g * k * n, ldb: transB ? k : n,
                    c: c + outputBytes * start * n, ldc: n)))
            case .weightGradient:
                problems.append(ExpertGemmProblem(expert: g, gemm: RowMajorGemm(
                    transA: true, transB: false, m: k, n: n, k: rows,
                    a: a + operandBytes * start * k, lda: k,
                    b: b + operandBytes * start * n, ldb: n,
                    c: c + outputBytes * g * k * n, ldc: n)))
            }
        }
        return problems
    }
}
