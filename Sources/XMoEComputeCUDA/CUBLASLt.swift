// libcublasLt: the expert GEMMs with an algorithm chosen once per shape class. cublasGemmEx runs
// cuBLAS's heuristic on the host for every new (m, n, k); a router gives every expert a new row
// count each micro-batch, and the heuristic then costs 17–22 ms of host time per grouped GEMM of
// 64 experts against 0.55 ms when the shapes repeat (Benchmarks/gpu/NOTES.md, session 5, call 1).

/// cublasLtMatmulAlgo_t: 8 opaque 64-bit words, the first 64 bytes of the 96-byte
/// cublasLtMatmulHeuristicResult_t (then size_t workspaceSize, int state at byte 72, float
/// wavesCount, int reserved[4]; CUDA 12 and 13 headers).
typealias LtAlgorithm = [UInt64]
enum LtHeuristicResultLayout {
    static let bytes = 96
    static let algorithmWords = 8
    static let stateOffset = 72
}

/// The cuBLASLt entry points xmoe calls (bound with dlsym, like the rest of the CUDA libraries).
struct CUBLASLtAPI: @unchecked Sendable {
    let library: DynamicLibrary
    let create: @convention(c) (UnsafeMutablePointer<Handle>) -> Int32
    let matmulDescCreate: @convention(c) (UnsafeMutablePointer<Handle>, Int32, Int32) -> Int32
    let matmulDescSetAttribute: @convention(c) (Handle, Int32, UnsafeRawPointer, Int) -> Int32
    let matrixLayoutCreate: @convention(c) (UnsafeMutablePointer<Handle>, Int32, UInt64, UInt64, Int64) -> Int32
    let matrixLayoutDestroy: @convention(c) (Handle) -> Int32
    let preferenceCreate: @convention(c) (UnsafeMutablePointer<Handle>) -> Int32
    let preferenceSetAttribute: @convention(c) (Handle, Int32, UnsafeRawPointer, Int) -> Int32
    let algoGetHeuristic: @convention(c) (
        Handle, Handle, Handle, Handle, Handle, Handle, Handle, Int32, UnsafeMutableRawPointer,
        UnsafeMutablePointer<Int32>) -> Int32
    let matmul: @convention(c) (
        Handle, Handle, UnsafeRawPointer, UnsafeRawPointer?, Handle, UnsafeRawPointer?, Handle, UnsafeRawPointer,
        UnsafeRawPointer?, Handle, RawPointer?, Handle, UnsafeRawPointer?, RawPointer?, Int, Handle) -> Int32

    static let names = ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"]
    /// cublasLtMatmulDescAttributes_t, cublasLtMatmulPreferenceAttributes_t.
    static let descTransA: Int32 = 3
    static let descTransB: Int32 = 4
    static let preferenceMaxWorkspaceBytes: Int32 = 1

    init(candidates: [String] = CUBLASLtAPI.names) throws {
        let lib = try DynamicLibrary(name: "libcublasLt", candidates: candidates)
        library = lib
        create = try lib.function("cublasLtCreate")
        matmulDescCreate = try lib.function("cublasLtMatmulDescCreate")
        matmulDescSetAttribute = try lib.function("cublasLtMatmulDescSetAttribute")
        matrixLayoutCreate = try lib.function("cublasLtMatrixLayoutCreate")
        matrixLayoutDestroy = try lib.function("cublasLtMatrixLayoutDestroy")
        preferenceCreate = try lib.function("cublasLtMatmulPreferenceCreate")
        preferenceSetAttribute = try lib.function("cublasLtMatmulPreferenceSetAttribute")
        algoGetHeuristic = try lib.function("cublasLtMatmulAlgoGetHeuristic")
        matmul = try lib.function("cublasLtMatmul")
    }
}

