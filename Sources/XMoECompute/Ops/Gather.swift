// Row movement for routing: permute tokens into expert order and combine expert outputs back.
// Scatters can hit one destination row many times, so they split over columns and walk the
// sources in increasing order: the sum order never depends on the thread count.
extension CPUBackend {
    public func gatherRows(_ src: Tensor, index: Tensor, into dst: Tensor) {
        let (n, h) = (index.count, src.columns)
        expectShape(dst, [n, h], "gatherRows dst")
        let (ps, pi, pd) = (src.floats, index.ints, dst.floats)
        let srcRows = src.rows
        parallelFor(n, minPerChunk: 16) { r in
            for b in r {
                let from = Int(pi[b])
                precondition(from >= 0 && from < srcRows, "gatherRows: index \(from) outside \(srcRows) rows")
                for c in 0..<h { pd[b * h + c] = ps[from * h + c] }
            }
        }
    }

    public func gatherRowsBackward(dDst: Tensor, index: Tensor, dSrc: Tensor) {
        let (n, h) = (index.count, dSrc.columns)
        expectShape(dDst, [n, h], "gatherRowsBackward dDst")
        checkIndices(index, below: dSrc.rows, "gatherRowsBackward")
        let (pd, pi, ps) = (dDst.floats, index.ints, dSrc.floats)
        parallelFor(h, minPerChunk: 64) { cr in
            for b in 0..<n {
                let to = Int(pi[b]) * h
                for c in cr { ps[to + c] += pd[b * h + c] }
            }
        }
    }

    public func scatterAddRows(_ src: Tensor, index: Tensor, weight: Tensor, into dst: Tensor) {
        let (n, h) = (index.count, dst.columns)
        expectShape(src, [n, h], "scatterAddRows src"); expectCount(weight, n, "scatterAddRows weight")
        checkIndices(index, below: dst.rows, "scatterAddRows")
        let (ps, pi, pw, pd) = (src.floats, index.ints, weight.floats, dst.floats)
        parallelFor(h, minPerChunk: 64) { cr in
            for b in 0..<n {
                let (to, w) = (Int(pi[b]) * h, pw[b])
                for c in cr { pd[to + c] += w * ps[b * h + c] }
            }
        }
    }

    public func scatterAddRowsBackward(
        dDst: Tensor, src: Tensor, index: Tensor, weight: Tensor, dSrc: Tensor, dWeight: Tensor
    ) {
        let (n, h) = (index.count, dDst.columns)
        expectShape(src, [n, h], "scatterAddRowsBackward src"); expectShape(dSrc, [n, h], "scatterAddRowsBackward dSrc")
        expectCount(weight, n, "scatterAddRowsBackward weight"); expectCount(dWeight, n, "scatterAddRowsBackward dWeight")
        checkIndices(index, below: dDst.rows, "scatterAddRowsBackward")
        let (pd, ps, pi, pw, pds, pdw) = (dDst.floats, src.floats, index.ints, weight.floats, dSrc.floats, dWeight.floats)
        parallelFor(n, minPerChunk: 16) { r in
            for b in r {
                let (from, w) = (Int(pi[b]) * h, pw[b])
                var dot: Float = 0
                for c in 0..<h {
                    let g = pd[from + c]
                    pds[b * h + c] += w * g
                    dot += ps[b * h + c] * g
                }
                pdw[b] += dot
            }
        }
    }

    private func checkIndices(_ index: Tensor, below limit: Int, _ name: String) {
        for i in index.ints where i < 0 || Int(i) >= limit {
            preconditionFailure("\(name): index \(i) outside \(limit) rows")
        }
    }
}
