import Foundation

extension CPUBackend {
    public func softmaxForward(logits: Tensor, probs: Tensor) {
        expectShape(probs, logits.shape, "softmaxForward probs")
        let (rows, cols) = (logits.rows, logits.columns)
        let (px, pp) = (logits.floats, probs.floats)
        parallelFor(rows, minPerChunk: 8) { r in
            for row in r { softmaxRow(px.baseAddress! + row * cols, pp.baseAddress! + row * cols, cols) }
        }
    }

    /// dLogits += p ⊙ (dProbs − Σ_j p_j dProbs_j), per row.
    public func softmaxBackward(probs: Tensor, dProbs: Tensor, dLogits: Tensor) {
        expectShape(dProbs, probs.shape, "softmaxBackward dProbs"); expectShape(dLogits, probs.shape, "softmaxBackward dLogits")
        let (rows, cols) = (probs.rows, probs.columns)
        let (pp, pd, pdl) = (probs.floats, dProbs.floats, dLogits.floats)
        parallelFor(rows, minPerChunk: 8) { r in
            for row in r {
                let base = row * cols
                var dot: Float = 0
                for j in 0..<cols { dot += pp[base + j] * pd[base + j] }
                for j in 0..<cols { pdl[base + j] += pp[base + j] * (pd[base + j] - dot) }
            }
        }
    }
}

/// Numerically stable softmax of one row (max subtracted); `out` may equal `x`.
@inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    var maxValue = -Float.infinity
    for j in 0..<n { maxValue = max(maxValue, x[j]) }
    var sum: Float = 0
    for j in 0..<n {
        let e = expf(x[j] - maxValue)
        out[j] = e
        sum += e
    }
    let inv = 1 / sum
    for j in 0..<n { out[j] *= inv }
}
