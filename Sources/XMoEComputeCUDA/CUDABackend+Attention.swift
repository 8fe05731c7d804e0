import XMoECompute

// RoPE as one kernel; attention as the CPU computes it (probabilities materialised, products
// through cuBLAS strided-batched over heads) so the first GPU version checks against it closely.
// A fused flash-attention kernel replaces this once the protocol stops asking for probs.
extension CUDABackend {
    public func ropeForward(qkv: Tensor, heads: Int, seqLen: Int, theta: Float, out: Tensor) {
        let d = ropeHeadWidth(qkv, heads: heads, seqLen: seqLen)
        precondition(out.shape == qkv.shape, "ropeForward: out \(out.shape), qkv \(qkv.shape)")
        rope(qkv, out, heads: heads, d: d, seqLen: seqLen, theta: theta, mode: 0)
    }

    public func ropeBackward(dOut: Tensor, heads: Int, seqLen: Int, theta: Float, dQkv: Tensor, overwrite: Bool) {
        let d = ropeHeadWidth(dOut, heads: heads, seqLen: seqLen)
        precondition(dQkv.shape == dOut.shape, "ropeBackward: dQkv \(dQkv.shape), dOut \(dOut.shape)")
        precondition(dOut.storage !== dQkv.storage, "ropeBackward: dQkv must not alias dOut (it accumulates)")
        rope(dOut, dQkv, heads: heads, d: d, seqLen: seqLen, theta: theta, mode: overwrite ? 2 : 1)
    }

    /// (cos, sin) per position and pair of RoPE at head width `d`: [seqLen, d] fp32, written whole.
    public func ropeTable(seqLen: Int, d: Int, theta: Float) -> Tensor {
        let table = makeOutput([seqLen, d])
        context.launch("xmoe_rope_table", .elementwise(count: seqLen * (d / 2)),
                       [ptr(table), .int64(Int64(seqLen)), .int64(Int64(d)), .float(theta)])
        return table
    }

    /// `mode`: the kernel's `backward` (0 rotate, 1 add the inverse rotation, 2 write it).
    private func rope(_ input: Tensor, _ output: Tensor, heads: Int, d: Int, seqLen: Int, theta: Float, mode: Int32) {
        let rows = input.rows, h = heads * d
        let table = ropeTable(seqLen: seqLen, d: d, theta: theta)
        context.launch("xmoe_rope", .elementwise(count: rows * (2 * heads * (d / 2) + h)),
                       [ptr(input), ptr(output), ptr(table), .int64(Int64(rows)), .int64(Int64(heads)), .int64(Int64(d)),
                        .int64(Int64(seqLen)), .int32(mode)])
    }

    private func ropeHeadWidth(_ qkv: Tensor, heads: Int, seqLen: Int) -> Int {
        precondition(qkv.columns % 3 == 0 && heads > 0 && (qkv.columns / 3) % heads == 0, "rope: qkv \(qkv.shape) is not [T, 3·N·D] for N = \(heads)")
        let d = qkv.columns / 3 / heads
        precondition(d % 2 == 0, "rope: head width \(d) must be even")
        precondition(seqLen > 0 && qkv.rows % seqLen == 0, "rope: \(qkv.rows) tokens are not whole sequences of \(seqLen)")
        return d
    }