/// The shape class an algorithm is chosen for: every dimension rounded up (to 16 up to 128, then
/// to 128), so the row counts a router produces fall into a few dozen classes per GEMM. Dimensions
/// that are already multiples of 128 (the model's widths) stay exact.
struct LtShapeClass: Hashable {
    var opFirst: Int32, opSecond: Int32
    var m: Int, n: Int, k: Int
    var ldFirst: Int32, ldSecond: Int32, ldc: Int32
    var outputType: Int32

    static func bucket(_ x: Int) -> Int { x <= 128 ? (x + 15) / 16 * 16 : (x + 127) / 128 * 128 }

    init(_ q: ColumnMajorGemm, outputType: Int32, exact: Bool = false) {
        let b = exact ? { $0 } : Self.bucket
        (opFirst, opSecond, ldFirst, ldSecond, ldc, self.outputType) = (q.opFirst, q.opSecond, q.ldFirst, q.ldSecond, q.ldc, outputType)
        (m, n, k) = (b(Int(q.m)), b(Int(q.n)), b(Int(q.k)))
    }

    /// (rows, cols) of the stored first, second and output matrices (column-major).
    var firstStored: (Int, Int) { opFirst == CUBLASAPI.opN ? (m, k) : (k, m) }
    var secondStored: (Int, Int) { opSecond == CUBLASAPI.opN ? (k, n) : (n, k) }
}

/// Runs column-major bf16 products through cublasLtMatmul with one algorithm per shape class
/// (`LtShapeClass`), found by the heuristic the first time the class is met. The same counts
/// always give the same classes and algorithms, so runs stay bit-identical. Each stream has its
/// own workspace (products on different streams run at once).
final class LtGemmRunner: @unchecked Sendable {
    let api: CUBLASLtAPI
    private let handle: Handle
    private let preference: Handle
    private var descriptors: [Int32: Handle] = [:]
    /// Per class: its algorithm, or nil when the heuristic found none (asked once either way).
    private var algorithms: [LtShapeClass: LtAlgorithm?] = [:]
    /// The exact shapes' matrix layouts, kept: creating and destroying three layouts per expert
    /// product was a third of the host's time per product. Bounded (a run meets a few thousand).
    private var layoutCache: [LtShapeClass: (Handle, Handle, Handle)] = [:]
    private static let layoutCacheLimit = 16_384
    let workspaceBytes: Int
    private(set) var heuristicQueries = 0

    init(api: CUBLASLtAPI, workspaceBytes: Int) throws {
        self.api = api
        self.workspaceBytes = workspaceBytes
        var handle: Handle = nil, preference: Handle = nil
        try Self.check(api.create(&handle), "cublasLtCreate")
        try Self.check(api.preferenceCreate(&preference), "cublasLtMatmulPreferenceCreate")
        var bytes = UInt64(workspaceBytes)
        try Self.check(api.preferenceSetAttribute(preference, CUBLASLtAPI.preferenceMaxWorkspaceBytes, &bytes, 8),
                       "cublasLtMatmulPreferenceSetAttribute(max workspace)")
        (self.handle, self.preference) = (handle, preference)
    }

    static func check(_ status: Int32, _ call: String) throws {
        if status != 0 { throw CUDAError.callFailed(call: call, code: status, message: "cuBLASLt status \(status)") }
    }

    /// The fp32-accumulating descriptor for one pair of transposes.
    private func descriptor(_ opFirst: Int32, _ opSecond: Int32) throws -> Handle {
        let key = opFirst * 4 + opSecond
        if let d = descriptors[key] { return d }
        var d: Handle = nil
        try Self.check(api.matmulDescCreate(&d, CUBLASAPI.compute32F, CUBLASAPI.dataFloat32), "cublasLtMatmulDescCreate")
        var (a, b) = (opFirst, opSecond)
        try Self.check(api.matmulDescSetAttribute(d, CUBLASLtAPI.descTransA, &a, 4), "cublasLtMatmulDescSetAttribute(transA)")
        try Self.check(api.matmulDescSetAttribute(d, CUBLASLtAPI.descTransB, &b, 4), "cublasLtMatmulDescSetAttribute(transB)")
        descriptors[key] = d
        return d
    }

