import XMoECompute

/// One row-major product C = alpha · op(A) · op(B) + beta · C, with device addresses.
struct RowMajorGemm {
    var transA: Bool, transB: Bool
    var m: Int, n: Int, k: Int
    var a: UnsafeMutableRawPointer, lda: Int
    var b: UnsafeMutableRawPointer, ldb: Int
    var c: UnsafeMutableRawPointer, ldc: Int
}

/// The same product as cuBLAS (column-major) sees it. A row-major matrix with leading dimension
/// ld is its transpose in column-major terms with the same ld, so row-major C = op(A)·op(B) is
/// column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands and m with n, keep each operand's own
/// transpose flag.
struct ColumnMajorGemm: Equatable {
    var opFirst: Int32, opSecond: Int32
    var m: Int32, n: Int32, k: Int32
    var first: UnsafeMutableRawPointer, ldFirst: Int32
    var second: UnsafeMutableRawPointer, ldSecond: Int32
    var c: UnsafeMutableRawPointer, ldc: Int32

    init(_ p: RowMajorGemm) {
        opFirst = p.transB ? CUBLASAPI.opT : CUBLASAPI.opN
        opSecond = p.transA ? CUBLASAPI.opT : CUBLASAPI.opN
        (m, n, k) = (Int32(p.n), Int32(p.m), Int32(p.k))
        (first, ldFirst) = (p.b, Int32(p.ldb))
        (second, ldSecond) = (p.a, Int32(p.lda))
        (c, ldc) = (p.c, Int32(p.ldc))
    }
}

