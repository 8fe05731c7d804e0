import XMoECompute

// Flash attention (FlashAttention-2's algorithm; never stores the S×S probabilities, only the row
// log-sum-exp). Two kernel sets: fp32 on CUDA cores (FlashAttentionKernels, any head width up to
// 128) and bf16 mma on tensor cores (FlashAttentionTensorCoreKernels, widths 64 and 128) for a
// backend that computes in bf16; `usesTensorCoreFlash` is the one rule that picks between them.
extension CUDABackend {
    /// Whether flash attention runs on the tensor-core kernels (bf16 operands, fp32 softmax and
    /// accumulation): only with bf16 compute (fp32 compute keeps the exact fp32 kernels, which the
    /// fp32 checks compare with the CPU at the 1e-7 level) and a head width they were built for.
    /// The plan's memory estimate asks this too (no S×S probabilities when true).
    public static func usesTensorCoreFlash(computeDType: DType, headDim: Int) -> Bool {
        computeDType == .bfloat16 && FlashAttentionTensorCoreKernels.headWidths.contains(headDim)
    }

    /// `prefersFlashAttention`'s default: bf16 compute, where the tensor-core kernels are 3–4× faster
    /// than the materialised path (NOTES.md, f1). In fp32 the CUDA-core flash kernels are 5× slower
    /// than the materialised cuBLAS path (NOTES.md, c2), so fp32 keeps the probabilities. A bf16
    /// model whose head width has no tensor-core kernel keeps them too (`prefersFlashAttention(headDim:)`).
    public static func prefersFlashAttention(computeDType: DType) -> Bool {
        FlashAttentionTensorCoreKernels.headWidths.contains { usesTensorCoreFlash(computeDType: computeDType, headDim: $0) }
    }

    /// A bf16 backend prefers flash only where the tensor-core kernels take the head width (the
    /// CUDA-core flash kernels are slower than the materialised path); fp32 keeps the flag.
    public func prefersFlashAttention(headDim: Int) -> Bool {
        prefersFlashAttention && (computeDType == .float32 || Self.usesTensorCoreFlash(computeDType: computeDType, headDim: headDim))
    }

    public func flashAttentionForward(qkv: Tensor, heads: Int, seqLen: Int, out: Tensor, logSumExp: Tensor) {
        let (_, d, _) = flashDims(qkv, heads: heads, seqLen: seqLen)
        if Self.usesTensorCoreFlash(computeDType: computeDType, headDim: d), tensorCoreAligned(qkv, out) {
            tensorCoreFlashAttentionForward(qkv: qkv, heads: heads, seqLen: seqLen, out: out, logSumExp: logSumExp)
            return
        }
        let (h, _, batch) = flashDims(qkv, heads: heads, seqLen: seqLen)
        precondition(out.shape == [qkv.rows, h] && logSumExp.count == batch * heads * seqLen,
                     "flashAttentionForward: out \(out.shape), logSumExp \(logSumExp.shape) for qkv \(qkv.shape), \(heads) heads")
        context.launch("xmoe_flash_fwd", FlashAttentionLaunch.forward(batchHeads: batch * heads, seqLen: seqLen),
                       [ptr(qkv), ptr(out), ptr(logSumExp), .int64(Int64(seqLen)), .int32(Int32(heads)), .int32(Int32(d)),
                        .float(1 / Float(d).squareRoot())])
    }

