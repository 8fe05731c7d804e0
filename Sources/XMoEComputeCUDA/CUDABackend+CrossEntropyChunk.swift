import XMoECompute

// The chunked LM loss (CrossEntropyKernelSource): one launch per chunk, nothing read back.
extension CUDABackend {
    public func crossEntropyFused(logits: Tensor, targets: Tensor, rowOffset: Int, scale: Float, losses: Tensor, gradient: Tensor?) {
        let (rows, v) = (logits.rows, logits.columns)
        precondition(logits.dtype == .float32 && rowOffset >= 0 && rowOffset + rows <= targets.count && losses.count == targets.count,
                     "crossEntropyFused: logits \(logits.shape) \(logits.dtype), rows from \(rowOffset), targets \(targets.shape), losses \(losses.shape)")
        precondition(gradient.map { $0.count == logits.count && ($0.dtype == .float32 || $0.dtype == .bfloat16) } ?? true,
                     "crossEntropyFused: gradient \(gradient?.shape ?? []) \(gradient.map { "\($0.dtype)" } ?? "") for logits \(logits.shape)")
        let g32 = gradient.flatMap { $0.dtype == .float32 ? ptr($0) : nil } ?? .pointer(nil)
        let g16 = gradient.flatMap { $0.dtype == .bfloat16 ? ptr($0) : nil } ?? .pointer(nil)
        context.launch("xmoe_cross_entropy_chunk", .perRow(rows: rows),
                       [ptr(logits), ptr(targets, rowOffset), ptr(losses, rowOffset), .int64(Int64(v)), .float(scale), g32, g16])
    }
}
