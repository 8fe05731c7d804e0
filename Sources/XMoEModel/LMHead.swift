import XMoECompute

/// The LM head and its softmax cross-entropy, in chunks of rows: for each chunk of c tokens,
/// logits_cV = x_c · Wᵀ (W the embedding table [V, H] when tied, else lm_head.w [H, V]), then
/// `crossEntropyFused` turns them into losses and, in place, dLogits_c = scale · (softmax − onehot),
/// and — when gradients are wanted — dX_c = dLogits_c · W (written: each chunk owns its rows of
/// dX) and dW += dLogits_cᵀ · x_c right away.
/// Nothing of size T × V outlives a chunk (T = 8192, V = 50304: 1.65 GB per fp32 T×V tensor).
/// With a bf16 compute copy of W, the GEMMs take bf16 x, dLogits and W and give fp32 results.
public final class LMHead {
    /// Bytes of fp32 logits one chunk may hold (X-MoE Small, V 50304: 2560 rows, 491 MiB). Each
    /// chunk's tied-weight gradient GEMM reads and writes the fp32 dW whole (412 MB at V 50304,
    /// H 2048), so fewer chunks save that traffic: at 128 MiB (13 chunks) it cost ~2.7 ms a step on
    /// an H200, at 512 MiB (4 chunks) ~0.8 ms, for 0.56 GiB more held.
    static let chunkBytes = 512 << 20
    /// As many rows as fit `chunkBytes`, rounded down to a multiple of 128 (whole GEMM tiles) when
    /// there are that many.
    public static func chunkRows(vocab: Int) -> Int {
        let rows = max(1, chunkBytes / (4 * vocab))
        return rows >= 128 ? rows - rows % 128 : rows
    }

    let backend: Backend
    let table: Parameter?
    let head: Parameter?
    /// Rows per chunk (tests shrink it to get several chunks of a tiny model).
    var chunkRows: Int
    /// The compute-dtype input of the last `loss`, kept for a backward that must recompute.
    private(set) var x: Tensor?

    init(_ store: ParameterStore, config c: ModelConfig, options o: MoEOptions, tiedTo embedding: Parameter) {
        backend = store.backend
        chunkRows = Self.chunkRows(vocab: c.paddedVocab)
        if c.tiedEmbeddings {
            table = embedding
            head = nil
        } else {
            table = nil
            head = store.add("lm_head.w", shape: [c.hidden, c.paddedVocab], initial: .normal(std: o.initStd), weightDecay: true)
        }
    }

    /// losses_T[t] = −log softmax(x_t · Wᵀ)[targets[t]] (0 where the target is < 0). With `dX`
    /// (T × H, fp32; written whole, so it may come from `makeOutput`), also dX = scale · ∂(Σ losses)/∂x
    /// and W's gradient += scale · ∂(Σ losses)/∂W.
    func loss(_ x_TH: Tensor, targets: Tensor, scale: Float, losses: Tensor, dX: Tensor?) {
        let p = table ?? head!
        let w = p.compute ?? p.value
        let x = backend.converted(x_TH, to: w.dtype)
        self.x = x
        chunks(x, w: w, grad: p.grad, targets: targets, scale: scale, losses: losses, dX: dX)
    }

    /// The gradient part of `loss` again from the saved input (a backward the forward did not
    /// prepare: evaluation-style forward, a second backward, gradients zeroed in between).
    func recomputeGradients(targets: Tensor, scale: Float, dX: Tensor) {
        guard let x else { fatalError("LMHead: backward before forward") }
        let p = table ?? head!
        chunks(x, w: p.compute ?? p.value, grad: p.grad, targets: targets, scale: scale,
               losses: backend.makeTensor([x.rows]), dX: dX)
    }

    private func chunks(_ x: Tensor, w: Tensor, grad: Tensor, targets: Tensor, scale: Float, losses: Tensor, dX: Tensor?) {
        let (t, h, v, tied) = (x.rows, x.columns, grad.count / x.columns, table != nil)
        let rows = min(max(chunkRows, 1), t)
        // One buffer for every chunk's logits (and one for their compute-dtype copy): the last,
        // shorter chunk is a view, so the allocator sees two sizes per step, whatever T is.
        // Written whole before any read (the GEMM with beta 0, the convert): no zero fill needed.
        let full = backend.makeOutput([rows, v])
        let full16 = dX != nil && w.dtype != .float32 ? backend.makeOutput([rows, v], dtype: w.dtype) : nil
        var start = 0
        while start < t {
            let n = min(rows, t - start)
            let logits = n == rows ? full : full.view(offset: 0, shape: [n, v])
            // logits_nV = x_n · Wᵀ (tied W_VH) or x_n · W (W_HV); beta 0 overwrites the last chunk's dLogits.
            backend.gemm(transA: false, transB: tied, m: n, n: v, k: h, alpha: 1, a: x, aOffset: start * h, lda: h,
                         b: w, bOffset: 0, ldb: tied ? h : v, beta: 0, c: logits, cOffset: 0, ldc: v)
            // With a bf16 W, the gradient goes straight to the bf16 buffer the GEMMs read.
            let dLogits = full16.map { n == rows ? $0 : $0.view(offset: 0, shape: [n, v]) } ?? logits
            backend.crossEntropyFused(logits: logits, targets: targets, rowOffset: start, scale: scale, losses: losses,
                                      gradient: full16 == nil ? nil : dLogits)
            if let dX {
                backend.gemm(transA: false, transB: !tied, m: n, n: h, k: v, alpha: 1, a: dLogits, aOffset: 0, lda: v,
                             b: w, bOffset: 0, ldb: tied ? h : v, beta: 0, c: dX, cOffset: start * h, ldc: h)
                if tied {  // dW_VH += dLogitsᵀ · x_n
                    backend.gemm(transA: true, transB: false, m: v, n: h, k: n, alpha: 1, a: dLogits, aOffset: 0, lda: v,
                                 b: x, bOffset: start * h, ldb: h, beta: 1, c: grad, cOffset: 0, ldc: h)
                } else {   // dW_HV += x_nᵀ · dLogits
                    backend.gemm(transA: true, transB: false, m: h, n: v, k: n, alpha: 1, a: x, aOffset: start * h, lda: h,
                                 b: dLogits, bOffset: 0, ldb: v, beta: 1, c: grad, cOffset: 0, ldc: v)
                }
            }
            start += n
        }
    }
}

extension MoETransformer {
    /// Peak bytes the LM loss holds in a training step of `tokens` tokens (for memory estimates such
    /// as `xmoe plan`): one chunk's fp32 logits and their compute-dtype copy for the GEMMs (none in
    /// fp32), plus what lives from forward to backward: the head's input gradient (T × H, fp32) and
    /// the losses (T). The unchunked loss held 2–3 T × V fp32 tensors.
    public static func lossPathBytes(tokens: Int, hidden: Int, vocab: Int, computeDType: DType) -> Int {
        guard tokens > 0 else { return 0 }
        let rows = min(LMHead.chunkRows(vocab: vocab), tokens)
        let perRow = vocab * (4 + (computeDType == .float32 ? 0 : computeDType.byteSize))
        return rows * perRow + 4 * tokens * hidden + 4 * tokens
    }
}