    public func flashAttentionBackward(
        dOut: Tensor, qkv: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, dQkv: Tensor, overwrite: Bool
    ) {
        let (_, d, _) = flashDims(qkv, heads: heads, seqLen: seqLen)
        if Self.usesTensorCoreFlash(computeDType: computeDType, headDim: d), tensorCoreAligned(qkv, dOut, dQkv) {
            tensorCoreFlashAttentionBackward(dOut: dOut, qkv: qkv, out: out, logSumExp: logSumExp, heads: heads, seqLen: seqLen, dQkv: dQkv,
                                             overwrite: overwrite)
            return
        }
        let (_, batchHeads, delta) = flashBackwardChecks(dOut: dOut, qkv: qkv, out: out, logSumExp: logSumExp, heads: heads,
                                                         seqLen: seqLen, dQkv: dQkv)
        let common: [KernelArgument] = [ptr(qkv), ptr(dOut), ptr(logSumExp), ptr(delta), ptr(dQkv), .int64(Int64(seqLen)),
                                        .int32(Int32(heads)), .int32(Int32(d)), .float(1 / Float(d).squareRoot()),
                                        .int32(overwrite ? 1 : 0)]
        // dq and dk/dv write disjoint columns of dQkv, each row by one thread: no atomics.
        context.launch("xmoe_flash_dq", FlashAttentionLaunch.dq(batchHeads: batchHeads, seqLen: seqLen), common)
        context.launch("xmoe_flash_dkdv", FlashAttentionLaunch.dkdv(batchHeads: batchHeads, seqLen: seqLen), common)
    }

    /// The tensor-core forward whatever the compute dtype (checks call it on an fp32 backend).
    /// On the tensor-core path, RoPE happens inside the kernels: the bf16 pack of qkv rotates q and k
    /// as it reads them, and the dq and dk/dv kernels apply RoPE's backward to their sums before they
    /// store them (NOTES.md, session 8): no rotated fp32 copy, no RoPE passes.
    @discardableResult
    public func flashAttentionRoPEForward(qkv: Tensor, heads: Int, seqLen: Int, theta: Float, out: Tensor, logSumExp: Tensor) -> Tensor {
        let (_, d, _) = flashDims(qkv, heads: heads, seqLen: seqLen)
        guard Self.usesTensorCoreFlash(computeDType: computeDType, headDim: d), tensorCoreAligned(qkv, out) else {
            flashAttentionRoPEForwardComposed(qkv: qkv, heads: heads, seqLen: seqLen, theta: theta, out: out, logSumExp: logSumExp)
            return qkv
        }
        return tensorCoreFlashAttentionRoPEForward(qkv: qkv, heads: heads, seqLen: seqLen, theta: theta, out: out, logSumExp: logSumExp)
    }

    /// The tensor-core forward with RoPE in the pack; returns the rotated bf16 pack, which the
    /// backward (`tensorCoreFlashAttentionRoPEBackward`) reads instead of packing qkv again.
    public func tensorCoreFlashAttentionRoPEForward(qkv: Tensor, heads: Int, seqLen: Int, theta: Float, out: Tensor, logSumExp: Tensor) -> Tensor {
        let (_, d, _) = flashDims(qkv, heads: heads, seqLen: seqLen)
        let packed = packRotatedBF16(qkv, heads: heads, seqLen: seqLen, table: ropeTable(seqLen: seqLen, d: d, theta: theta))
        tensorCoreFlashAttentionForward(qkv: qkv, heads: heads, seqLen: seqLen, out: out, logSumExp: logSumExp, packed: packed)
        return packed
    }

    /// The tensor-core backward from the forward's rotated pack; dQkv w.r.t. the unrotated qkv.
    public func tensorCoreFlashAttentionRoPEBackward(
        dOut: Tensor, packed: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, theta: Float, dQkv: Tensor, overwrite: Bool
    ) {
        precondition(packed.dtype == .bfloat16 && packed.count == dQkv.count,
                     "tensorCoreFlashAttentionRoPEBackward: a pack of \(packed.count) \(packed.dtype) for dQkv \(dQkv.shape)")
        let (_, d, _) = flashDims(dQkv, heads: heads, seqLen: seqLen)
        tensorCoreFlashAttentionBackward(dOut: dOut, qkv: dQkv, out: out, logSumExp: logSumExp, heads: heads, seqLen: seqLen, dQkv: dQkv,
                                         overwrite: overwrite, rope: ropeTable(seqLen: seqLen, d: d, theta: theta), packed: packed)
    }

