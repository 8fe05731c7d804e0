import Dispatch

/// Where a step's time goes, by kind of op (the rows of the GPU step benchmark's breakdown).
public enum OpCategory: String, CaseIterable, Sendable {
    case gemm = "gemm"
    case groupedGemm = "grouped gemm"
    case attention = "attention"
    /// Gathers, scatters and the argsort of the token permutation (the router's top-k runs on the
    /// host today, so it shows up under host/other).
    case routing = "route/permute"
    case elementwise = "norms+act+elementwise"
    case loss = "loss"
    case optimizer = "optimizer"
    /// Allocation, zero/fill/copy, uploads and downloads.
    case memory = "memory"
}

/// A Backend that forwards every call to `inner` and adds its duration to the call's category.
/// Each call is followed by `synchronize` (the inner backend's device wait), so a call's time is
/// its own work, not work queued before it: the profile changes the timing it measures (no
/// overlap of host and device work), so a step is timed once without it and once with it.
///
/// Forwarding is mechanical on purpose: a method added to `Backend` gets one forward here, named
/// in `category(ofMethod:)`.
public final class ProfilingBackend: Backend, @unchecked Sendable {
    public let inner: Backend
    private let synchronize: () -> Void
    private let now: () -> UInt64
    /// Nanoseconds and calls per category since the last `reset`.
    public private(set) var nanoseconds: [OpCategory: UInt64] = [:]
    public private(set) var calls: [OpCategory: Int] = [:]
    /// Calls per Backend method name since the last `reset`.
    public private(set) var methodCalls: [String: Int] = [:]
    /// Nanoseconds per Backend method name since the last `reset`.
    public private(set) var methodNanoseconds: [String: UInt64] = [:]
    /// Host nanoseconds per category until the call returned, before the synchronisation: when it
    /// is close to the category's total, the host (launch overhead, library heuristics) is the limit.
    public private(set) var submitNanoseconds: [OpCategory: UInt64] = [:]
    /// One entry per call of a method in `loggedMethods`, in call order (host submit and total ns).
    public private(set) var callLog: [(method: String, submitNanoseconds: UInt64, nanoseconds: UInt64)] = []
    public var loggedMethods: Set<String> = []
    /// Called with a method's name before each call, and with every tensor `makeTensor` returns:
    /// enough to replay a step's allocations and frees (tests check the device allocator's rule
    /// against a real model's pattern with them, on the CPU).
    public var willCall: ((String) -> Void)?
    public var didMakeTensor: ((Tensor) -> Void)?
    /// Off: calls only forward (no synchronisation, nothing added), so one model built on this
    /// backend can be timed without the profile's synchronisations and then profiled.
    public var enabled = true

    /// `now` reads a monotonic clock in nanoseconds (injectable so tests count ticks).
    public init(inner: Backend, synchronize: @escaping () -> Void,
                now: @escaping () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.inner = inner
        self.synchronize = synchronize
        self.now = now
    }

    /// Forgets the totals and waits for queued work, so the next call's time is its own.
    public func reset() {
        synchronize()
        nanoseconds = [:]
        calls = [:]
        methodCalls = [:]
        methodNanoseconds = [:]
        submitNanoseconds = [:]
        callLog = []
    }

    /// Seconds per category (every category present, zero when never called).
    public var seconds: [OpCategory: Double] {
        Dictionary(uniqueKeysWithValues: OpCategory.allCases.map { ($0, Double(nanoseconds[$0] ?? 0) / 1e9) })
    }

