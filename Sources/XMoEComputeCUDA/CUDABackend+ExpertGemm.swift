import XMoECompute

/// The element type an expert GEMM writes: bf16 activations, or fp32 (gradients accumulated with
/// beta = 1 into fp32 buffers). Operands are always bf16, accumulation always fp32.
public enum ExpertGemmOutput: Sendable {
    case bfloat16, float32

    var bytes: Int { self == .bfloat16 ? 2 : 4 }
    var cudaType: Int32 { self == .bfloat16 ? CUBLASAPI.dataBFloat16 : CUBLASAPI.dataFloat32 }
}

extension BF16Buffer {
    /// The buffer's device address, for `expertGemmBF16`.
    public var devicePointer: UnsafeMutableRawPointer { pointer }
}

// The experts' bf16 GEMMs (forward, data gradient, weight gradient) as one cuBLASLt matmul per
// expert with rows (an algorithm cached per shape class, CUBLASLt.swift; cublasGemmEx where
// cuBLASLt is missing or has no algorithm), spread over up to `expertGemmMaxStreams` streams. On raw device addresses, so that the
// bf16 tensors of the core change (DType.bfloat16) can call it without a new Backend method.
extension CUDABackend {
    /// Streams the per-expert GEMMs may use, the backend's own included.
    public static let expertGemmMaxStreams = 4
    /// The defaults measured on the H200 (Benchmarks/gpu/NOTES.md, c3): a second stream is worth
    /// 8–17% for the row-shaped products (a fourth loses again); the weight gradient, whose fp32
    /// read-modify-write of dW makes each product memory-heavy, gains most from four.
    public static func expertGemmDefaultStreams(_ shape: ExpertGemmShape) -> Int { shape == .weightGradient ? 4 : 2 }

    /// The device address of an fp32 tensor's first element, for `expertGemmBF16`'s fp32 outputs.
    public func deviceAddress(of tensor: Tensor) -> UnsafeMutableRawPointer { devicePointer(tensor) }

    /// One grouped GEMM over the experts' row segments (see `ExpertGemmShape`): bf16 `a` and `b`,
    /// `c` of `output` type, c = alpha · product + beta · c. Zero-row experts cost nothing, except
    /// for the weight gradient, where their dW_g is scaled by beta (zeroed when beta = 0).
    public func expertGemmBF16(
        _ shape: ExpertGemmShape, k: Int, n: Int, alpha: Float = 1,
        a: UnsafeMutableRawPointer, b: UnsafeMutableRawPointer, beta: Float,
        c: UnsafeMutableRawPointer, output: ExpertGemmOutput,
        rowOffsets: [Int], rowCounts: [Int], streams: Int? = nil
    ) {
        guard let gemmEx = context.cublas.gemmEx else { fatalError("CUDA backend: this cuBLAS has no cublasGemmEx") }
        precondition(k > 0 && n > 0, "expertGemmBF16: k \(k), n \(n) must be positive")
        if shape == .weightGradient, beta != 1 {
            for g in rowCounts.indices where rowCounts[g] == 0 { scaleExpertBlock(c + output.bytes * g * k * n, count: k * n, beta: beta, output) }
        }
        let problems = ExpertGemmProblems.make(shape, k: k, n: n, a: a, b: b, c: c, operandBytes: 2, outputBytes: output.bytes,
                                               rowOffsets: rowOffsets, rowCounts: rowCounts)
        guard !problems.isEmpty else { return }
        let pool = expertStreams
        let wanted = streams ?? Self.expertGemmDefaultStreams(shape)
        let schedule = ExpertStreamSchedule(rowCounts: rowCounts, streams: min(max(wanted, 1), pool.count))
        let problemOf = Dictionary(uniqueKeysWithValues: problems.enumerated().map { ($1.expert, $0) })
        let used = schedule.experts.lastIndex { !$0.isEmpty }.map { $0 + 1 } ?? 1
        pool.fork(from: context.stream, used: used, context)
        var (alpha, beta) = (alpha, beta)
        let bf16 = CUBLASAPI.dataBFloat16
        let lt = expertGemmUsesLt ? ltGemm : nil
        for (s, experts) in schedule.experts.enumerated() {
            let handle = s == 0 ? context.blas : pool.handles[s - 1]
            let stream = s == 0 ? context.stream : pool.streams[s - 1]
            for g in experts {
                guard let i = problemOf[g] else { fatalError("expert \(g) is scheduled but has no product") }
                let q = ColumnMajorGemm(problems[i].gemm)
                if let lt {
                    do {
                        if try lt.runner.run(q, alpha: alpha, beta: beta, outputType: output.cudaType, workspace: lt.workspaces[s].pointer,
                                             stream: stream) { continue }
                    } catch { fatalError("CUDA backend: \(error)") }
                }
                context.checkBlas(gemmEx(handle, q.opFirst, q.opSecond, q.m, q.n, q.k, &alpha, q.first, bf16, q.ldFirst,
                                         q.second, bf16, q.ldSecond, &beta, q.c, output.cudaType, q.ldc, CUBLASAPI.compute32F,
                                         CUBLASAPI.gemmDefaultAlgorithm),
                                  "cublasGemmEx bf16 expert \(problems[i].expert) (m \(problems[i].gemm.m), n \(n), k \(problems[i].gemm.k))")
            }
        }
        pool.join(into: context.stream, used: used, context)
    }

    /// dW_g of a zero-row expert: beta · dW_g on the backend's stream (before the fork).
    func scaleExpertBlock(_ block: UnsafeMutableRawPointer, count: Int, beta: Float, _ output: ExpertGemmOutput) {
        if beta == 0 {
            context.checkRuntime(context.runtime.memsetAsync(block, 0, count * output.bytes, context.stream), "cudaMemsetAsync (zero-row expert)")
            return
        }
        precondition(output == .float32, "expertGemmBF16: a bf16 weight gradient takes beta 0 or 1, not \(beta)")
        context.launch("xmoe_scale_matrix", .elementwise(count: count),
                       [.pointer(block), .int64(1), .int64(Int64(count)), .int64(Int64(count)), .float(beta)])
    }
}
