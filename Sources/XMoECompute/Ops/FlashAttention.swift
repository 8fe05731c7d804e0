import COpenBLAS
import Foundation

// Causal attention that never stores the (batch·N)×S×S probabilities (FlashAttention-2's contract):
// the forward keeps only each row's log-sum-exp, the backward recomputes the probabilities a block of
// query rows at a time. On the CPU a block of `flashRowBlock` query rows meets all keys up to its
// last row at once (scratch rowBlock × S per head), so the softmax of a row is exact rather than
// online: on a CPU the rescaling of FA2's online softmax would only add work.
//
// Determinism: each (sequence, head) is computed start to end by one thread, in one fixed order of
// single-threaded OpenBLAS calls, so results do not depend on the thread count.
extension CPUBackend {
    /// Query rows per block: big enough for efficient sgemm, small enough that the scratch
    /// (2 · rowBlock · S floats per thread) stays in cache for moderate S.
    var flashRowBlock: Int { 64 }

    public func flashAttentionForward(qkv: Tensor, heads: Int, seqLen: Int, out: Tensor, logSumExp: Tensor) {
        let (h, d, batch) = flashDims(qkv, heads: heads, seqLen: seqLen)
        let s = seqLen
        expectShape(out, [qkv.rows, h], "flashAttentionForward out")
        expectCount(logSumExp, batch * heads * s, "flashAttentionForward logSumExp (batch·N·S)")
        nonisolated(unsafe) let (px, po, pl) = (qkv.floats.baseAddress!, out.floats.baseAddress!, logSumExp.floats.baseAddress!)
        let scale = 1 / Float(d).squareRoot()
        let rowBlock = flashRowBlock
        parallelFor(batch * heads) { range in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock * s)
            defer { scores.deallocate() }
            for pair in range {
                let (b, n) = (pair / heads, pair % heads)
                let q = px + b * s * 3 * h + n * d, (k, v) = (q + h, q + 2 * h)
                let o = po + b * s * h + n * d
                let lse = pl + pair * s
                for r0 in stride(from: 0, to: s, by: rowBlock) {
                    let rows = min(rowBlock, s - r0), keys = r0 + rows
                    // scores = scale · q_blk · k[0..<keys]ᵀ, row i sees keys 0...r0+i.
                    blas(false, true, rows, keys, d, scale, q + r0 * 3 * h, 3 * h, k, 3 * h, 0, scores, keys)
                    for i in 0..<rows {
                        let row = scores + i * keys, valid = r0 + i + 1
                        var m = -Float.infinity
                        for j in 0..<valid { m = max(m, row[j]) }
                        var sum: Float = 0
                        for j in 0..<valid {
                            let e = expf(row[j] - m)
                            row[j] = e
                            sum += e
                        }
                        let inv = 1 / sum
                        for j in 0..<valid { row[j] *= inv }
                        for j in valid..<keys { row[j] = 0 }
                        lse[r0 + i] = m + logf(sum)
                    }
                    blas(false, false, rows, d, keys, 1, scores, keys, v, 3 * h, 0, o + r0 * h, h)
                }
            }
        }
    }

    /// dQkv += the gradient of causal attention, from dOut, the forward's input, output and row
    /// log-sum-exp. FA2's backward: D_i = rowsum(dO ⊙ O) first; then per block of query rows
    /// P = exp(scale·q·kᵀ − lse), dv += Pᵀ·dO, dS = P ⊙ (dO·vᵀ − D) · scale, dq += dS·k, dk += dSᵀ·q.
    /// With `overwrite`, each head's columns are zeroed first (by the thread that owns them).
    public func flashAttentionBackward(
        dOut: Tensor, qkv: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, dQkv: Tensor, overwrite: Bool
    ) {
        let (h, d, batch) = flashDims(qkv, heads: heads, seqLen: seqLen)
        let s = seqLen
        expectShape(dOut, [qkv.rows, h], "flashAttentionBackward dOut")
        expectShape(out, [qkv.rows, h], "flashAttentionBackward out")
        expectShape(dQkv, qkv.shape, "flashAttentionBackward dQkv")
        expectCount(logSumExp, batch * heads * s, "flashAttentionBackward logSumExp (batch·N·S)")
        precondition(dQkv.storage !== qkv.storage, "flashAttentionBackward: dQkv must not alias qkv (it accumulates)")
        nonisolated(unsafe) let (px, pdo, po, pl, pdx) = (qkv.floats.baseAddress!, dOut.floats.baseAddress!, out.floats.baseAddress!,
                                                          logSumExp.floats.baseAddress!, dQkv.floats.baseAddress!)
        let scale = 1 / Float(d).squareRoot()
        let rowBlock = flashRowBlock
        // Heads write disjoint columns of dQkv; one thread owns a head, so dk and dv accumulate
        // over the query blocks in block order.
        parallelFor(batch * heads) { range in
            let probs = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock * s)
            let dScores = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock * s)
            let delta = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock)
            defer { probs.deallocate(); dScores.deallocate(); delta.deallocate() }
            for pair in range {
                let (b, n) = (pair / heads, pair % heads)
                let offset = b * s * 3 * h + n * d
                let (q, k, v) = (px + offset, px + offset + h, px + offset + 2 * h)
                let (dq, dk, dv) = (pdx + offset, pdx + offset + h, pdx + offset + 2 * h)
                let (dO, o) = (pdo + b * s * h + n * d, po + b * s * h + n * d)
                let lse = pl + pair * s
                if overwrite {
                    for r in 0..<s { for part in [dq, dk, dv] { (part + r * 3 * h).update(repeating: 0, count: d) } }
                }
                for r0 in stride(from: 0, to: s, by: rowBlock) {
                    let rows = min(rowBlock, s - r0), keys = r0 + rows
                    for i in 0..<rows {
                        let (dRow, oRow) = (dO + (r0 + i) * h, o + (r0 + i) * h)
                        var dot: Float = 0
                        for c in 0..<d { dot += dRow[c] * oRow[c] }
                        delta[i] = dot
                    }
                    blas(false, true, rows, keys, d, scale, q + r0 * 3 * h, 3 * h, k, 3 * h, 0, probs, keys)
                    for i in 0..<rows {
                        let row = probs + i * keys, valid = r0 + i + 1, l = lse[r0 + i]
                        for j in 0..<valid { row[j] = expf(row[j] - l) }
                        for j in valid..<keys { row[j] = 0 }
                    }
                    // dP = dO_blk · v[0..<keys]ᵀ;  dv[0..<keys] += Pᵀ · dO_blk.
                    blas(false, true, rows, keys, d, 1, dO + r0 * h, h, v, 3 * h, 0, dScores, keys)
                    blas(true, false, keys, d, rows, 1, probs, keys, dO + r0 * h, h, 1, dv, 3 * h)
                    for i in 0..<rows {
                        let (p, ds, di) = (probs + i * keys, dScores + i * keys, delta[i])
                        for j in 0..<keys { ds[j] = p[j] * (ds[j] - di) * scale }
                    }
                    // dq_blk += dS · k[0..<keys];  dk[0..<keys] += dSᵀ · q_blk.
                    blas(false, false, rows, d, keys, 1, dScores, keys, k, 3 * h, 1, dq + r0 * 3 * h, 3 * h)
                    blas(true, false, keys, d, rows, 1, dScores, keys, q + r0 * 3 * h, 3 * h, 1, dk, 3 * h)
                }
            }
        }
    }

    private func flashDims(_ qkv: Tensor, heads: Int, seqLen: Int) -> (h: Int, d: Int, batch: Int) {
        precondition(qkv.columns % 3 == 0 && heads > 0 && (qkv.columns / 3) % heads == 0,
                     "flash attention: qkv \(qkv.shape) is not [T, 3·N·D] for N = \(heads)")
        precondition(seqLen > 0 && qkv.rows % seqLen == 0, "flash attention: \(qkv.rows) tokens are not whole sequences of \(seqLen)")
        let h = qkv.columns / 3
        return (h, h / heads, qkv.rows / seqLen)
    }
}

