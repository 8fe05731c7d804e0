import XMoECompute

// Flash attention (FlashAttention-2's algorithm on CUDA cores, fp32; kernels in
// FlashAttentionKernels): never stores the S×S probabilities, only the row log-sum-exp.
extension CUDABackend {
    public func flashAttentionForward(qkv: Tensor, heads: Int, seqLen: Int, out: Tensor, logSumExp: Tensor) {
        let (h, d, batch) = flashDims(qkv, heads: heads, seqLen: seqLen)
        precondition(out.shape == [qkv.rows, h] && logSumExp.count == batch * heads * seqLen,
                     "flashAttentionForward: out \(out.shape), logSumExp \(logSumExp.shape) for qkv \(qkv.shape), \(heads) heads")
        context.launch("xmoe_flash_fwd", FlashAttentionLaunch.forward(batchHeads: batch * heads, seqLen: seqLen),
                       [ptr(qkv), ptr(out), ptr(logSumExp), .int64(Int64(seqLen)), .int32(Int32(heads)), .int32(Int32(d)),
                        .float(1 / Float(d).squareRoot())])
    }

    public func flashAttentionBackward(
        dOut: Tensor, qkv: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, dQkv: Tensor
    ) {
        let (h, d, batch) = flashDims(qkv, heads: heads, seqLen: seqLen)
        let batchHeads = batch * heads
        precondition(dOut.shape == [qkv.rows, h] && out.shape == [qkv.rows, h] && dQkv.shape == qkv.shape
                     && logSumExp.count == batchHeads * seqLen,
                     "flashAttentionBackward: dOut \(dOut.shape), out \(out.shape), dQkv \(dQkv.shape), logSumExp \(logSumExp.shape)")
        precondition(dQkv.storage !== qkv.storage, "flashAttentionBackward: dQkv must not alias qkv (it accumulates)")
        let delta = makeTensor([batchHeads, seqLen])
        context.launch("xmoe_flash_delta", FlashAttentionLaunch.delta(batchHeads: batchHeads, seqLen: seqLen),
                       [ptr(dOut), ptr(out), ptr(delta), .int64(Int64(seqLen)), .int32(Int32(heads)), .int32(Int32(d)),
                        .int64(Int64(batchHeads * seqLen))])
        let common: [KernelArgument] = [ptr(qkv), ptr(dOut), ptr(logSumExp), ptr(delta), ptr(dQkv), .int64(Int64(seqLen)),
                                        .int32(Int32(heads)), .int32(Int32(d)), .float(1 / Float(d).squareRoot())]
        // dq and dk/dv write disjoint columns of dQkv, each row by one thread: no atomics.
        context.launch("xmoe_flash_dq", FlashAttentionLaunch.dq(batchHeads: batchHeads, seqLen: seqLen), common)
        context.launch("xmoe_flash_dkdv", FlashAttentionLaunch.dkdv(batchHeads: batchHeads, seqLen: seqLen), common)
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
