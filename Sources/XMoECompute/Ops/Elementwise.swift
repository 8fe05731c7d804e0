// Element-wise ops split over flat index ranges; `sumRows` splits over columns so each output
// element sums its rows in order, on one thread.
extension CPUBackend {
    public func add(_ a: Tensor, _ b: Tensor, out: Tensor) {
        expectCount(b, a.count, "add b"); expectCount(out, a.count, "add out")
        let (pa, pb, po) = (a.floats, b.floats, out.floats)
        parallelFor(a.count, minPerChunk: 1 << 15) { r in
            for i in r { po[i] = pa[i] + pb[i] }
        }
    }

    public func scale(_ x: Tensor, by alpha: Float) {
        let px = x.floats
        parallelFor(x.count, minPerChunk: 1 << 15) { r in
            for i in r { px[i] *= alpha }
        }
    }

    public func axpy(alpha: Float, x: Tensor, y: Tensor) {
        expectCount(y, x.count, "axpy y")
        let (px, py) = (x.floats, y.floats)
        parallelFor(x.count, minPerChunk: 1 << 15) { r in
            for i in r { py[i] += alpha * px[i] }
        }
    }

    public func addBias(_ out: Tensor, bias: Tensor, biasOffset: Int, rows: Range<Int>) {
        let cols = out.columns
        precondition(rows.lowerBound >= 0 && rows.upperBound <= out.rows, "addBias: rows \(rows) outside \(out.shape)")
        precondition(biasOffset >= 0 && biasOffset + cols <= bias.count, "addBias: bias \(bias.shape) too small at offset \(biasOffset)")
        let (po, pb) = (out.floats, bias.floats)
        parallelFor(rows.count, minPerChunk: 64) { r in
            for row in r {
                let base = (rows.lowerBound + row) * cols
                for c in 0..<cols { po[base + c] += pb[biasOffset + c] }
            }
        }
    }

    public func sumRows(_ x: Tensor, rows: Range<Int>, into out: Tensor, outOffset: Int) {
        let cols = x.columns
        precondition(rows.lowerBound >= 0 && rows.upperBound <= x.rows, "sumRows: rows \(rows) outside \(x.shape)")
        precondition(outOffset >= 0 && outOffset + cols <= out.count, "sumRows: out \(out.shape) too small at offset \(outOffset)")
        if x.dtype != .float32 {  // bf16/f16 x (a bf16 output gradient): the same sums over the widened values
            let widened = makeOutput([rows.count, cols])
            convert(x.view(offset: rows.lowerBound * cols, shape: [rows.count, cols]), to: widened)
            return sumRows(widened, rows: 0..<rows.count, into: out, outOffset: outOffset)
        }
        let (px, po) = (x.floats, out.floats)
        parallelFor(cols, minPerChunk: 64) { cr in
            for row in rows {
                let base = row * cols
                for c in cr { po[outOffset + c] += px[base + c] }
            }
        }
    }

    // The segmented forms run segment by segment: each segment is a whole parallel op already.
    public func addSegmentBias(_ out: Tensor, bias: Tensor, rowOffsets: [Int], rowCounts: [Int]) {
        let cols = out.columns
        precondition(rowOffsets.count == rowCounts.count && bias.count == rowCounts.count * cols,
                     "addSegmentBias: \(rowOffsets.count) offsets, \(rowCounts.count) counts, bias \(bias.shape), \(cols) columns")
        for g in rowCounts.indices where rowCounts[g] > 0 {
            addBias(out, bias: bias, biasOffset: g * cols, rows: rowOffsets[g]..<(rowOffsets[g] + rowCounts[g]))
        }
    }

    public func sumRowSegments(_ x: Tensor, rowOffsets: [Int], rowCounts: [Int], into out: Tensor) {
        // bf16 rows (exact in fp32) widened first: the same fp32 sums as the GPU's.
        if x.dtype != .float32 { return sumRowSegments(converted(x, to: .float32), rowOffsets: rowOffsets, rowCounts: rowCounts, into: out) }
        let cols = x.columns
        precondition(rowOffsets.count == rowCounts.count && out.count == rowCounts.count * cols,
                     "sumRowSegments: \(rowOffsets.count) offsets, \(rowCounts.count) counts, out \(out.shape), \(cols) columns")
        for g in rowCounts.indices where rowCounts[g] > 0 {
            sumRows(x, rows: rowOffsets[g]..<(rowOffsets[g] + rowCounts[g]), into: out, outOffset: g * cols)
        }
    }
}
