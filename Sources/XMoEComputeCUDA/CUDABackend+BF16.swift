import XMoECompute

/// bf16 elements in device memory, 2 bytes each, outside `Tensor`: the first bf16 path (bf16 C as
/// well), kept for the benchmark and its checks. Model code uses `DType.bfloat16` tensors and the
/// gemm family's bf16-operand path below instead.
public final class BF16Buffer: @unchecked Sendable {
    public let count: Int
    let storage: DeviceStorage
    init(count: Int, storage: DeviceStorage) { self.count = count; self.storage = storage }
    var pointer: UnsafeMutableRawPointer { storage.pointer }
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

// bf16 tensors (DType.bfloat16): `convert`, and the gemm family's bf16-operand path — A and B bf16,
// C fp32, CUBLAS_COMPUTE_32F (fp32 accumulation), the numerics CPUBackend(computeDType: .bfloat16)
// emulates.
extension CUDABackend {
    public func convert(_ src: Tensor, to dst: Tensor) {
        precondition(src.count == dst.count, "convert: \(src.shape) \(src.dtype) into \(dst.shape) \(dst.dtype)")
        switch (src.dtype, dst.dtype) {
        case (.float32, .bfloat16):
            if let quads = quadCount([src, dst]) {
                return context.launch("xmoe_f32_to_bf16_4", .elementwise(count: quads), [ptr(src), ptr(dst), .int64(Int64(quads))])
            }
            context.launch("xmoe_f32_to_bf16", .elementwise(count: src.count), [ptr(src), ptr(dst), .int64(Int64(src.count))])
        case (.bfloat16, .float32):
            context.launch("xmoe_bf16_to_f32", .elementwise(count: src.count), [ptr(src), ptr(dst), .int64(Int64(src.count))])
        case let (a, b) where a == b:
            copy(from: src, to: dst)
        default:
            preconditionFailure("convert: \(src.dtype) → \(dst.dtype) is not supported on the GPU (float32 ↔ bfloat16 only)")
        }
    }

    /// How grouped GEMMs with bf16 operands run (for reports).
    public var bf16GroupedGemmPath: String {
        context.cublas.gemmGroupedBatchedEx == nil || groupedBF16Refused
            ? "one cublasGemmEx per expert" : "cublasGemmGroupedBatchedEx (bf16 in, fp32 out)"
    }

    /// Checks the gemm dtype rule (A, B one dtype, float32 or bfloat16; C float32) and says whether
    /// the operands are bf16.
    func bf16Operands(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ name: String) -> Bool {
        precondition(a.dtype == b.dtype && (a.dtype == .float32 || a.dtype == .bfloat16),
                     "\(name): operands \(a.dtype) and \(b.dtype); both must be float32 or both bfloat16")
        precondition(c.dtype == .float32, "\(name): output is \(c.dtype); it must be float32")
        return a.dtype == .bfloat16
    }

    private var gemmExOrDie: CUBLASAPI.GemmEx {
        guard let gemmEx = context.cublas.gemmEx else { fatalError("CUDA backend: this cuBLAS has no cublasGemmEx (bf16 GEMMs)") }
        return gemmEx
    }

    /// One product with bf16 A and B, fp32 C.
    func runBF16(_ p: RowMajorGemm, alpha: Float, beta: Float) {
        if p.k == 0 { return run(p, alpha: alpha, beta: beta) }  // touches C only
        var (alpha, beta) = (alpha, beta)
        let q = ColumnMajorGemm(p), bf16 = CUBLASAPI.dataBFloat16
        context.checkBlas(gemmExOrDie(context.blas, q.opFirst, q.opSecond, q.m, q.n, q.k, &alpha, q.first, bf16, q.ldFirst,
                                      q.second, bf16, q.ldSecond, &beta, q.c, CUBLASAPI.dataFloat32, q.ldc,
                                      CUBLASAPI.compute32F, CUBLASAPI.gemmDefaultAlgorithm),
                          "cublasGemmEx bf16→fp32 (m \(p.m), n \(p.n), k \(p.k))")
    }

    /// `batchCount` products with bf16 A and B, fp32 C, matrix i at + i · stride (elements).
    func runStridedBF16(_ p: RowMajorGemm, strideA: Int, strideB: Int, strideC: Int, batchCount: Int, alpha: Float, beta: Float) {
        guard let strided = context.cublas.gemmStridedBatchedEx, p.k > 0 else {
            for i in 0..<batchCount {
                var pi = p
                (pi.a, pi.b, pi.c) = (p.a + 2 * i * strideA, p.b + 2 * i * strideB, p.c + 4 * i * strideC)
                runBF16(pi, alpha: alpha, beta: beta)
            }
            return
        }
        var (alpha, beta) = (alpha, beta)
        let q = ColumnMajorGemm(p), bf16 = CUBLASAPI.dataBFloat16
        context.checkBlas(strided(context.blas, q.opFirst, q.opSecond, q.m, q.n, q.k, &alpha, q.first, bf16, q.ldFirst, Int64(strideB),
                                  q.second, bf16, q.ldSecond, Int64(strideA), &beta, q.c, CUBLASAPI.dataFloat32, q.ldc, Int64(strideC),
                                  Int32(batchCount), CUBLASAPI.compute32F, CUBLASAPI.gemmDefaultAlgorithm),
                          "cublasGemmStridedBatchedEx bf16→fp32 (m \(p.m), n \(p.n), k \(p.k), batch \(batchCount))")
    }

    /// THE grouped GEMM with bf16 operands and fp32 outputs (experts forward, input gradient and
    /// weight gradient all come here): one cublasGemmGroupedBatchedEx call, or one cublasGemmEx per
    /// problem where cuBLAS is older than 12.5 or refuses the bf16→fp32 type combination (it is
    /// asked once; a refusal is remembered). A faster grouped kernel replaces the body of this one
    /// function.
    func runGroupedBF16(_ problems: [RowMajorGemm], alpha: Float, beta: Float) {
        guard !problems.isEmpty else { return }
        guard let grouped = context.cublas.gemmGroupedBatchedEx, !groupedBF16Refused, problems.allSatisfy({ $0.k > 0 }) else {
            for p in problems { runBF16(p, alpha: alpha, beta: beta) }
            return
        }
        let call = GroupedGemmCall(problems.map(ColumnMajorGemm.init))
        let device = uploadPointers(call)
        let g = call.groupCount
        let alphas = [Float](repeating: alpha, count: g), betas = [Float](repeating: beta, count: g)
        let status = grouped(
            context.blas, call.opFirst, call.opSecond, call.m, call.n, call.k, alphas, device.first, CUBLASAPI.dataBFloat16,
            call.ldFirst, device.second, CUBLASAPI.dataBFloat16, call.ldSecond, betas, device.c, CUBLASAPI.dataFloat32,
            call.ldc, Int32(g), call.groupSizes, CUBLASAPI.compute32F)
        // CUBLAS_STATUS_INVALID_VALUE (7) / NOT_SUPPORTED (15): this type combination is not offered.
        if status == 7 || status == 15 {
            groupedBF16Refused = true
            for p in problems { runBF16(p, alpha: alpha, beta: beta) }
            return
        }
        context.checkBlas(status, "cublasGemmGroupedBatchedEx bf16→fp32 (\(call.problemCount) problems in \(g) groups)")
    }
}
