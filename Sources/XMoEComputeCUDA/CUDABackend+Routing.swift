import XMoECompute

// Row movement for routing, the embedding, the loss. Index bounds are the caller's invariant
// (the CPU backend checks them; a GPU check would need a read-back, a synchronisation).
extension CUDABackend {
    public func gatherRows(_ src: Tensor, index: Tensor, into dst: Tensor) {
        let (n, h) = (index.count, src.columns)
        precondition(dst.shape == [n, h], "gatherRows: dst \(dst.shape), expected [\(n), \(h)]")
        if n > 0, rowsAreQuads(h, [src, dst]) {
            return context.launch("xmoe_gather_rows4", .perRow(rows: n), [ptr(src), ptr(index), ptr(dst), .int64(Int64(h / 4))])
        }
        context.launch("xmoe_gather_rows", .elementwise(count: n * h), [ptr(src), ptr(index), ptr(dst), .int64(Int64(n)), .int64(Int64(h))])
    }

    public func gatherRowsBackward(dDst: Tensor, index: Tensor, dSrc: Tensor) {
        let (n, h) = (index.count, dSrc.columns)
        precondition(dDst.shape == [n, h], "gatherRowsBackward: dDst \(dDst.shape), expected [\(n), \(h)]")
        guard n > 0 else { return }
        segmentSum(dDst, index: index, weight: nil, into: dSrc)
    }

    public func scatterAddRows(_ src: Tensor, index: Tensor, weight: Tensor, into dst: Tensor) {
        let (n, h) = (index.count, dst.columns)
        precondition(src.shape == [n, h] && weight.count == n, "scatterAddRows: src \(src.shape), weight \(weight.shape)")
        guard n > 0 else { return }
        segmentSum(src, index: index, weight: weight, into: dst)
    }

    /// dst[index[b]] += (weight[b] ·) src[b] in increasing b, without atomics: a stable sort of the
    /// indices lists each destination row's sources in order, then a thread per output element
    /// sums its list. The same order as the CPU's loop, so the same result up to fma contraction.
    private func segmentSum(_ src: Tensor, index: Tensor, weight: Tensor?, into dst: Tensor) {
        let rows = dst.rows, h = dst.columns
        let order = makeTensor([index.count], dtype: .int32), counts = makeTensor([rows], dtype: .int32)
        let starts = sortByKey(index, keyCount: rows, order: order, counts: counts)
        context.launch("xmoe_segment_sum_rows", .elementwise(count: rows * h),
                       [ptr(src), ptr(order), ptr(starts), ptr(counts), weight.map { ptr($0) } ?? .pointer(nil), ptr(dst),
                        .int64(Int64(rows)), .int64(Int64(h))])
    }

    /// The multi-block stable counting sort; returns the start of each key's run in `order`.
    @discardableResult
    private func sortByKey(_ keys: Tensor, keyCount: Int, order: Tensor, counts: Tensor) -> Tensor {
        let n = keys.count, blocks = (n + KernelSource.sortBlock - 1) / KernelSource.sortBlock
        let table = makeTensor([max(blocks, 1), keyCount], dtype: .int32), localRank = makeTensor([max(n, 1)], dtype: .int32)
        let starts = makeTensor([keyCount], dtype: .int32)
        if blocks > 0 {
            context.launch("xmoe_sort_local", LaunchShape(grid: (UInt32(blocks), 1, 1), block: (UInt32(KernelSource.sortBlock), 1, 1)),
                           [ptr(keys), .int64(Int64(n)), .int32(Int32(keyCount)), ptr(table), ptr(localRank)])
        }
        context.launch("xmoe_sort_scan_blocks", .elementwise(count: keyCount),
                       [ptr(table), .int32(Int32(blocks)), .int32(Int32(keyCount)), ptr(counts)])
        context.launch("xmoe_exclusive_scan", .singleBlock(threads: 1024), [ptr(counts), .int32(Int32(keyCount)), ptr(starts)])
        context.launch("xmoe_sort_scatter", .elementwise(count: n),
                       [ptr(keys), .int64(Int64(n)), .int32(Int32(keyCount)), ptr(table), ptr(starts), ptr(localRank), ptr(order)])
        return starts
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
        sortByKey(keys, keyCount: keyCount, order: order, counts: counts)
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
