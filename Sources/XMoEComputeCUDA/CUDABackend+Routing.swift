import XMoECompute

// Row movement for routing, the embedding, the loss. Index bounds are the caller's invariant
// (the CPU backend checks them; a GPU check would need a read-back, a synchronisation).
extension CUDABackend {
    public func gatherRows(_ src: Tensor, index: Tensor, into dst: Tensor) {
        let (n, h) = (index.count, src.columns)
        precondition(dst.shape == [n, h], "gatherRows: dst \(dst.shape), expected [\(n), \(h)]")
        context.launch("xmoe_gather_rows", .elementwise(count: n * h), [ptr(src), ptr(index), ptr(dst), .int64(Int64(n)), .int64(Int64(h))])
    }

    public func gatherRowsBackward(dDst: Tensor, index: Tensor, dSrc: Tensor) {
        let (n, h) = (index.count, dSrc.columns)
        precondition(dDst.shape == [n, h], "gatherRowsBackward: dDst \(dDst.shape), expected [\(n), \(h)]")
        guard n > 0 else { return }
        context.launch("xmoe_gather_rows_bwd", .elementwise(count: h), [ptr(dDst), ptr(index), ptr(dSrc), .int64(Int64(n)), .int64(Int64(h))])
    }

    public func scatterAddRows(_ src: Tensor, index: Tensor, weight: Tensor, into dst: Tensor) {
        let (n, h) = (index.count, dst.columns)
        precondition(src.shape == [n, h] && weight.count == n, "scatterAddRows: src \(src.shape), weight \(weight.shape)")
        guard n > 0 else { return }
        context.launch("xmoe_scatter_add_rows", .elementwise(count: h),
                       [ptr(src), ptr(index), ptr(weight), ptr(dst), .int64(Int64(n)), .int64(Int64(h))])
    }

    public func scatterAddRowsBackward(
        dDst: Tensor, src: Tensor, index: Tensor, weight: Tensor, dSrc: Tensor, dWeight: Tensor
    ) {
        let (n, h) = (index.count, dDst.columns)
        precondition(src.shape == [n, h] && dSrc.shape == [n, h] && weight.count == n && dWeight.count == n,
                     "scatterAddRowsBackward: src \(src.shape), dSrc \(dSrc.shape), weight \(weight.shape)")
        context.launch("xmoe_scatter_add_rows_bwd", .perRow(rows: n),
                       [ptr(dDst), ptr(src), ptr(index), ptr(weight), ptr(dSrc), ptr(dWeight), .int64(Int64(h))])
    }

    public func stableArgsort(keys: Tensor, keyCount: Int, order: Tensor, counts: Tensor) {
        precondition(order.count == keys.count && counts.count == keyCount, "stableArgsort: order \(order.shape), counts \(counts.shape)")
        guard keyCount > 0 else { return }
        context.launch("xmoe_stable_argsort", .singleBlock(threads: keyCount),
                       [ptr(keys), .int64(Int64(keys.count)), .int32(Int32(keyCount)), ptr(order), ptr(counts)])
    }

    public func embeddingForward(tokens: Tensor, table: Tensor, out: Tensor) {
        gatherRows(table, index: tokens, into: out)
    }

    public func embeddingBackward(tokens: Tensor, dOut: Tensor, dTable: Tensor) {
        gatherRowsBackward(dDst: dOut, index: tokens, dSrc: dTable)
    }

    public func crossEntropyForward(logits: Tensor, targets: Tensor, probs: Tensor, losses: Tensor) {
        let (rows, v) = (logits.rows, logits.columns)
        precondition(probs.shape == logits.shape && targets.count == rows && losses.count == rows,
                     "crossEntropyForward: logits \(logits.shape), probs \(probs.shape), targets \(targets.shape)")
        context.launch("xmoe_cross_entropy_fwd", .perRow(rows: rows), [ptr(logits), ptr(targets), ptr(probs), ptr(losses), .int64(Int64(v))])
    }

    public func crossEntropyBackward(probs: Tensor, targets: Tensor, dLosses: Tensor, dLogits: Tensor) {
        let (rows, v) = (probs.rows, probs.columns)
        precondition(dLogits.shape == probs.shape && targets.count == rows && dLosses.count == rows,
                     "crossEntropyBackward: probs \(probs.shape), dLogits \(dLogits.shape)")
        context.launch("xmoe_cross_entropy_bwd", .elementwise(count: rows * v),
                       [ptr(probs), ptr(targets), ptr(dLosses), ptr(dLogits), .int64(Int64(rows)), .int64(Int64(v))])
    }
}