    /// The category each Backend method's time is added to.
    public static func category(ofMethod name: String) -> OpCategory {
        switch name {
        case "gemm", "batchedGemm": .gemm
        case "groupedGemm", "groupedGemmWeightGrad", "groupedLinearForward": .groupedGemm
        case "attentionForward", "attentionBackward", "flashAttentionForward", "flashAttentionBackward", "flashAttentionRoPEForward",
             "flashAttentionRoPEBackward", "ropeForward",
             "ropeBackward": .attention
        case "gatherRows", "gatherRowsBackward", "scatterAddRows", "scatterAddRowsBackward", "stableArgsort",
             "softmaxForward", "softmaxBackward", "routeForward", "routeBackward", "permutePlan", "permuteTokens",
             "unpermute", "unpermuteBackward": .routing
        case "add", "scale", "axpy", "addBias", "sumRows", "addSegmentBias", "sumRowSegments", "geluForward", "geluBackward", "siluForward", "siluBackward",
             "swigluForward", "swigluBackward", "dropoutForward", "dropoutBackward", "layerNormForward",
             "layerNormBackward", "rmsNormForward", "rmsNormBackward", "embeddingForward", "embeddingBackward",
             "convert": .elementwise
        case "crossEntropyForward", "crossEntropyBackward", "crossEntropyFused": .loss
        case "adamwUpdate", "sumOfSquares", "allFinite": .optimizer
        case "makeTensor", "makeOutput", "zero", "fill", "copy", "upload", "downloadFloats", "downloadInts": .memory
        default: fatalError("ProfilingBackend: Backend method '\(name)' has no category; add it to category(ofMethod:)")
        }
    }

    private func timed<R>(_ method: String, _ body: () -> R) -> R {
        willCall?(method)
        guard enabled else { return body() }
        let category = Self.category(ofMethod: method)
        let start = now()
        let result = body()
        let submitted = now() &- start
        synchronize()
        let total = now() &- start
        nanoseconds[category, default: 0] += total
        submitNanoseconds[category, default: 0] += submitted
        calls[category, default: 0] += 1
        methodCalls[method, default: 0] += 1
        methodNanoseconds[method, default: 0] += total
        if loggedMethods.contains(method) { callLog.append((method, submitted, total)) }
        return result
    }

    // MARK: memory

    public func makeTensor(_ shape: [Int], dtype: DType) -> Tensor {
        let tensor = timed("makeTensor") { inner.makeTensor(shape, dtype: dtype) }
        didMakeTensor?(tensor)
        return tensor
    }
    public func makeOutput(_ shape: [Int], dtype: DType) -> Tensor {
        let tensor = timed("makeOutput") { inner.makeOutput(shape, dtype: dtype) }
        didMakeTensor?(tensor)
        return tensor
    }
    public func zero(_ tensor: Tensor) { timed("zero") { inner.zero(tensor) } }
    public func fill(_ tensor: Tensor, value: Float) { timed("fill") { inner.fill(tensor, value: value) } }
    public func copy(from src: Tensor, to dst: Tensor) { timed("copy") { inner.copy(from: src, to: dst) } }
    public func upload(_ values: [Float], to tensor: Tensor) { timed("upload") { inner.upload(values, to: tensor) } }
    public func upload(_ values: [Int32], to tensor: Tensor) { timed("upload") { inner.upload(values, to: tensor) } }
    public func downloadFloats(_ tensor: Tensor) -> [Float] { timed("downloadFloats") { inner.downloadFloats(tensor) } }
    public func downloadInts(_ tensor: Tensor) -> [Int32] { timed("downloadInts") { inner.downloadInts(tensor) } }

    // MARK: precision

    public var computeDType: DType { inner.computeDType }
    public var prefersFlashAttention: Bool { inner.prefersFlashAttention }
    public func prefersFlashAttention(headDim: Int) -> Bool { inner.prefersFlashAttention(headDim: headDim) }
    public func sumOfSquares(_ x: Tensor) -> Double { timed("sumOfSquares") { inner.sumOfSquares(x) } }
    public func allFinite(_ x: Tensor) -> Bool { timed("allFinite") { inner.allFinite(x) } }
    public func convert(_ src: Tensor, to dst: Tensor) { timed("convert") { inner.convert(src, to: dst) } }

    // MARK: matrix products

