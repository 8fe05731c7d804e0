// Linear maps built from the gemm primitives, so every backend gets them for free.
extension Backend {
    /// out_TO = x_TI · w_IO (+ b_O).
    public func linearForward(x: Tensor, w: Tensor, b: Tensor?, out: Tensor) {
        let (t, i, o) = (x.rows, x.columns, out.columns)
        precondition(w.shape == [i, o] && out.rows == t, "linearForward: x \(x.shape), w \(w.shape), out \(out.shape)")
        gemm(transA: false, transB: false, m: t, n: o, k: i, alpha: 1, a: x, aOffset: 0, lda: i,
             b: w, bOffset: 0, ldb: o, beta: 0, c: out, cOffset: 0, ldc: o)
        if let b { addBias(out, bias: b, biasOffset: 0, rows: 0..<t) }
    }

    /// dX_TI += dOut · wᵀ;  dW_IO += xᵀ · dOut;  dB_O += Σ_t dOut.  Pass nil to skip a gradient.
    /// `overwriteDX`: dX_TI = dOut · wᵀ instead (beta 0), for a dX fresh from `makeOutput`.
    public func linearBackward(x: Tensor, w: Tensor, dOut: Tensor, dX: Tensor?, dW: Tensor?, dB: Tensor?, overwriteDX: Bool = false) {
        let (t, i, o) = (x.rows, x.columns, dOut.columns)
        precondition(w.shape == [i, o] && dOut.rows == t, "linearBackward: x \(x.shape), w \(w.shape), dOut \(dOut.shape)")
        if let dX {
            gemm(transA: false, transB: true, m: t, n: i, k: o, alpha: 1, a: dOut, aOffset: 0, lda: o,
                 b: w, bOffset: 0, ldb: o, beta: overwriteDX ? 0 : 1, c: dX, cOffset: 0, ldc: i)
        }
        if let dW {
            gemm(transA: true, transB: false, m: i, n: o, k: t, alpha: 1, a: x, aOffset: 0, lda: i,
                 b: dOut, bOffset: 0, ldb: o, beta: 1, c: dW, cOffset: 0, ldc: o)
        }
        if let dB { sumRows(dOut, rows: 0..<t, into: dB, outOffset: 0) }
    }

    /// The experts' linear map: segment g (rows [rowOffsets[g], +rowCounts[g]) of x_BI) goes through
    /// its own w_g = w_GIO[g] (+ b_GO[g]).  out_BO rows outside every segment are left untouched.
    public func groupedLinearForward(
        x: Tensor, w: Tensor, b: Tensor?, rowOffsets: [Int], rowCounts: [Int], out: Tensor
    ) {
        groupedLinearForwardUnfused(x: x, w: w, b: b, rowOffsets: rowOffsets, rowCounts: rowCounts, out: out)
    }

    /// `groupedLinearForward` as the grouped GEMM, then a separate bias pass (what a backend that
    /// fuses the bias falls back to).
    public func groupedLinearForwardUnfused(
        x: Tensor, w: Tensor, b: Tensor?, rowOffsets: [Int], rowCounts: [Int], out: Tensor
    ) {
        let (i, o) = (x.columns, out.columns)
        precondition(w.shape == [rowCounts.count, i, o], "groupedLinearForward: w \(w.shape), expected [\(rowCounts.count), \(i), \(o)]")
        if out.dtype != .float32 {
            // fp32 sums, the bias added before the one rounding (what a bf16 epilogue does); only the
            // segments' rows are converted, so the rows outside them stay untouched.
            let wide = makeOutput(out.shape)
            groupedLinearForwardUnfused(x: x, w: w, b: b, rowOffsets: rowOffsets, rowCounts: rowCounts, out: wide)
            return convertSegmentRows(wide, into: out, rowOffsets: rowOffsets, rowCounts: rowCounts)
        }
        groupedGemm(transB: false, k: i, n: o, alpha: 1, a: x, w: w, beta: 0, c: out,
                    rowOffsets: rowOffsets, rowCounts: rowCounts)
        if let b { addSegmentBias(out, bias: b, rowOffsets: rowOffsets, rowCounts: rowCounts) }
    }

    /// dX[seg] += dOut[seg] · w_gᵀ;  dW_g += x[seg]ᵀ · dOut[seg];  dB_g += Σ_seg dOut.
    /// `overwriteDX`: dX[seg] = dOut[seg] · w_gᵀ instead, for a dX fresh from `makeOutput` (no zero
    /// fill, no read); the segments must then tile dX's rows. `overwriteDW`: dW_g = x[seg]ᵀ · dOut[seg]
    /// (see `groupedGemmWeightGrad`'s `overwrite`).
    public func groupedLinearBackward(
        x: Tensor, w: Tensor, dOut: Tensor, rowOffsets: [Int], rowCounts: [Int],
        dX: Tensor?, dW: Tensor?, dB: Tensor?, overwriteDX: Bool = false, overwriteDW: Bool = false
    ) {
        let (i, o) = (x.columns, dOut.columns)
        precondition(w.shape == [rowCounts.count, i, o], "groupedLinearBackward: w \(w.shape), expected [\(rowCounts.count), \(i), \(o)]")
        if let dX {
            if overwriteDX {
                var next = 0
                for (offset, count) in zip(rowOffsets, rowCounts) where count > 0 {
                    precondition(offset == next, "groupedLinearBackward: overwriting dX needs segments that tile its rows")
                    next += count
                }
                precondition(next == dX.rows, "groupedLinearBackward: segments cover \(next) of dX's \(dX.rows) rows")
            }
            groupedGemm(transB: true, k: o, n: i, alpha: 1, a: dOut, w: w, beta: overwriteDX ? 0 : 1, c: dX,
                        rowOffsets: rowOffsets, rowCounts: rowCounts)
        }
        if let dW {
            groupedGemmWeightGrad(k: i, n: o, a: x, dC: dOut, dW: dW, rowOffsets: rowOffsets, rowCounts: rowCounts, overwrite: overwriteDW)
        }
        if let dB { sumRowSegments(dOut, rowOffsets: rowOffsets, rowCounts: rowCounts, into: dB) }
    }
}

extension Backend {
    /// out[seg] = wide[seg] rounded as `convert` rounds, for every segment; rows outside them are left
    /// untouched. The fallback of ops that write a bf16 output from fp32 sums.
    public func convertSegmentRows(_ wide: Tensor, into out: Tensor, rowOffsets: [Int], rowCounts: [Int]) {
        let n = out.columns
        for run in contiguousRuns(rowOffsets: rowOffsets, rowCounts: rowCounts) {
            convert(wide.view(offset: run.lowerBound * n, shape: [run.count, n]), to: out.view(offset: run.lowerBound * n, shape: [run.count, n]))
        }
    }
}

/// The rows the segments cover, as few ranges as possible (adjacent segments merged; the experts'
/// segments tile their rows, so usually one).
func contiguousRuns(rowOffsets: [Int], rowCounts: [Int]) -> [Range<Int>] {
    var runs: [Range<Int>] = []
    for (offset, count) in zip(rowOffsets, rowCounts).sorted(by: { $0.0 < $1.0 }) where count > 0 {
        if let last = runs.last, last.upperBound == offset {
            runs[runs.count - 1] = last.lowerBound..<(offset + count)
        } else {
            runs.append(offset..<(offset + count))
        }
    }
    return runs
}
