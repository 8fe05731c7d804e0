import XMoECompute

/// Pre-norm block: x + drop(attn(norm1(x))), then h + drop(ffn(norm2(h))), the FFN dense or MoE
/// (hidden dropout where Megatron applies it: on each branch's output, before the residual add).
final class TransformerBlock {
    enum FFN {
        case dense(FeedForward)
        case moe(MoEBlock)
    }

    let backend: Backend
    let attnNorm: Norm
    let attention: CausalSelfAttention
    let ffnNorm: Norm
    let ffn: FFN
    let attnOutDropout: DropoutSite
    let ffnOutDropout: DropoutSite

    init(_ store: ParameterStore, layer: Int, config c: ModelConfig, options o: MoEOptions, dispatcher: TokenDispatcher,
         dropout: DropoutControl) {
        backend = store.backend
        let prefix = "layers.\(pad(layer, 2))"
        attnOutDropout = DropoutSite(dropout, "\(prefix).attn_out")
        ffnOutDropout = DropoutSite(dropout, "\(prefix).ffn_out")
        attnNorm = Norm(store, "\(prefix).attn_norm", kind: c.norm, hidden: c.hidden, eps: o.normEps)
        attention = CausalSelfAttention(store, "\(prefix).attn", config: c, options: o, dropout: dropout)
        ffnNorm = Norm(store, "\(prefix).ffn_norm", kind: c.norm, hidden: c.hidden, eps: o.normEps)
        if layer < c.firstDenseLayers {
            ffn = .dense(FeedForward(store, "\(prefix).ffn", hidden: c.hidden, ffn: c.ffnHidden, activation: c.activation,
                                     bias: c.linearBias, std: o.initStd,
                                     outputStd: o.initStd / (2 * Double(c.layers)).squareRoot()))
        } else {
            ffn = .moe(MoEBlock(store, layer: layer, config: c, options: o, dispatcher: dispatcher))
        }
    }

    func forward(_ x_TH: Tensor, seqLen: Int) throws -> Tensor {
        let h_TH = backend.makeOutput(x_TH.shape)
        let hidden = attnOutDropout.control.rates.hidden
        backend.add(x_TH, attnOutDropout.forward(attention.forward(attnNorm.forward(x_TH), seqLen: seqLen), p: hidden), out: h_TH)
        let normed = ffnNorm.forward(h_TH)
        let f_TH: Tensor
        switch ffn {
        case .dense(let mlp): f_TH = mlp.forward(normed)
        case .moe(let moe): f_TH = try moe.forward(normed)
        }
        let out = backend.makeOutput(x_TH.shape)
        backend.add(h_TH, ffnOutDropout.forward(f_TH, p: hidden), out: out)
        return out
    }

    /// dX += gradient w.r.t. the block's input (with `overwriteDX`, dX = it: a dX from `makeOutput`).
    func backward(_ dOut_TH: Tensor, dX: Tensor, seqLen: Int, overwriteDX: Bool = false) throws {
        // Every [T, H] buffer here is written whole by its first writer (a copy, or a backward told
        // to overwrite), so none needs a zero fill; the later writers add, in the same order.
        let dH = backend.makeOutput(dOut_TH.shape)
        backend.copy(from: dOut_TH, to: dH)
        let dNormed = backend.makeOutput(dOut_TH.shape)
        switch ffn {
        case .dense(let mlp): mlp.backward(ffnOutDropout.backward(dOut_TH), dX: dNormed, overwriteDX: true)
        case .moe(let moe): try moe.backward(ffnOutDropout.backward(dOut_TH), dX: dNormed, overwriteDX: true)
        }
        ffnNorm.backward(dNormed, dX: dH)
        let dAttnIn = backend.makeOutput(dOut_TH.shape)
        attention.backward(attnOutDropout.backward(dH), dX: dAttnIn, seqLen: seqLen, overwriteDX: true)
        attnNorm.backward(dAttnIn, dX: dX, overwriteDX: overwriteDX)
        backend.axpy(alpha: 1, x: dH, y: dX)
    }

    var moe: MoEBlock? {
        if case .moe(let block) = ffn { return block }
        return nil
    }
}