    /// `saved` is the forward's rotated bf16 pack (tensor-core path) or qkv itself.
    public func flashAttentionRoPEBackward(
        dOut: Tensor, saved: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, theta: Float, dQkv: Tensor, overwrite: Bool
    ) {
        if saved.dtype == .bfloat16 {
            return tensorCoreFlashAttentionRoPEBackward(dOut: dOut, packed: saved, out: out, logSumExp: logSumExp, heads: heads, seqLen: seqLen,
                                                        theta: theta, dQkv: dQkv, overwrite: overwrite)
        }
        let (_, d, _) = flashDims(dQkv, heads: heads, seqLen: seqLen)
        guard Self.usesTensorCoreFlash(computeDType: computeDType, headDim: d), tensorCoreAligned(saved, dOut, dQkv) else {
            return flashAttentionRoPEBackwardComposed(dOut: dOut, qkv: saved, out: out, logSumExp: logSumExp, heads: heads, seqLen: seqLen,
                                                      theta: theta, dQkv: dQkv, overwrite: overwrite)
        }
        tensorCoreFlashAttentionBackward(dOut: dOut, qkv: saved, out: out, logSumExp: logSumExp, heads: heads, seqLen: seqLen, dQkv: dQkv,
                                         overwrite: overwrite, rope: ropeTable(seqLen: seqLen, d: d, theta: theta))
    }

    /// `rope`: a RoPE table (`ropeTable`) when qkv is unrotated: q and k are rotated in the pack.
    /// `packed`: qkv's bf16 pack, already made (then qkv is only read for its shape).
    public func tensorCoreFlashAttentionForward(qkv: Tensor, heads: Int, seqLen: Int, out: Tensor, logSumExp: Tensor, rope: Tensor? = nil,
                                                packed: Tensor? = nil) {
        let (h, d, batch) = flashDims(qkv, heads: heads, seqLen: seqLen)
        precondition(out.shape == [qkv.rows, h] && logSumExp.count == batch * heads * seqLen,
                     "flashAttentionForward: out \(out.shape), logSumExp \(logSumExp.shape) for qkv \(qkv.shape), \(heads) heads")
        precondition(tensorCoreAligned(qkv, out) && FlashAttentionTensorCoreKernels.headWidths.contains(d),
                     "tensor-core flash attention: head width \(d) or unaligned tensors")
        let qkvB = packed ?? rope.map { packRotatedBF16(qkv, heads: heads, seqLen: seqLen, table: $0) }
            ?? packBF16(qkv, parts: 3, heads: heads, seqLen: seqLen)
        context.launch(FlashAttentionTensorCoreKernels.kernelName("fwd", headDim: d),
                       FlashAttentionTensorCoreLaunch.forward(batchHeads: batch * heads, seqLen: seqLen),
                       [ptr(qkvB), ptr(out), ptr(logSumExp), .int64(Int64(seqLen)), .int32(Int32(heads)),
                        .float(1 / Float(d).squareRoot())],
                       sharedBytes: FlashAttentionTensorCoreKernels.sharedBytes("fwd", headDim: d))
    }

    /// The tensor-core backward whatever the compute dtype (checks call it on an fp32 backend).
    /// `rope`: as in the forward; dQkv is then the gradient w.r.t. the unrotated qkv. `packed`: the
    /// forward's pack of qkv (rotated when `rope` is given); qkv is then only read for its shape.
    public func tensorCoreFlashAttentionBackward(
        dOut: Tensor, qkv: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, dQkv: Tensor, overwrite: Bool = false,
        rope: Tensor? = nil, packed: Tensor? = nil
    ) {
        let (d, batchHeads, delta) = flashBackwardChecks(dOut: dOut, qkv: qkv, out: out, logSumExp: logSumExp, heads: heads,
                                                         seqLen: seqLen, dQkv: dQkv, qkvIsShapeOnly: packed != nil)
        precondition(dQkv.dtype == .float32 || (dQkv.dtype == .bfloat16 && overwrite),
                     "tensor-core flash attention: a \(dQkv.dtype) dQkv is written (overwrite), never added to")
        precondition(tensorCoreAligned(qkv, dOut, dQkv) && FlashAttentionTensorCoreKernels.headWidths.contains(d),
                     "tensor-core flash attention: head width \(d) or unaligned tensors")
        let qkvB = packed ?? rope.map { packRotatedBF16(qkv, heads: heads, seqLen: seqLen, table: $0) }
            ?? packBF16(qkv, parts: 3, heads: heads, seqLen: seqLen)
        let dOutB = packBF16(dOut, parts: 1, heads: heads, seqLen: seqLen)
        let common: [KernelArgument] = [ptr(qkvB), ptr(dOutB), ptr(logSumExp), ptr(delta), ptr(dQkv), .int64(Int64(seqLen)),
                                        .int32(Int32(heads)), .float(1 / Float(d).squareRoot()), .int32(overwrite ? 1 : 0),
                                        .pointer(rope.map { devicePointer($0) }), .int32(dQkv.dtype == .bfloat16 ? 1 : 0)]
        // dq and dk/dv write disjoint columns of dQkv, each element by one thread: no atomics.
        launchTensorCore("dq", d: d, batchHeads: batchHeads, seqLen: seqLen, common)
        launchTensorCore("dkdv", d: d, batchHeads: batchHeads, seqLen: seqLen, common)
    }

