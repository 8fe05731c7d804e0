import XMoECompute

/// Causal multi-head self-attention with RoPE: qkv projection → rotate q, k → attention → output
/// projection (scaled init, it writes into the residual stream).
final class CausalSelfAttention {
    let backend: Backend
    let heads: Int
    let seqLen: Int
    let theta: Float
    let qkv: Linear
    let proj: Linear
    private var qkvRotated: Tensor?
    private var probs: Tensor?

    init(_ store: ParameterStore, _ prefix: String, config c: ModelConfig, options o: MoEOptions) {
        backend = store.backend
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
        backend.ropeForward(qkv: qkv_T3H, heads: heads, seqLen: s, theta: theta, out: qkv_T3H)
        let attn_TH = backend.makeTensor([t, x_TH.columns])
        let probs = backend.makeTensor([t / s * heads, s, s])
        backend.attentionForward(qkv: qkv_T3H, heads: heads, seqLen: s, out: attn_TH, probs: probs)
        qkvRotated = qkv_T3H
        self.probs = probs
        return proj.forward(attn_TH)
    }

    func backward(_ dOut_TH: Tensor, dX: Tensor, seqLen s: Int) {
        guard let qkvRotated, let probs else { fatalError("attention: backward before forward") }
        let dAttn = backend.makeTensor(dOut_TH.shape)
        proj.backward(dOut_TH, dX: dAttn)
        let dRotated = backend.makeTensor(qkvRotated.shape), dQkv = backend.makeTensor(qkvRotated.shape)
        backend.attentionBackward(dOut: dAttn, qkv: qkvRotated, probs: probs, heads: heads, seqLen: s, dQkv: dRotated)
        backend.ropeBackward(dOut: dRotated, heads: heads, seqLen: s, theta: theta, dQkv: dQkv)
        qkv.backward(dQkv, dX: dX)
    }
}