/// One single-threaded row-major cblas_sgemm (the caller already runs one per thread).
@inline(__always)
private func blas(
    _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}

// RoPE then flash attention, from the two ops (what a backend that does not fuse them runs).
extension Backend {
    @discardableResult
    public func flashAttentionRoPEForward(qkv: Tensor, heads: Int, seqLen: Int, theta: Float, out: Tensor, logSumExp: Tensor) -> Tensor {
        flashAttentionRoPEForwardComposed(qkv: qkv, heads: heads, seqLen: seqLen, theta: theta, out: out, logSumExp: logSumExp)
        return qkv
    }

    public func flashAttentionRoPEBackward(
        dOut: Tensor, saved: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, theta: Float, dQkv: Tensor, overwrite: Bool
    ) {
        flashAttentionRoPEBackwardComposed(dOut: dOut, qkv: saved, out: out, logSumExp: logSumExp, heads: heads, seqLen: seqLen, theta: theta,
                                           dQkv: dQkv, overwrite: overwrite)
    }

    /// A rotated copy of qkv, then `flashAttentionForward` on it.
    public func flashAttentionRoPEForwardComposed(qkv: Tensor, heads: Int, seqLen: Int, theta: Float, out: Tensor, logSumExp: Tensor) {
        let rotated = makeOutput(qkv.shape)  // written whole by the rotation
        ropeForward(qkv: qkv, heads: heads, seqLen: seqLen, theta: theta, out: rotated)
        flashAttentionForward(qkv: rotated, heads: heads, seqLen: seqLen, out: out, logSumExp: logSumExp)
    }

    /// The rotated copy again, the flash backward into a gradient w.r.t. it, then RoPE's backward.
    public func flashAttentionRoPEBackwardComposed(
        dOut: Tensor, qkv: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, theta: Float, dQkv: Tensor, overwrite: Bool
    ) {
        let rotated = makeOutput(qkv.shape), dRotated = makeOutput(qkv.shape)
        ropeForward(qkv: qkv, heads: heads, seqLen: seqLen, theta: theta, out: rotated)
        flashAttentionBackward(dOut: dOut, qkv: rotated, out: out, logSumExp: logSumExp, heads: heads, seqLen: seqLen, dQkv: dRotated,
                               overwrite: true)
        guard dQkv.dtype == .float32 else {  // a bf16 dQkv: the fp32 gradient rounded as `convert` rounds
            precondition(overwrite, "flashAttentionRoPEBackward: a \(dQkv.dtype) dQkv is written, not added to: pass overwrite")
            let full = makeOutput(qkv.shape)
            ropeBackward(dOut: dRotated, heads: heads, seqLen: seqLen, theta: theta, dQkv: full, overwrite: true)
            return convert(full, to: dQkv)
        }
        ropeBackward(dOut: dRotated, heads: heads, seqLen: seqLen, theta: theta, dQkv: dQkv, overwrite: overwrite)
    }
}
