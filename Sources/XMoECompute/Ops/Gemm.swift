import COpenBLAS

// Every matrix product goes through OpenBLAS, but OpenBLAS's own threading is off: its results
// change with its thread count (measured: different bits for 1 and 2 threads). Instead `sgemm` cuts
// C into blocks of `gemmRowBlock` rows — a cut fixed by the shape alone — and runs one
// single-threaded cblas_sgemm per block on our threads, so every element's bits are the same for
// any thread count.
//
// bf16 (or f16) operands are widened to fp32 exactly and multiplied in fp32: the CPU reference of
// the GPU's bf16 GEMMs (see `withFloatOperand`).
extension CPUBackend {
    public func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: Tensor, aOffset: Int, lda: Int, b: Tensor, bOffset: Int, ldb: Int,
        beta: Float, c: Tensor, cOffset: Int, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        checkGemmDTypes(a, b, c, "gemm")
        let aSpan = checkBounds(a, offset: aOffset, rows: transA ? k : m, cols: transA ? m : k, ld: lda, "gemm A")
        let bSpan = checkBounds(b, offset: bOffset, rows: transB ? n : k, cols: transB ? k : n, ld: ldb, "gemm B")
        checkBounds(c, offset: cOffset, rows: m, cols: n, ld: ldc, "gemm C")
        withFloatOperand(a, offset: aOffset, span: aSpan) { a in
            withFloatOperand(b, offset: bOffset, span: bSpan) { b in
                sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c.floats.baseAddress! + cOffset, ldc)
            }
        }
    }

    public func batchedGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: Tensor, aOffset: Int, lda: Int, strideA: Int,
        b: Tensor, bOffset: Int, ldb: Int, strideB: Int,
        beta: Float, c: Tensor, cOffset: Int, ldc: Int, strideC: Int, batchCount: Int
    ) {
        for i in 0..<batchCount {
            gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                 a: a, aOffset: aOffset + i * strideA, lda: lda,
                 b: b, bOffset: bOffset + i * strideB, ldb: ldb,
                 beta: beta, c: c, cOffset: cOffset + i * strideC, ldc: ldc)
        }
    }

    public func groupedGemm(
        transB: Bool, k: Int, n: Int, alpha: Float, a: Tensor, w: Tensor, beta: Float, c: Tensor,
        rowOffsets: [Int], rowCounts: [Int]
    ) {
        precondition(rowOffsets.count == rowCounts.count, "groupedGemm: \(rowOffsets.count) offsets, \(rowCounts.count) counts")
        if c.dtype != .float32 {
            // A bf16 c: written (beta 0), the fp32 sums rounded once; rows outside the segments untouched.
            precondition(beta == 0, "groupedGemm: a \(c.dtype) c is written (beta 0), not \(beta)")
            let wide = makeOutput(c.shape)
            groupedGemm(transB: transB, k: k, n: n, alpha: alpha, a: a, w: w, beta: 0, c: wide, rowOffsets: rowOffsets, rowCounts: rowCounts)
            return convertSegmentRows(wide, into: c, rowOffsets: rowOffsets, rowCounts: rowCounts)
        }
        checkGemmDTypes(a, w, c, "groupedGemm")
        precondition(a.columns == k && c.columns == n, "groupedGemm: a \(a.shape), c \(c.shape), expected k=\(k), n=\(n) columns")
        expectCount(w, rowCounts.count * k * n, "groupedGemm weights")
        for g in 0..<rowCounts.count where rowCounts[g] > 0 {
            gemm(transA: false, transB: transB, m: rowCounts[g], n: n, k: k, alpha: alpha,
                 a: a, aOffset: rowOffsets[g] * k, lda: k,
                 b: w, bOffset: g * k * n, ldb: transB ? k : n,
                 beta: beta, c: c, cOffset: rowOffsets[g] * n, ldc: n)
        }
    }

    public func groupedGemmWeightGrad(
        k: Int, n: Int, a: Tensor, dC: Tensor, dW: Tensor, rowOffsets: [Int], rowCounts: [Int], overwrite: Bool
    ) {
        precondition(rowOffsets.count == rowCounts.count, "groupedGemmWeightGrad: \(rowOffsets.count) offsets, \(rowCounts.count) counts")
        checkGemmDTypes(a, dC, dW, "groupedGemmWeightGrad")
        precondition(a.columns == k && dC.columns == n, "groupedGemmWeightGrad: a \(a.shape), dC \(dC.shape), expected k=\(k), n=\(n) columns")
        expectCount(dW, rowCounts.count * k * n, "groupedGemmWeightGrad dW")
        for g in 0..<rowCounts.count {
            guard rowCounts[g] > 0 else {
                if overwrite { zero(dW.view(offset: g * k * n, shape: [k * n])) }
                continue
            }
            gemm(transA: true, transB: false, m: k, n: n, k: rowCounts[g], alpha: 1,
                 a: a, aOffset: rowOffsets[g] * k, lda: k,
                 b: dC, bOffset: rowOffsets[g] * n, ldb: n,
                 beta: overwrite ? 0 : 1, c: dW, cOffset: g * k * n, ldc: n)
        }
    }

    /// Raw row-major sgemm on host pointers, for kernels that already hold them.
    func sgemm(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS leaves C untouched when k = 0 only if beta = 1; make beta's meaning explicit.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        let blocks = (m + gemmRowBlock - 1) / gemmRowBlock
        nonisolated(unsafe) let (a, b, c) = (a, b, c)
        parallelFor(blocks) { range in
            for block in range {
                let row0 = block * gemmRowBlock
                let rows = min(gemmRowBlock, m - row0)
                // Rows row0..<row0+rows of op(A): rows of A, or columns of A when transposed.
                let aBlock = a + (transA ? row0 : row0 * lda)
                cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                            blasint(rows), blasint(n), blasint(k), alpha, aBlock, blasint(lda), b, blasint(ldb),
                            beta, c + row0 * ldc, blasint(ldc))
            }
        }
    }

    /// Rows of C per cblas_sgemm call; large enough that packing B once per block costs little.
    var gemmRowBlock: Int { 128 }

    /// Checks that the matrix lies inside `t`; returns how many elements it spans from `offset`.
    @discardableResult
    private func checkBounds(_ t: Tensor, offset: Int, rows: Int, cols: Int, ld: Int, _ name: String) -> Int {
        precondition(ld >= max(cols, 1), "\(name): leading dimension \(ld) < \(cols) columns")
        let span = rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols
        precondition(offset >= 0 && offset + span <= t.count,
                     "\(name): \(rows)×\(cols) at offset \(offset), ld \(ld) overruns tensor \(t.shape)")
        return span
    }

    /// fp32 elements of an operand from `offset`: the tensor's own memory, or — for bf16/f16 — the
    /// `span` elements widened (exactly) into a temporary, so the product is fp32 arithmetic on the
    /// 16-bit values: the GPU's numerics (16-bit operands, fp32 accumulation) up to summation order.
    private func withFloatOperand(_ t: Tensor, offset: Int, span: Int, _ body: (UnsafePointer<Float>) -> Void) {
        if t.dtype == .float32 { return body(t.floats.baseAddress! + offset) }
        let halves = t.halves, dtype = t.dtype
        let wide = [Float](unsafeUninitializedCapacity: max(span, 1)) { buffer, count in
            for i in 0..<span { buffer[i] = halfValue(halves[offset + i], dtype) }
            if span == 0 { buffer[0] = 0 }
            count = max(span, 1)
        }
        wide.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

extension Backend {
    /// dW_g += a[seg]ᵀ · dC[seg] (the adding form of `groupedGemmWeightGrad`).
    public func groupedGemmWeightGrad(k: Int, n: Int, a: Tensor, dC: Tensor, dW: Tensor, rowOffsets: [Int], rowCounts: [Int]) {
        groupedGemmWeightGrad(k: k, n: n, a: a, dC: dC, dW: dW, rowOffsets: rowOffsets, rowCounts: rowCounts, overwrite: false)
    }
}
