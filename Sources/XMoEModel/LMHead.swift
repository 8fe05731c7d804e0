import XMoECompute

/// logits_TV = x_TH · Wᵀ with W the embedding table [V, H] (tied) or its own lm_head.w [H, V].
/// With a bf16 compute copy of W, the GEMMs take bf16 x, dLogits and W and give fp32 results.
final class LMHead {
    let backend: Backend
    let table: Parameter?
    let head: Linear?
    private var x: Tensor?

    init(_ store: ParameterStore, config c: ModelConfig, options o: MoEOptions, tiedTo embedding: Parameter) {
        backend = store.backend
        if c.tiedEmbeddings {
            table = embedding
            head = nil
        } else {
            table = nil
            head = Linear(store, "lm_head", inputs: c.hidden, outputs: c.paddedVocab, bias: false, std: o.initStd)
        }
    }

    func forward(_ x_TH: Tensor) -> Tensor {
        if let head { return head.forward(x_TH) }
        let w = table!.compute ?? table!.value, (t, h, v) = (x_TH.rows, x_TH.columns, table!.value.dim(0))
        let logits = backend.makeTensor([t, v])
        let x = backend.converted(x_TH, to: w.dtype)
        backend.gemm(transA: false, transB: true, m: t, n: v, k: h, alpha: 1, a: x, aOffset: 0, lda: h,
                     b: w, bOffset: 0, ldb: h, beta: 0, c: logits, cOffset: 0, ldc: v)
        self.x = x
        return logits
    }

    func backward(_ dLogits_TV: Tensor, dX: Tensor) {
        if let head { return head.backward(dLogits_TV, dX: dX) }
        guard let x, let table else { fatalError("LMHead: backward before forward") }
        let (t, h, v) = (x.rows, x.columns, table.value.dim(0))
        let w = table.compute ?? table.value, dLogits = backend.converted(dLogits_TV, to: w.dtype)
        backend.gemm(transA: false, transB: false, m: t, n: h, k: v, alpha: 1, a: dLogits, aOffset: 0, lda: v,
                     b: w, bOffset: 0, ldb: h, beta: 1, c: dX, cOffset: 0, ldc: h)
        backend.gemm(transA: true, transB: false, m: v, n: h, k: t, alpha: 1, a: dLogits, aOffset: 0, lda: v,
                     b: x, bOffset: 0, ldb: h, beta: 1, c: table.grad, cOffset: 0, ldc: h)
    }
}
