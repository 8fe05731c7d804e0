import XMoECompute

/// Causal multi-head self-attention with RoPE: qkv projection → rotate q, k → attention → output
/// projection (scaled init, it writes into the residual stream).
///
/// Attention runs as flash attention (the backend's `flashAttention…` ops keep only each row's
/// log-sum-exp, never the (batch·N)×S×S probabilities) whenever this forward drops no attention
/// probabilities: attention dropout 0 (the presets' default) or no dropout stream (evaluation), on
/// a backend that prefers it (`Backend.prefersFlashAttention`).
/// With attention dropout > 0 it keeps the materialised path, which needs the probabilities to
/// apply the mask to: in-kernel dropout that matches the CPU's masks bit for bit is not written yet.
final class CausalSelfAttention {
    let backend: Backend
    let heads: Int
    let seqLen: Int
    let theta: Float
    let qkv: Linear
    let proj: Linear
    private var qkvRotated: Tensor?
    private var probs: Tensor?
    /// The flash path's saved qkv (what `flashAttentionRoPEForward` returned: qkv unrotated, or the
    /// backend's own copy), output and row log-sum-exp; nil after a materialised forward. RoPE runs
    /// inside the flash ops there. `qkvShape`: the shape of qkv, which the saved copy need not have.
    private var flashSaved: (qkv: Tensor, qkvShape: [Int], out: Tensor, logSumExp: Tensor)?
    /// Forces the materialised path even without dropout (tests compare the two paths).
    var alwaysMaterialise = false
    /// Whether the last forward kept the (batch·N)×S×S probabilities for backward.
    var keepsProbabilities: Bool { probs != nil }
    /// Attention dropout on the probabilities (Megatron's `attention_dropout`).
    let probsDropout: DropoutSite
    /// The dropped probabilities of the last forward, when dropout was active.
    private var droppedProbs: Tensor?

    init(_ store: ParameterStore, _ prefix: String, config c: ModelConfig, options o: MoEOptions, dropout: DropoutControl) {
        backend = store.backend
        probsDropout = DropoutSite(dropout, "\(prefix).probs")
        heads = c.heads
        seqLen = c.seqLength
        theta = o.ropeTheta
        qkv = Linear(store, prefix, suffix: "_qkv", inputs: c.hidden, outputs: 3 * c.hidden, bias: c.linearBias, std: o.initStd)
        proj = Linear(store, prefix, suffix: "_o", inputs: c.hidden, outputs: c.hidden, bias: c.linearBias,
                      std: o.initStd / (2 * Double(c.layers)).squareRoot())
    }

    func forward(_ x_TH: Tensor, seqLen s: Int) -> Tensor {
        let t = x_TH.rows
        let qkv_T3H = qkv.forward(x_TH)
        let attn_TH = backend.makeOutput([t, x_TH.columns])
        let dropsProbs = probsDropout.control.stream != nil && probsDropout.control.rates.attention > 0
        if !dropsProbs && !alwaysMaterialise && backend.prefersFlashAttention(headDim: x_TH.columns / heads) {
            let logSumExp = backend.makeTensor([t / s * heads, s])
            let saved = backend.flashAttentionRoPEForward(qkv: qkv_T3H, heads: heads, seqLen: s, theta: theta, out: attn_TH,
                                                          logSumExp: logSumExp)
            flashSaved = (saved, qkv_T3H.shape, attn_TH, logSumExp)
            (qkvRotated, probs, droppedProbs) = (nil, nil, nil)
            return proj.forward(attn_TH)
        }
        backend.ropeForward(qkv: qkv_T3H, heads: heads, seqLen: s, theta: theta, out: qkv_T3H)
        qkvRotated = qkv_T3H
        flashSaved = nil
        let probs = backend.makeTensor([t / s * heads, s, s])
        backend.attentionForward(qkv: qkv_T3H, heads: heads, seqLen: s, out: attn_TH, probs: probs)
        self.probs = probs
        droppedProbs = nil
        let dropped = probsDropout.forward(probs, p: probsDropout.control.rates.attention)
        if dropped !== probs {
            // The fused op's output used the undropped probabilities: redo out = dropped · v.
            droppedProbs = dropped
            perSequence(t / s) { b, h, d in
                backend.batchedGemm(transA: false, transB: false, m: s, n: d, k: s, alpha: 1,
                                    a: dropped, aOffset: b * heads * s * s, lda: s, strideA: s * s,
                                    b: qkv_T3H, bOffset: b * s * 3 * h + 2 * h, ldb: 3 * h, strideB: d,
                                    beta: 0, c: attn_TH, cOffset: b * s * h, ldc: h, strideC: d, batchCount: heads)
            }
        }
        return proj.forward(attn_TH)
    }

    private func perSequence(_ batch: Int, _ body: (_ b: Int, _ h: Int, _ d: Int) -> Void) {
        let h = proj.w.value.dim(0)
        for b in 0..<batch { body(b, h, h / heads) }
    }

