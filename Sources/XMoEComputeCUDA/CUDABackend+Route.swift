import XMoECompute

// Routing and permutation on the device (RouteKernelSource): nothing here reads back; the model
// reads only the kept counts (the all-to-all splits and grouped GEMM offsets need them).
extension CUDABackend {
    public func routeForward(
        logits: Tensor, bias: Tensor?, gating: RouteGating, topK k: Int,
        scores: Tensor, expert: Tensor, weight: Tensor, routed: Tensor, losses: Tensor
    ) {
        let (t, e) = (logits.rows, logits.columns)
        precondition(k >= 1 && k <= min(e, maxRouteTopK) && e <= 1023, "routeForward: topK \(k) for \(e) experts")
        precondition(scores.shape == logits.shape && expert.count == t * k && weight.count == t * k && routed.count == e && losses.count == 2,
                     "routeForward: logits \(logits.shape), scores \(scores.shape), expert \(expert.shape), weight \(weight.shape)")
        precondition(gating != .sigmoidBias || bias?.count == e, "routeForward: sigmoid_bias needs a bias of \(e) values")
        let balance = makeTensor([t, e]), z2 = makeTensor([max(t, 1) * 2])  // z2: doubles
        zero(routed)
        context.launch("xmoe_route_topk", Self.perToken(t),
                       [ptr(logits), bias.map { ptr($0) } ?? .pointer(nil), .int32(gating.rawValue), .int32(Int32(e)), .int32(Int32(k)),
                        .int64(Int64(t)), ptr(scores), ptr(balance), ptr(expert), ptr(weight), ptr(z2), ptr(routed)])
        let chunks = (t + RouteKernelSource.statsChunk - 1) / RouteKernelSource.statsChunk
        let partial = makeTensor([max(chunks, 1) * (e + 1) * 2])  // doubles
        let threads = UInt32(min(((e + 1 + 31) / 32) * 32, 1024))
        if chunks > 0 {
            context.launch("xmoe_route_stats_chunk", LaunchShape(grid: (UInt32(chunks), 1, 1), block: (threads, 1, 1)),
                           [ptr(balance), ptr(z2), .int32(Int32(e)), .int64(Int64(t)), .int32(Int32(RouteKernelSource.statsChunk)), ptr(partial)])
        }
        context.launch("xmoe_route_stats_final", LaunchShape(grid: (1, 1, 1), block: (threads, 1, 1)),
                       [ptr(partial), .int32(Int32(chunks)), ptr(routed), .int32(Int32(e)), .int32(Int32(k)), .int64(Int64(t)), ptr(losses)])
    }

    public func routeBackward(
        logits: Tensor, scores: Tensor, expert: Tensor, weight: Tensor, routed: Tensor, dWeight: Tensor,
        gating: RouteGating, auxCoeff: Float, zCoeff: Float, dLogits: Tensor
    ) {
        let (t, e) = (logits.rows, logits.columns), k = t == 0 ? 0 : expert.count / t
        precondition(scores.shape == logits.shape && dLogits.shape == logits.shape && weight.count == t * k && dWeight.count == t * k
                     && routed.count == e, "routeBackward: logits \(logits.shape), dLogits \(dLogits.shape), weight \(weight.shape)")
        guard t > 0 else { return }
        // The CPU's expression, evaluated on the host the same way.
        let auxScale = auxCoeff * Float(e) / Float(k) / Float(t)
        let dScores = makeTensor([t, e])
        context.launch("xmoe_route_bwd", Self.perToken(t),
                       [ptr(logits), ptr(scores), ptr(expert), ptr(weight), ptr(routed), ptr(dWeight), .int32(gating.rawValue),
                        .int32(Int32(e)), .int32(Int32(k)), .int64(Int64(t)), .float(auxScale), .float(zCoeff), ptr(dScores), ptr(dLogits)])
    }

    public func permutePlan(expert: Tensor, weight: Tensor, experts: Int, capacity: Int?, kept: Tensor, rowOfSlot: Tensor) {
        let n = expert.count
        precondition(weight.count == n && rowOfSlot.count == n && kept.count == experts && experts > 0 && (capacity ?? 0) >= 0,
                     "permutePlan: expert \(expert.shape), weight \(weight.shape), rowOfSlot \(rowOfSlot.shape), kept \(kept.shape)")
        let cap = Int32(clamping: capacity ?? -1)
        let order = makeTensor([n], dtype: .int32), routed = makeTensor([experts], dtype: .int32)
        stableArgsort(keys: expert, keyCount: experts, order: order, counts: routed)
        let starts = makeTensor([experts], dtype: .int32), keptStart = makeTensor([experts], dtype: .int32)
        context.launch("xmoe_exclusive_scan", .singleBlock(threads: 1024), [ptr(routed), .int32(Int32(experts)), ptr(starts)])
        let flag = makeTensor([max(n, 1)], dtype: .int32)
        context.launch("xmoe_permute_keep", .elementwise(count: n),
                       [ptr(order), ptr(expert), ptr(weight), ptr(starts), ptr(routed), .int32(cap), .int64(Int64(n)), ptr(flag)])
        context.launch("xmoe_permute_kept_counts", .elementwise(count: experts), [ptr(routed), .int32(cap), .int32(Int32(experts)), ptr(kept)])
        context.launch("xmoe_exclusive_scan", .singleBlock(threads: 1024), [ptr(kept), .int32(Int32(experts)), ptr(keptStart)])
        context.launch("xmoe_permute_rows", .elementwise(count: n),
                       [ptr(order), ptr(expert), ptr(starts), ptr(routed), ptr(flag), ptr(keptStart), .int32(cap), .int64(Int64(n)), ptr(rowOfSlot)])
    }

