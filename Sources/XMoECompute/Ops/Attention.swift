// Causal multi-head self-attention over qkv_T3H (per token [q | k | v], each N heads of width D),
// T = batch · S. Per (sequence, head): probs = causal softmax(q·kᵀ/√D), out = probs · v, with both
// products through sgemm; the masked upper triangle of probs is stored as zeros.
extension CPUBackend {
    public func attentionForward(qkv: Tensor, heads: Int, seqLen: Int, out: Tensor, probs: Tensor) {
        let dims = attentionDims(qkv, heads: heads, seqLen: seqLen)
        let (h, d, s, batch) = (dims.h, dims.d, seqLen, dims.batch)
        expectShape(out, [qkv.rows, h], "attentionForward out")
        expectCount(probs, batch * heads * s * s, "attentionForward probs (batch·N·S·S)")
        let (px, po, pp) = (qkv.floats.baseAddress!, out.floats.baseAddress!, probs.floats.baseAddress!)
        let scale = 1 / Float(d).squareRoot()
        for b in 0..<batch {
            for n in 0..<heads {
                let q = px + b * s * 3 * h + n * d
                let p = pp + (b * heads + n) * s * s
                sgemm(false, true, s, s, d, scale, q, 3 * h, q + h, 3 * h, 0, p, s)
                parallelFor(s, minPerChunk: 16) { r in
                    for row in r {
                        softmaxRow(p + row * s, p + row * s, row + 1)
                        for j in (row + 1)..<s { p[row * s + j] = 0 }
                    }
                }
                sgemm(false, false, s, d, s, 1, p, s, q + 2 * h, 3 * h, 0, po + b * s * h + n * d, h)
            }
        }
    }

    public func attentionBackward(
        dOut: Tensor, qkv: Tensor, probs: Tensor, heads: Int, seqLen: Int, dQkv: Tensor
    ) {
        let dims = attentionDims(qkv, heads: heads, seqLen: seqLen)
        let (h, d, s, batch) = (dims.h, dims.d, seqLen, dims.batch)
        expectShape(dOut, [qkv.rows, h], "attentionBackward dOut")
        expectShape(dQkv, qkv.shape, "attentionBackward dQkv")
        expectCount(probs, batch * heads * s * s, "attentionBackward probs")
        let (px, pdo, pp, pdx) = (qkv.floats.baseAddress!, dOut.floats.baseAddress!, probs.floats.baseAddress!, dQkv.floats.baseAddress!)
        let scale = 1 / Float(d).squareRoot()
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: s * s)
        defer { scratch.deallocate() }
        for b in 0..<batch {
            for n in 0..<heads {
                let qkvOffset = b * s * 3 * h + n * d
                let (q, dq) = (px + qkvOffset, pdx + qkvOffset)
                let dO = pdo + b * s * h + n * d
                let p = pp + (b * heads + n) * s * s
                // dProbs = dO · vᵀ;  dv += probsᵀ · dO.
                sgemm(false, true, s, s, d, 1, dO, h, q + 2 * h, 3 * h, 0, scratch, s)
                sgemm(true, false, s, d, s, 1, p, s, dO, h, 1, dq + 2 * h, 3 * h)
                // dScores = probs ⊙ (dProbs − rowsum(probs ⊙ dProbs)) · scale, zero above the diagonal.
                parallelFor(s, minPerChunk: 16) { r in
                    for row in r {
                        let (pr, dr) = (p + row * s, scratch + row * s)
                        var dot: Float = 0
                        for j in 0...row { dot += pr[j] * dr[j] }
                        for j in 0...row { dr[j] = pr[j] * (dr[j] - dot) * scale }
                        for j in (row + 1)..<s { dr[j] = 0 }
                    }
                }
                // dq += dScores · k;  dk += dScoresᵀ · q.
                sgemm(false, false, s, d, s, 1, scratch, s, q + h, 3 * h, 1, dq, 3 * h)
                sgemm(true, false, s, d, s, 1, scratch, s, q, 3 * h, 1, dq + h, 3 * h)
            }
        }
    }

    private func attentionDims(_ qkv: Tensor, heads: Int, seqLen: Int) -> (h: Int, d: Int, batch: Int) {
        precondition(qkv.columns % 3 == 0 && heads > 0 && (qkv.columns / 3) % heads == 0,
                     "attention: qkv \(qkv.shape) is not [T, 3·N·D] for N = \(heads)")
        precondition(seqLen > 0 && qkv.rows % seqLen == 0, "attention: \(qkv.rows) tokens are not whole sequences of \(seqLen)")
        let h = qkv.columns / 3
        return (h, h / heads, qkv.rows / seqLen)
    }
}