    /// The tensor-core backward's launches one by one (bf16 packs, D_i, dq, dk/dv), each queued
    /// again by its closure, for the flash benchmark's breakdown; dQkv accumulates on every dq and
    /// dk/dv run, so the numbers it leaves there are not a gradient.
    public func tensorCoreFlashAttentionBackwardStages(
        dOut: Tensor, qkv: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, dQkv: Tensor
    ) -> [(name: String, run: () -> Void)] {
        let (d, batchHeads, delta) = flashBackwardChecks(dOut: dOut, qkv: qkv, out: out, logSumExp: logSumExp, heads: heads,
                                                         seqLen: seqLen, dQkv: dQkv)
        let qkvB = packBF16(qkv, parts: 3, heads: heads, seqLen: seqLen)
        let dOutB = packBF16(dOut, parts: 1, heads: heads, seqLen: seqLen)
        let common: [KernelArgument] = [ptr(qkvB), ptr(dOutB), ptr(logSumExp), ptr(delta), ptr(dQkv), .int64(Int64(seqLen)),
                                        .int32(Int32(heads)), .float(1 / Float(d).squareRoot()), .int32(0), .pointer(nil), .int32(0)]
        return [("pack qkv to bf16", { _ = self.packBF16(qkv, parts: 3, heads: heads, seqLen: seqLen) }),
                ("pack dO to bf16", { _ = self.packBF16(dOut, parts: 1, heads: heads, seqLen: seqLen) }),
                ("D_i", { _ = self.flashBackwardChecks(dOut: dOut, qkv: qkv, out: out, logSumExp: logSumExp, heads: heads,
                                                        seqLen: seqLen, dQkv: dQkv) }),
                ("dq", { self.launchTensorCore("dq", d: d, batchHeads: batchHeads, seqLen: seqLen, common) }),
                ("dkdv", { self.launchTensorCore("dkdv", d: d, batchHeads: batchHeads, seqLen: seqLen, common) })]
    }

    /// The dq or dk/dv kernel (with its dynamic shared bytes).
    private func launchTensorCore(_ pass: String, d: Int, batchHeads: Int, seqLen: Int, _ arguments: [KernelArgument]) {
        let shape = pass == "dq" ? FlashAttentionTensorCoreLaunch.dq(batchHeads: batchHeads, seqLen: seqLen)
                                 : FlashAttentionTensorCoreLaunch.dkdv(batchHeads: batchHeads, seqLen: seqLen)
        context.launch(FlashAttentionTensorCoreKernels.kernelName(pass, headDim: d), shape, arguments,
                       sharedBytes: FlashAttentionTensorCoreKernels.sharedBytes(pass, headDim: d))
    }