    private func layouts(_ s: LtShapeClass) throws -> (Handle, Handle, Handle) {
        var (a, b, c): (Handle, Handle, Handle) = (nil, nil, nil)
        let bf16 = CUBLASAPI.dataBFloat16
        let (fr, fc) = s.firstStored, (sr, sc) = s.secondStored
        try Self.check(api.matrixLayoutCreate(&a, bf16, UInt64(fr), UInt64(fc), Int64(max(Int(s.ldFirst), fr))), "cublasLtMatrixLayoutCreate(A)")
        try Self.check(api.matrixLayoutCreate(&b, bf16, UInt64(sr), UInt64(sc), Int64(max(Int(s.ldSecond), sr))), "cublasLtMatrixLayoutCreate(B)")
        try Self.check(api.matrixLayoutCreate(&c, s.outputType, UInt64(s.m), UInt64(s.n), Int64(max(Int(s.ldc), s.m))), "cublasLtMatrixLayoutCreate(C)")
        return (a, b, c)
    }

    private func destroy(_ l: (Handle, Handle, Handle)) {
        _ = api.matrixLayoutDestroy(l.0); _ = api.matrixLayoutDestroy(l.1); _ = api.matrixLayoutDestroy(l.2)
    }

    /// The algorithm for `shape`'s class, asking the heuristic once per class.
    private func algorithm(_ shape: LtShapeClass) throws -> LtAlgorithm? {
        if let found = algorithms[shape] { return found }
        algorithms[shape] = .some(nil)
        let desc = try descriptor(shape.opFirst, shape.opSecond)
        let l = try layouts(shape)
        defer { destroy(l) }
        var result = [UInt64](repeating: 0, count: LtHeuristicResultLayout.bytes / 8), count: Int32 = 0
        heuristicQueries += 1
        let status = result.withUnsafeMutableBytes { api.algoGetHeuristic(handle, desc, l.0, l.1, l.2, l.2, preference, 1, $0.baseAddress!, &count) }
        let state = result.withUnsafeBytes { $0.load(fromByteOffset: LtHeuristicResultLayout.stateOffset, as: Int32.self) }
        guard status == 0, count > 0, state == 0 else { return nil }
        let algorithm = Array(result[..<LtHeuristicResultLayout.algorithmWords])
        algorithms[shape] = algorithm
        return algorithm
    }

    /// C = alpha · op(first) · op(second) + beta · C for one column-major product on `stream`.
    /// Returns false when no algorithm fits (the caller falls back to cublasGemmEx).
    func run(_ q: ColumnMajorGemm, alpha: Float, beta: Float, outputType: Int32, workspace: RawPointer, stream: Handle) throws -> Bool {
        let exact = LtShapeClass(q, outputType: outputType, exact: true)
        let desc = try descriptor(q.opFirst, q.opSecond)
        let l: (Handle, Handle, Handle)
        if let cached = layoutCache[exact] {
            l = cached
        } else {
            if layoutCache.count >= Self.layoutCacheLimit {
                layoutCache.values.forEach(destroy)
                layoutCache = [:]
            }
            l = try layouts(exact)
            layoutCache[exact] = l
        }
        var (alpha, beta) = (alpha, beta)
        // The class's algorithm, or (should the bucketed choice not fit this exact shape) the exact
        // shape's own: both are cached, so either costs the heuristic once.
        let bucketed = LtShapeClass(q, outputType: outputType)
        for shape in bucketed == exact ? [exact] : [bucketed, exact] {
            guard let algo = try algorithm(shape) else { continue }
            let status = algo.withUnsafeBytes {
                api.matmul(handle, desc, &alpha, q.first, l.0, q.second, l.1, &beta, q.c, l.2, q.c, l.2,
                           $0.baseAddress, workspace, workspaceBytes, stream)
            }
            if status == 0 { return true }
        }
        return false
    }
}
