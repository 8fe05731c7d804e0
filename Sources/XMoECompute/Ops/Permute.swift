// Permutation for the MoE block: the plan (which slot goes to which row of x_BH), the token of
// each row, and the unpermute as a gather over the inverse map (rowOfSlot_TK). The sums walk a
// token's rows in increasing row order, the order the scatter they replace used, so CPU results
// are bit-identical to it; a GPU thread per output element walks the same list (no atomics).
extension CPUBackend {
    public func permutePlan(expert: Tensor, weight: Tensor, experts: Int, capacity: Int?, kept: Tensor, rowOfSlot: Tensor) {
        let n = expert.count
        expectCount(weight, n, "permutePlan weight"); expectCount(rowOfSlot, n, "permutePlan rowOfSlot")
        expectCount(kept, experts, "permutePlan kept")
        precondition((capacity ?? 0) >= 0, "permutePlan: negative capacity \(capacity ?? 0)")
        let (pe, pw, pk, pr) = (expert.ints, weight.floats, kept.ints, rowOfSlot.ints)
        var byExpert = [[Int]](repeating: [], count: experts)
        for slot in 0..<n {
            let e = Int(pe[slot])
            precondition(e >= 0 && e < experts, "permutePlan: expert \(e) outside 0..<\(experts)")
            byExpert[e].append(slot)
        }
        if let capacity {
            for e in 0..<experts where byExpert[e].count > capacity {
                let ranked = byExpert[e].sorted { a, b in pw[a] != pw[b] ? pw[a] > pw[b] : a < b }
                byExpert[e] = ranked.prefix(capacity).sorted()
            }
        }
        for slot in 0..<n { pr[slot] = -1 }
        var row: Int32 = 0
        for e in 0..<experts {
            pk[e] = Int32(byExpert[e].count)
            for slot in byExpert[e] { pr[slot] = row; row += 1 }
        }
    }

    public func permuteTokens(rowOfSlot: Tensor, topK: Int, tokenOfRow: Tensor) {
        let pr = rowOfSlot.ints, pt = tokenOfRow.ints
        let rows = pr.filter { $0 >= 0 }.count
        expectCount(tokenOfRow, rows, "permuteTokens tokenOfRow")
        for slot in 0..<pr.count where pr[slot] >= 0 { pt[Int(pr[slot])] = Int32(slot / topK) }
    }

    public func unpermute(_ src: Tensor, rowOfSlot: Tensor, weight: Tensor?, topK: Int, into dst: Tensor, overwrite: Bool) {
        let (t, h) = (dst.rows, dst.columns)
        expectCount(rowOfSlot, t * topK, "unpermute rowOfSlot")
        if let weight { expectCount(weight, t * topK, "unpermute weight") }
        precondition(src.columns == h, "unpermute: src \(src.shape) for dst \(dst.shape)")
        if src.dtype != .float32 {
            // The widening is exact, so this is the fp32 sum of the 16-bit values (the GPU's numerics).
            return unpermute(converted(src, to: .float32), rowOfSlot: rowOfSlot, weight: weight, topK: topK, into: dst, overwrite: overwrite)
        }
        let (ps, pr, pd) = (src.floats, rowOfSlot.ints, dst.floats)
        let pw = weight?.floats, srcRows = src.rows
        parallelFor(t, minPerChunk: 16) { tokens in
            for token in tokens {
                let rows = keptRows(pr, token: token, topK: topK)
                // Zeros first, then the same adds: exactly what adding into a zeroed dst gives.
                if overwrite { for c in 0..<h { pd[token * h + c] = 0 } }
                for (slot, b) in rows {
                    precondition(b < srcRows, "unpermute: row \(b) outside \(srcRows) rows")
                    let (to, from) = (token * h, b * h)
                    if let pw {
                        let w = pw[slot]
                        for c in 0..<h { pd[to + c] += w * ps[from + c] }
                    } else {
                        for c in 0..<h { pd[to + c] += ps[from + c] }
                    }
                }
            }
        }
    }

    public func unpermuteBackward(
        dDst: Tensor, src: Tensor, rowOfSlot: Tensor, weight: Tensor, topK: Int, dSrc: Tensor, dWeight: Tensor, overwriteDSrc: Bool
    ) {
        let (t, h) = (dDst.rows, dDst.columns)
        expectCount(rowOfSlot, t * topK, "unpermuteBackward rowOfSlot"); expectCount(weight, t * topK, "unpermuteBackward weight")
        expectCount(dWeight, t * topK, "unpermuteBackward dWeight")
        precondition(src.shape == dSrc.shape && src.columns == h, "unpermuteBackward: src \(src.shape), dSrc \(dSrc.shape), dDst \(dDst.shape)")
        if src.dtype != .float32 {
            // Exact widening: dWeight's dots are the fp32 dots of the 16-bit values.
            return unpermuteBackward(dDst: dDst, src: converted(src, to: .float32), rowOfSlot: rowOfSlot, weight: weight, topK: topK,
                                     dSrc: dSrc, dWeight: dWeight, overwriteDSrc: overwriteDSrc)
        }
        if dSrc.dtype != .float32 {
            // Written, not added to: each kept row has one slot (the sum into zeros, then one rounding).
            let dSrc32 = makeOutput(dSrc.shape)
            unpermuteBackward(dDst: dDst, src: src, rowOfSlot: rowOfSlot, weight: weight, topK: topK, dSrc: dSrc32, dWeight: dWeight,
                              overwriteDSrc: true)
            return convert(dSrc32, to: dSrc)
        }
        let (pd, ps, pr, pw, pds, pdw) = (dDst.floats, src.floats, rowOfSlot.ints, weight.floats, dSrc.floats, dWeight.floats)
        let srcRows = src.rows
        parallelFor(t * topK, minPerChunk: 16) { slots in
            for slot in slots where pr[slot] >= 0 {
                let b = Int(pr[slot])
                precondition(b < srcRows, "unpermuteBackward: row \(b) outside \(srcRows) rows")
                let (from, w) = ((slot / topK) * h, pw[slot])
                var dot: Float = 0
                for c in 0..<h {
                    let g = pd[from + c]
                    pds[b * h + c] = (overwriteDSrc ? 0 : pds[b * h + c]) + w * g
                    dot += ps[b * h + c] * g
                }
                pdw[slot] += dot
            }
        }
    }
}

/// The kept (slot, row) pairs of one token, in increasing row order.
private func keptRows(_ rowOfSlot: UnsafeMutableBufferPointer<Int32>, token: Int, topK: Int) -> [(slot: Int, row: Int)] {
    var rows: [(slot: Int, row: Int)] = []
    for slot in (token * topK)..<(token * topK + topK) where rowOfSlot[slot] >= 0 { rows.append((slot, Int(rowOfSlot[slot]))) }
    rows.sort { $0.row < $1.row }
    return rows
}