    /// Shape checks shared by both backward paths, then D_i = rowsum(dO ⊙ O) (fp32, a warp per row).
    /// `qkvIsShapeOnly`: qkv stands only for its shape (the kernels read a pack made in the forward).
    private func flashBackwardChecks(
        dOut: Tensor, qkv: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, dQkv: Tensor, qkvIsShapeOnly: Bool = false
    ) -> (d: Int, batchHeads: Int, delta: Tensor) {
        let (h, d, batch) = flashDims(qkv, heads: heads, seqLen: seqLen)
        let batchHeads = batch * heads
        precondition(dOut.shape == [qkv.rows, h] && out.shape == [qkv.rows, h] && dQkv.shape == qkv.shape
                     && logSumExp.count == batchHeads * seqLen,
                     "flashAttentionBackward: dOut \(dOut.shape), out \(out.shape), dQkv \(dQkv.shape), logSumExp \(logSumExp.shape)")
        precondition(qkvIsShapeOnly || dQkv.storage !== qkv.storage, "flashAttentionBackward: dQkv must not alias qkv (it accumulates)")
        let delta = makeOutput([batchHeads, seqLen])  // one warp writes each row's value
        context.launch("xmoe_flash_delta", FlashAttentionLaunch.delta(batchHeads: batchHeads, seqLen: seqLen),
                       [ptr(dOut), ptr(out), ptr(delta), .int64(Int64(seqLen)), .int32(Int32(heads)), .int32(Int32(d)),
                        .int64(Int64(batchHeads * seqLen))])
        return (d, batchHeads, delta)
    }

    /// The `parts` column blocks (N heads of width D each) of a fp32 [T, parts·N·D] tensor as bf16
    /// in the kernels' layout [part][b·N][s][D]: each head's rows contiguous, for 16-byte cp.async
    /// tiles (one pass over the input, the rounding the kernels would do on load anyway).
    private func packBF16(_ x: Tensor, parts: Int, heads: Int, seqLen: Int) -> Tensor {
        let packed = makeOutput([x.count], dtype: .bfloat16)  // the pack writes every element (x.count / 8 groups of 8)
        let d = x.columns / parts / heads
        context.launch(FlashAttentionTensorCoreKernels.packKernel, .elementwise(count: x.count / 8),
                       [ptr(x), ptr(packed), .int64(Int64(x.rows)), .int64(Int64(seqLen)), .int32(Int32(heads)), .int32(Int32(d)),
                        .int32(Int32(parts)), .int64(Int64(x.columns))])
        return packed
    }

    /// qkv's bf16 pack with q and k rotated by RoPE on the way (`table` from `ropeTable`).
    private func packRotatedBF16(_ qkv: Tensor, heads: Int, seqLen: Int, table: Tensor) -> Tensor {
        let packed = makeOutput([qkv.count], dtype: .bfloat16)
        let d = qkv.columns / 3 / heads
        context.launch(FlashAttentionTensorCoreKernels.packRoPEKernel, .elementwise(count: qkv.count / 8),
                       [ptr(qkv), ptr(packed), .int64(Int64(qkv.rows)), .int64(Int64(seqLen)), .int32(Int32(heads)), .int32(Int32(d)),
                        .int64(Int64(qkv.columns)), ptr(table)])
        return packed
    }

    private func tensorCoreAligned(_ tensors: Tensor...) -> Bool {
        FlashAttentionTensorCoreLaunch.aligned(tensors.map { UInt(bitPattern: devicePointer($0)) })
    }

    private func flashDims(_ qkv: Tensor, heads: Int, seqLen: Int) -> (h: Int, d: Int, batch: Int) {
        precondition(qkv.columns % 3 == 0 && heads > 0 && (qkv.columns / 3) % heads == 0,
                     "flash attention: qkv \(qkv.shape) is not [T, 3·N·D] for N = \(heads)")
        precondition(seqLen > 0 && qkv.rows % seqLen == 0, "flash attention: \(qkv.rows) tokens are not whole sequences of \(seqLen)")
        let h = qkv.columns / 3, d = h / heads
        if let reason = FlashAttentionLaunch.unsupportedHeadWidth(d) { preconditionFailure("flash attention: \(reason)") }
        return (h, d, qkv.rows / seqLen)
    }
}
