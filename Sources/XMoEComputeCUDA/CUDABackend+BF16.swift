import XMoECompute

/// bf16 elements in device memory, 2 bytes each. A stopgap until `DType` gains `bfloat16` (DESIGN
/// item 1): then these become ordinary tensors and the GEMMs below serve `gemm` for bf16 tensors.
public final class BF16Buffer: @unchecked Sendable {
    public let count: Int
    let storage: DeviceStorage
    init(count: Int, storage: DeviceStorage) { self.count = count; self.storage = storage }
    var pointer: UnsafeMutableRawPointer { storage.pointer }
}

/// Round-to-nearest-even fp32 → bf16 on the host, bit for bit what `xmoe_f32_to_bf16` does (for
/// references and tests).
public func roundToBFloat16(_ x: Float) -> Float {
    let b = x.bitPattern
    if (b & 0x7fff_ffff) > 0x7f80_0000 { return Float(bitPattern: (b | 0x0040_0000) & 0xffff_0000) }
    return Float(bitPattern: (b &+ 0x7fff &+ ((b >> 16) & 1)) & 0xffff_0000)
}

// bf16 GEMMs with fp32 accumulation (cublasGemmEx, cublasGemmGroupedBatchedEx), the path the
// issue's bf16 training takes. Inputs and outputs bf16, alpha and beta fp32.
extension CUDABackend {
    public var hasBF16Gemm: Bool { context.cublas.gemmEx != nil }
    public var hasBF16GroupedGemm: Bool { context.cublas.gemmGroupedBatchedEx != nil }

    public func makeBF16(count: Int) -> BF16Buffer {
        BF16Buffer(count: count, storage: allocateOrDie(bytes: count * 2))
    }

    public func convert(_ x: Tensor, to y: BF16Buffer) {
        precondition(x.count == y.count && x.dtype == .float32, "convert: \(x.shape) \(x.dtype) into \(y.count) bf16")
        context.launch("xmoe_f32_to_bf16", .elementwise(count: x.count), [ptr(x), .pointer(y.pointer), .int64(Int64(x.count))])
    }

    public func convert(_ x: BF16Buffer, to y: Tensor) {
        precondition(x.count == y.count && y.dtype == .float32, "convert: \(x.count) bf16 into \(y.shape) \(y.dtype)")
        context.launch("xmoe_bf16_to_f32", .elementwise(count: x.count), [.pointer(x.pointer), ptr(y), .int64(Int64(x.count))])
    }

    /// Row-major C = alpha · op(A) · op(B) + beta · C on bf16 buffers (offsets in elements).
    public func gemmBF16(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: BF16Buffer, aOffset: Int = 0, lda: Int, b: BF16Buffer, bOffset: Int = 0, ldb: Int,
        beta: Float, c: BF16Buffer, cOffset: Int = 0, ldc: Int
    ) {
        guard let gemmEx = context.cublas.gemmEx else { fatalError("CUDA backend: this cuBLAS has no cublasGemmEx") }
        if m == 0 || n == 0 || k == 0 { return }
        let q = ColumnMajorGemm(RowMajorGemm(transA: transA, transB: transB, m: m, n: n, k: k,
                                             a: a.pointer + 2 * aOffset, lda: lda, b: b.pointer + 2 * bOffset, ldb: ldb,
                                             c: c.pointer + 2 * cOffset, ldc: ldc))
        var (alpha, beta) = (alpha, beta)
        let bf16 = CUBLASAPI.dataBFloat16
        context.checkBlas(gemmEx(context.blas, q.opFirst, q.opSecond, q.m, q.n, q.k, &alpha, q.first, bf16, q.ldFirst,
                                 q.second, bf16, q.ldSecond, &beta, q.c, bf16, q.ldc, CUBLASAPI.compute32F,
                                 CUBLASAPI.gemmDefaultAlgorithm),
                          "cublasGemmEx bf16 (m \(m), n \(n), k \(k))")
    }

    /// The experts' grouped GEMM in bf16: c[seg] = a[seg] · op(w_g) + beta · c[seg], through the
    /// fastest path measured (per-expert cublasGemmEx over streams, CUDABackend+ExpertGemm.swift).
    public func groupedGemmBF16(
        transB: Bool, k: Int, n: Int, a: BF16Buffer, w: BF16Buffer, beta: Float, c: BF16Buffer,
        rowOffsets: [Int], rowCounts: [Int]
    ) {
        precondition(w.count == rowCounts.count * k * n, "groupedGemmBF16: \(w.count) weights for \(rowCounts.count)×\(k)×\(n)")
        guard k > 0, n > 0 else { return }
        expertGemmBF16(.rows(transB: transB), k: k, n: n, a: a.pointer, b: w.pointer, beta: beta, c: c.pointer, output: .bfloat16,
                       rowOffsets: rowOffsets, rowCounts: rowCounts)
    }

    /// The same product as one cublasGemmGroupedBatchedEx call (zero-row experts skipped): kept
    /// for comparison; cuBLAS 13.0's grouped kernel is 1.4–1.8× slower than `groupedGemmBF16`.
    public func groupedGemmBF16CublasGrouped(
        transB: Bool, k: Int, n: Int, a: BF16Buffer, w: BF16Buffer, beta: Float, c: BF16Buffer,
        rowOffsets: [Int], rowCounts: [Int]
    ) {
        guard let grouped = context.cublas.gemmGroupedBatchedEx else {
            fatalError("CUDA backend: this cuBLAS has no cublasGemmGroupedBatchedEx (needs CUDA ≥ 12.5)")
        }
        precondition(w.count == rowCounts.count * k * n, "groupedGemmBF16: \(w.count) weights for \(rowCounts.count)×\(k)×\(n)")
        let plan = GroupedGemmPlan(rowOffsets: rowOffsets, rowCounts: rowCounts)
        guard !plan.groups.isEmpty, k > 0, n > 0 else { return }
        let q = plan.groups.indices.map { i in
            ColumnMajorGemm(RowMajorGemm(transA: false, transB: transB, m: plan.rowCounts[i], n: n, k: k,
                                         a: a.pointer + 2 * plan.rowOffsets[i] * k, lda: k,
                                         b: w.pointer + 2 * plan.groups[i] * k * n, ldb: transB ? k : n,
                                         c: c.pointer + 2 * plan.rowOffsets[i] * n, ldc: n))
        }
        let call = GroupedGemmCall(q)
        let device = uploadPointers(call)
        let g = call.groupCount
        let alphas = [Float](repeating: 1, count: g), betas = [Float](repeating: beta, count: g)
        let bf16 = CUBLASAPI.dataBFloat16
        context.checkBlas(grouped(
            context.blas, call.opFirst, call.opSecond, call.m, call.n, call.k, alphas, device.first, bf16, call.ldFirst,
            device.second, bf16, call.ldSecond, betas, device.c, bf16, call.ldc, Int32(g), call.groupSizes, CUBLASAPI.compute32F),
            "cublasGemmGroupedBatchedEx bf16 (\(call.problemCount) problems in \(g) groups)")
    }
}