    /// dX += the input gradient (with `overwriteDX`, dX = it: a dX from `makeOutput`).
    func backward(_ dOut_TH: Tensor, dX: Tensor, seqLen s: Int, overwriteDX: Bool = false) {
        guard flashSaved != nil || (probs != nil && qkvRotated != nil) else { fatalError("attention: backward before forward") }
        // dAttn and dQkv have one writer each, which overwrites; the materialised paths add into a
        // zeroed dRotated.
        let dAttn = backend.makeOutput(dOut_TH.shape)
        proj.backward(dOut_TH, dX: dAttn, overwriteDX: true)
        if let flashSaved {
            // In the projection's compute dtype: its GEMMs read it rounded anyway, and its bias
            // gradient sums that rounded gradient, as under autocast.
            let dQkv = backend.makeOutput(flashSaved.qkvShape, dtype: qkv.w.compute?.dtype ?? .float32)
            backend.flashAttentionRoPEBackward(dOut: dAttn, saved: flashSaved.qkv, out: flashSaved.out, logSumExp: flashSaved.logSumExp,
                                               heads: heads, seqLen: s, theta: theta, dQkv: dQkv, overwrite: true)
            return qkv.backward(dQkv, dX: dX, overwriteDX: overwriteDX)
        }
        guard let qkvRotated else { fatalError("attention: backward before forward") }
        let dQkv = backend.makeOutput(qkvRotated.shape)
        let dRotated = backend.makeTensor(qkvRotated.shape)
        if let probs, let droppedProbs {
            droppedAttentionBackward(dAttn, qkv: qkvRotated, probs: probs, dropped: droppedProbs, seqLen: s, dQkv: dRotated)
        } else if let probs {
            backend.attentionBackward(dOut: dAttn, qkv: qkvRotated, probs: probs, heads: heads, seqLen: s, dQkv: dRotated)
        }
        backend.ropeBackward(dOut: dRotated, heads: heads, seqLen: s, theta: theta, dQkv: dQkv, overwrite: true)
        qkv.backward(dQkv, dX: dX, overwriteDX: overwriteDX)
    }

    /// The backward of attention with dropped probabilities P̃ = P ⊙ M, from the backend's primitives:
    /// dP̃ = dO·vᵀ, dv += P̃ᵀ·dO, dP = dP̃ ⊙ M, dS = softmax backward of P (zero above the diagonal,
    /// where P is 0) scaled by 1/√D, dq += dS·k, dk += dSᵀ·q.
    private func droppedAttentionBackward(_ dAttn: Tensor, qkv: Tensor, probs: Tensor, dropped: Tensor, seqLen s: Int,
                                          dQkv: Tensor) {
        let batch = qkv.rows / s
        let dDropped = backend.makeOutput(probs.shape)  // every sequence's block written by a beta-0 GEMM
        perSequence(batch) { b, h, d in
            let (pOffset, oOffset, xOffset) = (b * heads * s * s, b * s * h, b * s * 3 * h)
            backend.batchedGemm(transA: false, transB: true, m: s, n: s, k: d, alpha: 1,
                                a: dAttn, aOffset: oOffset, lda: h, strideA: d,
                                b: qkv, bOffset: xOffset + 2 * h, ldb: 3 * h, strideB: d,
                                beta: 0, c: dDropped, cOffset: pOffset, ldc: s, strideC: s * s, batchCount: heads)
            backend.batchedGemm(transA: true, transB: false, m: s, n: d, k: s, alpha: 1,
                                a: dropped, aOffset: pOffset, lda: s, strideA: s * s,
                                b: dAttn, bOffset: oOffset, ldb: h, strideB: d,
                                beta: 1, c: dQkv, cOffset: xOffset + 2 * h, ldc: 3 * h, strideC: d, batchCount: heads)
        }
        let dProbs = probsDropout.backward(dDropped)
        let dScores = backend.makeTensor(probs.shape)
        backend.softmaxBackward(probs: probs, dProbs: dProbs, dLogits: dScores)
        perSequence(batch) { b, h, d in
            let (pOffset, xOffset) = (b * heads * s * s, b * s * 3 * h)
            let scale = 1 / Float(d).squareRoot()
            backend.batchedGemm(transA: false, transB: false, m: s, n: d, k: s, alpha: scale,
                                a: dScores, aOffset: pOffset, lda: s, strideA: s * s,
                                b: qkv, bOffset: xOffset + h, ldb: 3 * h, strideB: d,
                                beta: 1, c: dQkv, cOffset: xOffset, ldc: 3 * h, strideC: d, batchCount: heads)
            backend.batchedGemm(transA: true, transB: false, m: s, n: d, k: s, alpha: scale,
                                a: dScores, aOffset: pOffset, lda: s, strideA: s * s,
                                b: qkv, bOffset: xOffset, ldb: 3 * h, strideB: d,
                                beta: 1, c: dQkv, cOffset: xOffset + h, ldc: 3 * h, strideC: d, batchCount: heads)
        }
    }
}