    public func permuteTokens(rowOfSlot: Tensor, topK: Int, tokenOfRow: Tensor) {
        let n = rowOfSlot.count
        context.launch("xmoe_permute_tokens", .elementwise(count: n), [ptr(rowOfSlot), .int32(Int32(topK)), .int64(Int64(n)), ptr(tokenOfRow)])
    }

    public func unpermute(_ src: Tensor, rowOfSlot: Tensor, weight: Tensor?, topK: Int, into dst: Tensor, overwrite: Bool) {
        let (t, h) = (dst.rows, dst.columns)
        precondition(rowOfSlot.count == t * topK && (weight?.count ?? t * topK) == t * topK && src.columns == h && topK <= maxRouteTopK,
                     "unpermute: src \(src.shape), dst \(dst.shape), rowOfSlot \(rowOfSlot.shape)")
        precondition((src.dtype == .float32 || src.dtype == .bfloat16) && dst.dtype == .float32,
                     "unpermute: a \(src.dtype) src into a \(dst.dtype) dst (float32 or bfloat16 into float32)")
        guard h > 0 else { return }
        let srcKind = src.dtype == .bfloat16 ? "_bf16src" : ""
        if rowsSplitIntoQuads(h, [src, dst]) {
            return context.launch("xmoe_unpermute4" + srcKind, .perRow(rows: t),
                                  [ptr(src), ptr(rowOfSlot), weight.map { ptr($0) } ?? .pointer(nil), .int32(Int32(topK)),
                                   .int64(Int64(h / 4)), ptr(dst), .int32(overwrite ? 1 : 0)])
        }
        context.launch("xmoe_unpermute" + srcKind, .perRow(rows: t),
                       [ptr(src), ptr(rowOfSlot), weight.map { ptr($0) } ?? .pointer(nil), .int32(Int32(topK)), .int64(Int64(h)), ptr(dst),
                        .int32(overwrite ? 1 : 0)])
    }

    public func unpermuteBackward(
        dDst: Tensor, src: Tensor, rowOfSlot: Tensor, weight: Tensor, topK: Int, dSrc: Tensor, dWeight: Tensor, overwriteDSrc: Bool
    ) {
        let (t, h) = (dDst.rows, dDst.columns)
        precondition(rowOfSlot.count == t * topK && weight.count == t * topK && dWeight.count == t * topK
                     && src.shape == dSrc.shape && src.columns == h,
                     "unpermuteBackward: dDst \(dDst.shape), src \(src.shape), dSrc \(dSrc.shape), rowOfSlot \(rowOfSlot.shape)")
        precondition(dDst.dtype == .float32 && [src, dSrc].allSatisfy { $0.dtype == .float32 || $0.dtype == .bfloat16 },
                     "unpermuteBackward: dDst \(dDst.dtype), src \(src.dtype), dSrc \(dSrc.dtype) (float32 dDst; float32 or bfloat16 src, dSrc)")
        guard h > 0 else { return }
        let srcKind = src.dtype == .bfloat16 ? "_bf16src" : ""
        let quads = rowsSplitIntoQuads(h, [dDst, src, dSrc])
        if dSrc.dtype != .float32 {
            if quads {
                return context.launch("xmoe_unpermute_bwd4" + srcKind + "_bf16", .perRow(rows: t * topK),
                                      [ptr(dDst), ptr(src), ptr(rowOfSlot), ptr(weight), .int32(Int32(topK)), .int64(Int64(h / 4)),
                                       ptr(dSrc), ptr(dWeight)])
            }
            // Rows that do not split into aligned quads: the fp32 kernel (writing, as into zeros), then one rounding.
            let dSrc32 = makeOutput(dSrc.shape)
            unpermuteBackward(dDst: dDst, src: src, rowOfSlot: rowOfSlot, weight: weight, topK: topK, dSrc: dSrc32, dWeight: dWeight,
                              overwriteDSrc: true)
            return convert(dSrc32, to: dSrc)
        }
        if quads {
            return context.launch("xmoe_unpermute_bwd4" + srcKind, .perRow(rows: t * topK),
                                  [ptr(dDst), ptr(src), ptr(rowOfSlot), ptr(weight), .int32(Int32(topK)), .int64(Int64(h / 4)),
                                   ptr(dSrc), ptr(dWeight), .int32(overwriteDSrc ? 1 : 0)])
        }
        context.launch("xmoe_unpermute_bwd" + srcKind, .perRow(rows: t * topK),
                       [ptr(dDst), ptr(src), ptr(rowOfSlot), ptr(weight), .int32(Int32(topK)), .int64(Int64(h)), ptr(dSrc), ptr(dWeight),
                        .int32(overwriteDSrc ? 1 : 0)])
    }

    /// Whether rows `h` wide of fp32 or bf16 tensors can be walked four elements at a time: h a
    /// multiple of 4 and every base address aligned to four elements (16 bytes for fp32, 8 for bf16),
    /// so every row start is.
    func rowsSplitIntoQuads(_ h: Int, _ tensors: [Tensor]) -> Bool {
        h % 4 == 0 && tensors.allSatisfy { Int(bitPattern: devicePointer($0)) % (4 * $0.dtype.byteSize) == 0 }
    }

    /// A thread per token in small blocks; nil for no tokens.
    static func perToken(_ tokens: Int) -> LaunchShape? {
        guard tokens > 0 else { return nil }
        let block = RouteKernelSource.tokenBlock
        return LaunchShape(grid: (UInt32((tokens + block - 1) / block), 1, 1), block: (UInt32(block), 1, 1))
    }
}