    public func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: Tensor, aOffset: Int, lda: Int, b: Tensor, bOffset: Int, ldb: Int,
        beta: Float, c: Tensor, cOffset: Int, ldc: Int
    ) {
        timed("gemm") {
            inner.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, aOffset: aOffset, lda: lda,
                       b: b, bOffset: bOffset, ldb: ldb, beta: beta, c: c, cOffset: cOffset, ldc: ldc)
        }
    }

    public func batchedGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: Tensor, aOffset: Int, lda: Int, strideA: Int,
        b: Tensor, bOffset: Int, ldb: Int, strideB: Int,
        beta: Float, c: Tensor, cOffset: Int, ldc: Int, strideC: Int, batchCount: Int
    ) {
        timed("batchedGemm") {
            inner.batchedGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                              a: a, aOffset: aOffset, lda: lda, strideA: strideA, b: b, bOffset: bOffset, ldb: ldb, strideB: strideB,
                              beta: beta, c: c, cOffset: cOffset, ldc: ldc, strideC: strideC, batchCount: batchCount)
        }
    }

    public func groupedGemm(
        transB: Bool, k: Int, n: Int, alpha: Float, a: Tensor, w: Tensor, beta: Float, c: Tensor,
        rowOffsets: [Int], rowCounts: [Int]
    ) {
        timed("groupedGemm") {
            inner.groupedGemm(transB: transB, k: k, n: n, alpha: alpha, a: a, w: w, beta: beta, c: c,
                              rowOffsets: rowOffsets, rowCounts: rowCounts)
        }
    }

    public func groupedLinearForward(x: Tensor, w: Tensor, b: Tensor?, rowOffsets: [Int], rowCounts: [Int], out: Tensor) {
        timed("groupedLinearForward") { inner.groupedLinearForward(x: x, w: w, b: b, rowOffsets: rowOffsets, rowCounts: rowCounts, out: out) }
    }

    public func groupedGemmWeightGrad(k: Int, n: Int, a: Tensor, dC: Tensor, dW: Tensor, rowOffsets: [Int], rowCounts: [Int], overwrite: Bool) {
        timed("groupedGemmWeightGrad") {
            inner.groupedGemmWeightGrad(k: k, n: n, a: a, dC: dC, dW: dW, rowOffsets: rowOffsets, rowCounts: rowCounts, overwrite: overwrite)
        }
    }

    // MARK: element-wise and reductions

    public func add(_ a: Tensor, _ b: Tensor, out: Tensor) { timed("add") { inner.add(a, b, out: out) } }
    public func scale(_ x: Tensor, by alpha: Float) { timed("scale") { inner.scale(x, by: alpha) } }
    public func axpy(alpha: Float, x: Tensor, y: Tensor) { timed("axpy") { inner.axpy(alpha: alpha, x: x, y: y) } }
    public func addBias(_ out: Tensor, bias: Tensor, biasOffset: Int, rows: Range<Int>) {
        timed("addBias") { inner.addBias(out, bias: bias, biasOffset: biasOffset, rows: rows) }
    }
    public func sumRows(_ x: Tensor, rows: Range<Int>, into out: Tensor, outOffset: Int) {
        timed("sumRows") { inner.sumRows(x, rows: rows, into: out, outOffset: outOffset) }
    }
    public func addSegmentBias(_ out: Tensor, bias: Tensor, rowOffsets: [Int], rowCounts: [Int]) {
        timed("addSegmentBias") { inner.addSegmentBias(out, bias: bias, rowOffsets: rowOffsets, rowCounts: rowCounts) }
    }
    public func sumRowSegments(_ x: Tensor, rowOffsets: [Int], rowCounts: [Int], into out: Tensor) {
        timed("sumRowSegments") { inner.sumRowSegments(x, rowOffsets: rowOffsets, rowCounts: rowCounts, into: out) }
    }

    // MARK: activations

    public func geluForward(_ x: Tensor, out: Tensor) { timed("geluForward") { inner.geluForward(x, out: out) } }
    public func geluBackward(x: Tensor, dOut: Tensor, dX: Tensor, overwrite: Bool) {
        timed("geluBackward") { inner.geluBackward(x: x, dOut: dOut, dX: dX, overwrite: overwrite) }
    }
    public func siluForward(_ x: Tensor, out: Tensor) { timed("siluForward") { inner.siluForward(x, out: out) } }
    public func siluBackward(x: Tensor, dOut: Tensor, dX: Tensor) { timed("siluBackward") { inner.siluBackward(x: x, dOut: dOut, dX: dX) } }
    public func swigluForward(gateUp: Tensor, out: Tensor) { timed("swigluForward") { inner.swigluForward(gateUp: gateUp, out: out) } }
    public func swigluBackward(gateUp: Tensor, dOut: Tensor, dGateUp: Tensor, overwrite: Bool) {
        timed("swigluBackward") { inner.swigluBackward(gateUp: gateUp, dOut: dOut, dGateUp: dGateUp, overwrite: overwrite) }
    }

    // MARK: dropout

    public func dropoutForward(_ x: Tensor, mask: Tensor, out: Tensor) { timed("dropoutForward") { inner.dropoutForward(x, mask: mask, out: out) } }
    public func dropoutBackward(dOut: Tensor, mask: Tensor, dX: Tensor) {
        timed("dropoutBackward") { inner.dropoutBackward(dOut: dOut, mask: mask, dX: dX) }
    }

    // MARK: softmax and normalisation

    public func softmaxForward(logits: Tensor, probs: Tensor) { timed("softmaxForward") { inner.softmaxForward(logits: logits, probs: probs) } }
    public func softmaxBackward(probs: Tensor, dProbs: Tensor, dLogits: Tensor) {
        timed("softmaxBackward") { inner.softmaxBackward(probs: probs, dProbs: dProbs, dLogits: dLogits) }
    }
    public func layerNormForward(x: Tensor, weight: Tensor, bias: Tensor, eps: Float, out: Tensor, mean: Tensor, rstd: Tensor) {
        timed("layerNormForward") { inner.layerNormForward(x: x, weight: weight, bias: bias, eps: eps, out: out, mean: mean, rstd: rstd) }
    }
    public func layerNormBackward(dOut: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, dX: Tensor, dWeight: Tensor, dBias: Tensor,
                                  overwriteDX: Bool) {
        timed("layerNormBackward") {
            inner.layerNormBackward(dOut: dOut, x: x, weight: weight, mean: mean, rstd: rstd, dX: dX, dWeight: dWeight, dBias: dBias,
                                    overwriteDX: overwriteDX)
        }
    }
    public func rmsNormForward(x: Tensor, weight: Tensor, eps: Float, out: Tensor, rstd: Tensor) {
        timed("rmsNormForward") { inner.rmsNormForward(x: x, weight: weight, eps: eps, out: out, rstd: rstd) }
    }
    public func rmsNormBackward(dOut: Tensor, x: Tensor, weight: Tensor, rstd: Tensor, dX: Tensor, dWeight: Tensor, overwriteDX: Bool) {
        timed("rmsNormBackward") {
            inner.rmsNormBackward(dOut: dOut, x: x, weight: weight, rstd: rstd, dX: dX, dWeight: dWeight, overwriteDX: overwriteDX)
        }
    }

    // MARK: attention

    public func ropeForward(qkv: Tensor, heads: Int, seqLen: Int, theta: Float, out: Tensor) {
        timed("ropeForward") { inner.ropeForward(qkv: qkv, heads: heads, seqLen: seqLen, theta: theta, out: out) }
    }
    public func ropeBackward(dOut: Tensor, heads: Int, seqLen: Int, theta: Float, dQkv: Tensor, overwrite: Bool) {
        timed("ropeBackward") { inner.ropeBackward(dOut: dOut, heads: heads, seqLen: seqLen, theta: theta, dQkv: dQkv, overwrite: overwrite) }
    }
    public func attentionForward(qkv: Tensor, heads: Int, seqLen: Int, out: Tensor, probs: Tensor) {
        timed("attentionForward") { inner.attentionForward(qkv: qkv, heads: heads, seqLen: seqLen, out: out, probs: probs) }
    }
    public func attentionBackward(dOut: Tensor, qkv: Tensor, probs: Tensor, heads: Int, seqLen: Int, dQkv: Tensor) {
        timed("attentionBackward") { inner.attentionBackward(dOut: dOut, qkv: qkv, probs: probs, heads: heads, seqLen: seqLen, dQkv: dQkv) }
    }

    // MARK: routing data movement

    public func routeForward(
        logits: Tensor, bias: Tensor?, gating: RouteGating, topK: Int,
        scores: Tensor, expert: Tensor, weight: Tensor, routed: Tensor, losses: Tensor
    ) {
        timed("routeForward") {
            inner.routeForward(logits: logits, bias: bias, gating: gating, topK: topK, scores: scores, expert: expert,
                               weight: weight, routed: routed, losses: losses)
        }
    }
    public func routeBackward(
        logits: Tensor, scores: Tensor, expert: Tensor, weight: Tensor, routed: Tensor, dWeight: Tensor,
        gating: RouteGating, auxCoeff: Float, zCoeff: Float, dLogits: Tensor
    ) {
        timed("routeBackward") {
            inner.routeBackward(logits: logits, scores: scores, expert: expert, weight: weight, routed: routed, dWeight: dWeight,
                                gating: gating, auxCoeff: auxCoeff, zCoeff: zCoeff, dLogits: dLogits)
        }
    }
    public func permutePlan(expert: Tensor, weight: Tensor, experts: Int, capacity: Int?, kept: Tensor, rowOfSlot: Tensor) {
        timed("permutePlan") {
            inner.permutePlan(expert: expert, weight: weight, experts: experts, capacity: capacity, kept: kept, rowOfSlot: rowOfSlot)
        }
    }
    public func permuteTokens(rowOfSlot: Tensor, topK: Int, tokenOfRow: Tensor) {
        timed("permuteTokens") { inner.permuteTokens(rowOfSlot: rowOfSlot, topK: topK, tokenOfRow: tokenOfRow) }
    }
    public func unpermute(_ src: Tensor, rowOfSlot: Tensor, weight: Tensor?, topK: Int, into dst: Tensor, overwrite: Bool) {
        timed("unpermute") { inner.unpermute(src, rowOfSlot: rowOfSlot, weight: weight, topK: topK, into: dst, overwrite: overwrite) }
    }
    public func unpermuteBackward(
        dDst: Tensor, src: Tensor, rowOfSlot: Tensor, weight: Tensor, topK: Int, dSrc: Tensor, dWeight: Tensor, overwriteDSrc: Bool
    ) {
        timed("unpermuteBackward") {
            inner.unpermuteBackward(dDst: dDst, src: src, rowOfSlot: rowOfSlot, weight: weight, topK: topK, dSrc: dSrc, dWeight: dWeight,
                                    overwriteDSrc: overwriteDSrc)
        }
    }
    public func flashAttentionForward(qkv: Tensor, heads: Int, seqLen: Int, out: Tensor, logSumExp: Tensor) {
        timed("flashAttentionForward") { inner.flashAttentionForward(qkv: qkv, heads: heads, seqLen: seqLen, out: out, logSumExp: logSumExp) }
    }
    public func flashAttentionBackward(
        dOut: Tensor, qkv: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, dQkv: Tensor, overwrite: Bool
    ) {
        timed("flashAttentionBackward") {
            inner.flashAttentionBackward(dOut: dOut, qkv: qkv, out: out, logSumExp: logSumExp, heads: heads, seqLen: seqLen, dQkv: dQkv,
                                         overwrite: overwrite)
        }
    }
    @discardableResult
    public func flashAttentionRoPEForward(qkv: Tensor, heads: Int, seqLen: Int, theta: Float, out: Tensor, logSumExp: Tensor) -> Tensor {
        timed("flashAttentionRoPEForward") {
            inner.flashAttentionRoPEForward(qkv: qkv, heads: heads, seqLen: seqLen, theta: theta, out: out, logSumExp: logSumExp)
        }
    }
    public func flashAttentionRoPEBackward(
        dOut: Tensor, saved: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, theta: Float, dQkv: Tensor, overwrite: Bool
    ) {
        timed("flashAttentionRoPEBackward") {
            inner.flashAttentionRoPEBackward(dOut: dOut, saved: saved, out: out, logSumExp: logSumExp, heads: heads, seqLen: seqLen, theta: theta,
                                             dQkv: dQkv, overwrite: overwrite)
        }
    }
    public func gatherRows(_ src: Tensor, index: Tensor, into dst: Tensor) { timed("gatherRows") { inner.gatherRows(src, index: index, into: dst) } }
    public func gatherRowsBackward(dDst: Tensor, index: Tensor, dSrc: Tensor) {
        timed("gatherRowsBackward") { inner.gatherRowsBackward(dDst: dDst, index: index, dSrc: dSrc) }
    }
    public func scatterAddRows(_ src: Tensor, index: Tensor, weight: Tensor, into dst: Tensor) {
        timed("scatterAddRows") { inner.scatterAddRows(src, index: index, weight: weight, into: dst) }
    }
    public func scatterAddRowsBackward(dDst: Tensor, src: Tensor, index: Tensor, weight: Tensor, dSrc: Tensor, dWeight: Tensor) {
        timed("scatterAddRowsBackward") {
            inner.scatterAddRowsBackward(dDst: dDst, src: src, index: index, weight: weight, dSrc: dSrc, dWeight: dWeight)
        }
    }
    public func stableArgsort(keys: Tensor, keyCount: Int, order: Tensor, counts: Tensor) {
        timed("stableArgsort") { inner.stableArgsort(keys: keys, keyCount: keyCount, order: order, counts: counts) }
    }

    // MARK: embedding, loss, optimizer

    public func embeddingForward(tokens: Tensor, table: Tensor, out: Tensor) {
        timed("embeddingForward") { inner.embeddingForward(tokens: tokens, table: table, out: out) }
    }
    public func embeddingBackward(tokens: Tensor, dOut: Tensor, dTable: Tensor) {
        timed("embeddingBackward") { inner.embeddingBackward(tokens: tokens, dOut: dOut, dTable: dTable) }
    }
    public func crossEntropyForward(logits: Tensor, targets: Tensor, probs: Tensor, losses: Tensor) {
        timed("crossEntropyForward") { inner.crossEntropyForward(logits: logits, targets: targets, probs: probs, losses: losses) }
    }
    public func crossEntropyBackward(probs: Tensor, targets: Tensor, dLosses: Tensor, dLogits: Tensor) {
        timed("crossEntropyBackward") { inner.crossEntropyBackward(probs: probs, targets: targets, dLosses: dLosses, dLogits: dLogits) }
    }
    public func crossEntropyFused(logits: Tensor, targets: Tensor, rowOffset: Int, scale: Float, losses: Tensor, gradient: Tensor?) {
        timed("crossEntropyFused") {
            inner.crossEntropyFused(logits: logits, targets: targets, rowOffset: rowOffset, scale: scale, losses: losses, gradient: gradient)
        }
    }
    public func adamwUpdate(
        param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: Int,
        lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float, computeCopy: Tensor?
    ) {
        timed("adamwUpdate") {
            inner.adamwUpdate(param: param, grad: grad, m: m, v: v, step: step, lr: lr, beta1: beta1, beta2: beta2, eps: eps,
                              weightDecay: weightDecay, computeCopy: computeCopy)
        }
    }
}