    public func attentionForward(qkv: Tensor, heads: Int, seqLen: Int, out: Tensor, probs: Tensor) {
        let (h, d, batch) = attentionDims(qkv, heads: heads, seqLen: seqLen)
        let s = seqLen
        precondition(out.shape == [qkv.rows, h] && probs.count == batch * heads * s * s, "attentionForward: out \(out.shape), probs \(probs.shape)")
        let scale = 1 / Float(d).squareRoot()
        for b in 0..<batch {
            let q = b * s * 3 * h, p = b * heads * s * s
            // scores_n = scale · q_n · k_nᵀ for every head n at once (heads are d columns apart).
            batchedGemm(transA: false, transB: true, m: s, n: s, k: d, alpha: scale,
                        a: qkv, aOffset: q, lda: 3 * h, strideA: d, b: qkv, bOffset: q + h, ldb: 3 * h, strideB: d,
                        beta: 0, c: probs, cOffset: p, ldc: s, strideC: s * s, batchCount: heads)
            context.launch("xmoe_causal_softmax", .perRow(rows: heads * s), [ptr(probs, p), .int64(Int64(s))])
            batchedGemm(transA: false, transB: false, m: s, n: d, k: s, alpha: 1,
                        a: probs, aOffset: p, lda: s, strideA: s * s, b: qkv, bOffset: q + 2 * h, ldb: 3 * h, strideB: d,
                        beta: 0, c: out, cOffset: b * s * h, ldc: h, strideC: d, batchCount: heads)
        }
    }

    public func attentionBackward(
        dOut: Tensor, qkv: Tensor, probs: Tensor, heads: Int, seqLen: Int, dQkv: Tensor
    ) {
        let (h, d, batch) = attentionDims(qkv, heads: heads, seqLen: seqLen)
        let s = seqLen
        precondition(dOut.shape == [qkv.rows, h] && dQkv.shape == qkv.shape && probs.count == batch * heads * s * s,
                     "attentionBackward: dOut \(dOut.shape), dQkv \(dQkv.shape), probs \(probs.shape)")
        let scale = 1 / Float(d).squareRoot()
        let dScores = makeTensor([heads, s, s])
        for b in 0..<batch {
            let q = b * s * 3 * h, p = b * heads * s * s, o = b * s * h
            // dProbs = dO · vᵀ;  dv += probsᵀ · dO.
            batchedGemm(transA: false, transB: true, m: s, n: s, k: d, alpha: 1,
                        a: dOut, aOffset: o, lda: h, strideA: d, b: qkv, bOffset: q + 2 * h, ldb: 3 * h, strideB: d,
                        beta: 0, c: dScores, cOffset: 0, ldc: s, strideC: s * s, batchCount: heads)
            batchedGemm(transA: true, transB: false, m: s, n: d, k: s, alpha: 1,
                        a: probs, aOffset: p, lda: s, strideA: s * s, b: dOut, bOffset: o, ldb: h, strideB: d,
                        beta: 1, c: dQkv, cOffset: q + 2 * h, ldc: 3 * h, strideC: d, batchCount: heads)
            context.launch("xmoe_attention_dscores", .perRow(rows: heads * s),
                           [ptr(probs, p), ptr(dScores), .int64(Int64(s)), .float(scale)])
            // dq += dScores · k;  dk += dScoresᵀ · q.
            batchedGemm(transA: false, transB: false, m: s, n: d, k: s, alpha: 1,
                        a: dScores, aOffset: 0, lda: s, strideA: s * s, b: qkv, bOffset: q + h, ldb: 3 * h, strideB: d,
                        beta: 1, c: dQkv, cOffset: q, ldc: 3 * h, strideC: d, batchCount: heads)
            batchedGemm(transA: true, transB: false, m: s, n: d, k: s, alpha: 1,
                        a: dScores, aOffset: 0, lda: s, strideA: s * s, b: qkv, bOffset: q, ldb: 3 * h, strideB: d,
                        beta: 1, c: dQkv, cOffset: q + h, ldc: 3 * h, strideC: d, batchCount: heads)
        }
    }

    private func attentionDims(_ qkv: Tensor, heads: Int, seqLen: Int) -> (h: Int, d: Int, batch: Int) {
        precondition(qkv.columns % 3 == 0 && heads > 0 && (qkv.columns / 3) % heads == 0, "attention: qkv \(qkv.shape) is not [T, 3·N·D] for N = \(heads)")
        precondition(seqLen > 0 && qkv.rows % seqLen == 0, "attention: \(qkv.rows) tokens are not whole sequences of \(seqLen)")
        let h = qkv.columns / 3
        return (h, h / heads, qkv.rows / seqLen)
    }
}
