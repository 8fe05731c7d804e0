import XMoECompute

// The chunked LM loss (CrossEntropyKernelSource): one launch per chunk, nothing read back.
extension CUDABackend {
    public func crossEntropyFused(logits: Tensor, targets: Tensor, rowOffset: Int, scale: Float, losses: Tensor) {
        let (rows, v) = (logits.rows, logits.columns)
        precondition(logits.dtype == .float32 && rowOffset >= 0 && rowOffset + rows <= targets.count && losses.count == targets.count,
                     "crossEntropyFused: logits \(logits.shape) \(logits.dtype), rows from \(rowOffset), targets \(targets.shape), losses \(losses.shape)")
        context.launch("xmoe_cross_entropy_chunk", .perRow(rows: rows),
                       [ptr(logits), ptr(targets, rowOffset), ptr(losses, rowOffset), .int64(Int64(v)), .float(scale)])
    }
}