// Every product goes to cuBLAS through ColumnMajorGemm.
extension CUDABackend {
    public func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: Tensor, aOffset: Int, lda: Int, b: Tensor, bOffset: Int, ldb: Int,
        beta: Float, c: Tensor, cOffset: Int, ldc: Int
    ) {
        let bf16 = bf16Operands(a, b, c, "gemm")
        if m == 0 || n == 0 { return }
        let p = RowMajorGemm(transA: transA, transB: transB, m: m, n: n, k: k,
                             a: devicePointer(a, elementOffset: aOffset), lda: lda,
                             b: devicePointer(b, elementOffset: bOffset), ldb: ldb,
                             c: devicePointer(c, elementOffset: cOffset), ldc: ldc)
        if bf16 { runBF16(p, alpha: alpha, beta: beta) } else { run(p, alpha: alpha, beta: beta) }
    }

    public func batchedGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: Tensor, aOffset: Int, lda: Int, strideA: Int,
        b: Tensor, bOffset: Int, ldb: Int, strideB: Int,
        beta: Float, c: Tensor, cOffset: Int, ldc: Int, strideC: Int, batchCount: Int
    ) {
        let bf16 = bf16Operands(a, b, c, "batchedGemm")
        if m == 0 || n == 0 || batchCount == 0 { return }
        if bf16 {
            let p = RowMajorGemm(transA: transA, transB: transB, m: m, n: n, k: k,
                                 a: devicePointer(a, elementOffset: aOffset), lda: lda,
                                 b: devicePointer(b, elementOffset: bOffset), ldb: ldb,
                                 c: devicePointer(c, elementOffset: cOffset), ldc: ldc)
            return runStridedBF16(p, strideA: strideA, strideB: strideB, strideC: strideC, batchCount: batchCount,
                                  alpha: alpha, beta: beta)
        }
        if k == 0 {
            for i in 0..<batchCount {
                gemm(transA: transA, transB: transB, m: m, n: n, k: 0, alpha: alpha, a: a, aOffset: aOffset, lda: lda,
                     b: b, bOffset: bOffset, ldb: ldb, beta: beta, c: c, cOffset: cOffset + i * strideC, ldc: ldc)
            }
            return
        }
        var (alpha, beta) = (alpha, beta)
        let q = ColumnMajorGemm(RowMajorGemm(transA: transA, transB: transB, m: m, n: n, k: k,
                                             a: devicePointer(a, elementOffset: aOffset), lda: lda,
                                             b: devicePointer(b, elementOffset: bOffset), ldb: ldb,
                                             c: devicePointer(c, elementOffset: cOffset), ldc: ldc))
        context.checkBlas(context.cublas.sgemmStridedBatched(
            context.blas, q.opFirst, q.opSecond, q.m, q.n, q.k, &alpha, q.first, q.ldFirst, Int64(strideB),
            q.second, q.ldSecond, Int64(strideA), &beta, q.c, q.ldc, Int64(strideC), Int32(batchCount)),
            "cublasSgemmStridedBatched(m \(m), n \(n), k \(k), batch \(batchCount))")
    }

    public func groupedGemm(
        transB: Bool, k: Int, n: Int, alpha: Float, a: Tensor, w: Tensor, beta: Float, c: Tensor,
        rowOffsets: [Int], rowCounts: [Int]
    ) {
        precondition(a.columns == k && c.columns == n, "groupedGemm: a \(a.shape), c \(c.shape), expected k=\(k), n=\(n) columns")
        precondition(w.count == rowCounts.count * k * n, "groupedGemm: weights \(w.shape) are not \(rowCounts.count)×\(k)×\(n)")
        // A bf16 c is written (beta 0) and rounded once: in the kernel's epilogue, or through fp32 below.
        let bf16C = c.dtype == .bfloat16
        if bf16C {
            precondition(beta == 0 && a.dtype == .bfloat16 && w.dtype == .bfloat16, "groupedGemm: a bf16 c takes bf16 operands and beta 0")
        }
        let bf16 = bf16C || bf16Operands(a, w, c, "groupedGemm")
        guard n > 0 else { return }
        let layout: ExpertGemmKernelLayout = transB ? .weightsKContiguous : .weightsNContiguous
        if bf16 && alpha == 1 && expertKernelTakes(layout, k: k, n: n, a, w, c) {
            // The sm_90a kernel: one launch for all experts, no per-expert host work (the forward's
            // per-expert cuBLASLt calls cost ~0.75 ms of host time each, NOTES.md, session 6).
            expertGemmKernelBF16(layout, k: k, n: n, a: devicePointer(a), aRows: a.count / k, b: devicePointer(w), beta: beta,
                                 c: devicePointer(c), output: bf16C ? .bfloat16 : .float32, rowOffsets: rowOffsets, rowCounts: rowCounts)
            return
        }
        if bf16C {
            let wide = makeOutput(c.shape)
            groupedGemm(transB: transB, k: k, n: n, alpha: alpha, a: a, w: w, beta: 0, c: wide, rowOffsets: rowOffsets, rowCounts: rowCounts)
            return convertSegmentRows(wide, into: c, rowOffsets: rowOffsets, rowCounts: rowCounts)
        }
        if bf16 && k > 0 {
            // Per-expert cuBLAS over a stream pool: 1.4–1.7× faster than cublasGemmGroupedBatchedEx on the
            // H200 at X-MoE Small shape, bit-identical whatever the stream count (NOTES.md, c3).
            expertGemmBF16(.rows(transB: transB), k: k, n: n, alpha: alpha, a: devicePointer(a), b: devicePointer(w), beta: beta,
                           c: devicePointer(c), output: .float32, rowOffsets: rowOffsets, rowCounts: rowCounts)
            return
        }
        let plan = GroupedGemmPlan(rowOffsets: rowOffsets, rowCounts: rowCounts)
        let problems = plan.groups.indices.map { i in
            RowMajorGemm(transA: false, transB: transB, m: plan.rowCounts[i], n: n, k: k,
                         a: devicePointer(a, elementOffset: plan.rowOffsets[i] * k), lda: k,
                         b: devicePointer(w, elementOffset: plan.groups[i] * k * n), ldb: transB ? k : n,
                         c: devicePointer(c, elementOffset: plan.rowOffsets[i] * n), ldc: n)
        }
        if bf16 { runGroupedBF16(problems, alpha: alpha, beta: beta) } else { runGrouped(problems, alpha: alpha, beta: beta) }
    }

    /// The bias inside the kernel's epilogue where the product goes to the kernel (bf16 operands,
    /// fp32 bias): no second pass over the [rows, n] output (NOTES.md, session 8). A bf16 output is
    /// rounded there too, after the bias (the fp32 sums, rounded once: what the unfused path's
    /// product, bias pass and convert give, without the fp32 rows).
    public func groupedLinearForward(x: Tensor, w: Tensor, b: Tensor?, rowOffsets: [Int], rowCounts: [Int], out: Tensor) {
        let (k, n) = (x.columns, out.columns)
        precondition(w.shape == [rowCounts.count, k, n], "groupedLinearForward: w \(w.shape), expected [\(rowCounts.count), \(k), \(n)]")
        let output: ExpertGemmOutput? = switch out.dtype {
        case .float32: .float32
        case .bfloat16: .bfloat16
        default: nil
        }
        guard let output, b.map({ $0.dtype == .float32 && $0.count == rowCounts.count * n }) ?? true,
              x.dtype == .bfloat16, w.dtype == .bfloat16, expertKernelTakes(.weightsNContiguous, k: k, n: n, x, w, out),
              b.map({ Int(bitPattern: devicePointer($0)) % 16 == 0 }) ?? true else {
            return groupedLinearForwardUnfused(x: x, w: w, b: b, rowOffsets: rowOffsets, rowCounts: rowCounts, out: out)
        }
        checkSegments(rowOffsets, rowCounts, rows: out.rows, "groupedLinearForward")
        expertGemmKernelBF16(.weightsNContiguous, k: k, n: n, a: devicePointer(x), aRows: x.count / k, b: devicePointer(w), beta: 0,
                             c: devicePointer(out), output: output, rowOffsets: rowOffsets, rowCounts: rowCounts,
                             bias: b.map { devicePointer($0) })
    }

    public func groupedGemmWeightGrad(
        k: Int, n: Int, a: Tensor, dC: Tensor, dW: Tensor, rowOffsets: [Int], rowCounts: [Int], overwrite: Bool
    ) {
        precondition(a.columns == k && dC.columns == n, "groupedGemmWeightGrad: a \(a.shape), dC \(dC.shape), expected k=\(k), n=\(n) columns")
        precondition(dW.count == rowCounts.count * k * n, "groupedGemmWeightGrad: dW \(dW.shape) is not \(rowCounts.count)×\(k)×\(n)")
        let bf16 = bf16Operands(a, dC, dW, "groupedGemmWeightGrad")
        guard k > 0, n > 0 else { return }
        let beta: Float = overwrite ? 0 : 1
        // The kernel where it overwrites (0.70–0.73 ms at X-MoE Small against cuBLASLt's 0.75–0.77);
        // adding into dW it took 1.8 ms (its read of dW after the reduction is slow), so gradient
        // accumulation keeps cuBLASLt (NOTES.md, session 8, call 2).
        if bf16 && overwrite && expertKernelTakes(.weightGradient, k: k, n: n, a, dC, dW) {
            expertGemmKernelBF16(.weightGradient, k: k, n: n, a: devicePointer(a), aRows: min(a.count / k, dC.count / n), b: devicePointer(dC),
                                 beta: beta, c: devicePointer(dW), output: .float32, rowOffsets: rowOffsets, rowCounts: rowCounts)
            return
        }
        if bf16 {
            expertGemmBF16(.weightGradient, k: k, n: n, a: devicePointer(a), b: devicePointer(dC), beta: beta, c: devicePointer(dW),
                           output: .float32, rowOffsets: rowOffsets, rowCounts: rowCounts)
            return
        }
        if overwrite {
            for g in rowCounts.indices where rowCounts[g] == 0 { zero(dW.view(offset: g * k * n, shape: [k * n])) }
        }
        let plan = GroupedGemmPlan(rowOffsets: rowOffsets, rowCounts: rowCounts)
        let problems = plan.groups.indices.map { i in
            RowMajorGemm(transA: true, transB: false, m: k, n: n, k: plan.rowCounts[i],
                         a: devicePointer(a, elementOffset: plan.rowOffsets[i] * k), lda: k,
                         b: devicePointer(dC, elementOffset: plan.rowOffsets[i] * n), ldb: n,
                         c: devicePointer(dW, elementOffset: plan.groups[i] * k * n), ldc: n)
        }
        runGrouped(problems, alpha: 1, beta: beta)
    }

    func run(_ p: RowMajorGemm, alpha: Float, beta: Float) {
        if p.k == 0 {
            // BLAS semantics (C = beta · C) without relying on how a cuBLAS version treats k = 0.
            if beta != 1 {
                context.launch("xmoe_scale_matrix", .elementwise(count: p.m * p.n),
                               [.pointer(p.c), .int64(Int64(p.m)), .int64(Int64(p.n)), .int64(Int64(p.ldc)), .float(beta)])
            }
            return
        }
        var (alpha, beta) = (alpha, beta)
        let q = ColumnMajorGemm(p)
        context.checkBlas(context.cublas.sgemm(context.blas, q.opFirst, q.opSecond, q.m, q.n, q.k, &alpha, q.first, q.ldFirst,
                                               q.second, q.ldSecond, &beta, q.c, q.ldc),
                          "cublasSgemm(m \(p.m), n \(p.n), k \(p.k))")
    }

    /// All problems in one cublasSgemmGroupedBatched call (problems of one shape share a group), or
    /// one cublasSgemm each where cuBLAS is older than 12.5 (or for the degenerate k = 0).
    func runGrouped(_ problems: [RowMajorGemm], alpha: Float, beta: Float) {
        guard !problems.isEmpty else { return }
        guard let grouped = context.cublas.sgemmGroupedBatched, problems.allSatisfy({ $0.k > 0 }) else {
            for p in problems { run(p, alpha: alpha, beta: beta) }
            return
        }
        let call = GroupedGemmCall(problems.map(ColumnMajorGemm.init))
        let device = uploadPointers(call)
        let g = call.groupCount
        let alphas = [Float](repeating: alpha, count: g), betas = [Float](repeating: beta, count: g)
        context.checkBlas(grouped(
            context.blas, call.opFirst, call.opSecond, call.m, call.n, call.k, alphas, device.first, call.ldFirst,
            device.second, call.ldSecond, betas, device.c, call.ldc, Int32(g), call.groupSizes),
            "cublasSgemmGroupedBatched(\(call.problemCount) problems in \(g) groups)")
    }
}
