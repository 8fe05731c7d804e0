/// The compute primitives the MoE transformer is built from (llm.c style: each op a forward/backward
/// pair). Model code talks only to `Backend`, so a GPU backend (cuBLAS + runtime-compiled kernels)
/// can be added beside `CPUBackend` without touching it.
///
/// Dimension legend (shape suffixes on names): T tokens (= batch · S), S sequence length,
/// B kept slots, H hidden, F FFN width, E experts, G groups (segments), K top-k, L local experts,
/// V vocabulary, N heads, D head width (H = N · D), I/O a linear map's input/output width.
///
/// Conventions:
/// - Tensors are contiguous row-major; an op sees a tensor as `rows × columns` (last dim = columns).
/// - Ops write into tensors the caller allocated (`makeTensor`); nothing allocates in hot loops.
/// - Every `…Backward` ADDS into its gradient outputs (`d… += …`), so one tensor can collect the
///   gradients of several uses (residuals, tied embeddings); zero gradients before a step. Ops
///   that are often the first writer of a large per-step gradient take an `overwrite…` flag: with
///   it they WRITE that output (d… = …), so it can come from `makeOutput` (no zero fill). The
///   value is what adding into zeros gives (0 + a == a), so a model's results do not change.
/// - Linear weights are stored `[in, out]`: `y_TO = x_TI · w_IO + b_O`.
/// - Results are bit-identical for any thread count: reductions run in a fixed order.
///
/// Ops (file → functions):
/// - Memory: `makeTensor`, `zero`, `fill`, `copy`, `upload`, `downloadFloats`, `downloadInts`
/// - Ops/Convert: `convert` (float32 ↔ bfloat16), `converted`
/// - Ops/Gemm: `gemm`, `batchedGemm`, `groupedGemm`, `groupedGemmWeightGrad` (primitives)
/// - Ops/Linear: `linearForward/Backward`, `groupedLinearForward/Backward` (experts)
/// - Ops/Elementwise: `add`, `scale`, `axpy`, `addBias`, `sumRows`, `addSegmentBias`, `sumRowSegments`
/// - Ops/Activation: `geluForward/Backward` (tanh approx.), `siluForward/Backward`,
///   `swigluForward/Backward`
/// - Ops/Softmax: `softmaxForward/Backward` (rows)
/// - Ops/Dropout: `dropoutForward/Backward` (with a caller-drawn mask of 0 and 1/(1−p))
/// - Ops/LayerNorm, Ops/RMSNorm: `layerNormForward/Backward`, `rmsNormForward/Backward`
/// - Ops/RoPE: `ropeForward/Backward` (rotate-half pairs, on the q and k parts of qkv_T3H)
/// - Ops/Attention: `attentionForward/Backward` (causal, multi-head, from qkv_T3H)
/// - Ops/FlashAttention: `flashAttentionForward/Backward` (the same, keeping only the row log-sum-exp)
/// - Ops/Gather: `gatherRows` + `gatherRowsBackward`, `scatterAddRows` + `scatterAddRowsBackward`
/// - Ops/Sort: `stableArgsort` (counting sort of int32 keys, e.g. expert ids)
/// - Ops/Route: `routeForward/Backward` (scores, top-k, combine weights, aux and z-loss statistics)
/// - Ops/Permute: `permutePlan`, `permuteTokens`, `unpermute` + `unpermuteBackward`
/// - Ops/Embedding: `embeddingForward/Backward`
/// - Ops/CrossEntropy: `crossEntropyForward/Backward` (fused softmax + NLL over logits_TV),
///   `crossEntropyFused` (loss and scaled gradient of a chunk of rows, in place of its logits)
/// - Ops/AdamW: `adamwUpdate`
public protocol Backend: AnyObject, Sendable {
    // MARK: memory

    /// A zero-filled tensor in this backend's memory.
    func makeTensor(_ shape: [Int], dtype: DType) -> Tensor
    /// A tensor the caller writes in full before reading any of it (an op's output): its contents are
    /// unspecified. The CPU backend zero-fills it anyway; the GPU skips the fill (a full memory pass).
    func makeOutput(_ shape: [Int], dtype: DType) -> Tensor
    func zero(_ tensor: Tensor)
    func fill(_ tensor: Tensor, value: Float)
    /// dst = src (same element count and dtype).
    func copy(from src: Tensor, to dst: Tensor)
    func upload(_ values: [Float], to tensor: Tensor)
    func upload(_ values: [Int32], to tensor: Tensor)
    func downloadFloats(_ tensor: Tensor) -> [Float]
    func downloadInts(_ tensor: Tensor) -> [Int32]

    // MARK: precision

    /// The dtype the model's large GEMMs run in: `.float32`, or `.bfloat16` (DESIGN "Numerics":
    /// bf16 operands, fp32 accumulation and outputs; master weights, router, norms, softmax and
    /// loss stay fp32). The model keeps a compute copy of its weights in this dtype.
    var computeDType: DType { get }

    /// dst = src converted element-wise (same count): float32 → bfloat16 rounds to nearest even
    /// (NaN stays NaN), bfloat16 → float32 is exact; equal dtypes copy.
    func convert(_ src: Tensor, to dst: Tensor)

    // MARK: matrix products (BLAS semantics; offsets and leading dimensions in elements)
    //
    // dtypes: A and B (a and w, a and dC) share one dtype, float32 or bfloat16; C is float32 and
    // accumulates in fp32 whatever the operands are.

    /// C = alpha · op(A) · op(B) + beta · C, op(A) is m×k, op(B) is k×n, C is m×n.
    func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: Tensor, aOffset: Int, lda: Int, b: Tensor, bOffset: Int, ldb: Int,
        beta: Float, c: Tensor, cOffset: Int, ldc: Int)

    /// `batchCount` independent gemms; matrix i starts at offset + i · stride in each tensor.
    func batchedGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: Tensor, aOffset: Int, lda: Int, strideA: Int,
        b: Tensor, bOffset: Int, ldb: Int, strideB: Int,
        beta: Float, c: Tensor, cOffset: Int, ldc: Int, strideC: Int, batchCount: Int)

    /// Grouped gemm over contiguous row segments (the experts' case). Segment g is rows
    /// [rowOffsets[g], rowOffsets[g] + rowCounts[g]) of a_XK and c_XN; its weight w_g is matrix g of
    /// w_GKN (k×n) or, with `transB`, of w_GNK (n×k):  c[seg] = alpha · a[seg] · op(w_g) + beta · c[seg].
    /// c is fp32, or bf16 with beta 0 (written: the fp32 sums rounded once, as `convert` rounds).
    func groupedGemm(
        transB: Bool, k: Int, n: Int, alpha: Float, a: Tensor, w: Tensor, beta: Float, c: Tensor,
        rowOffsets: [Int], rowCounts: [Int])

    /// The experts' linear map out[seg_g] = x[seg_g] · w_g (+ b_g) (Ops/Linear: the grouped GEMM, then
    /// a bias pass); a backend may add the bias inside the product's epilogue, with the same sums.
    /// A bf16 `out` (b stays fp32) holds those fp32 sums, bias included, rounded once as `convert`
    /// rounds: the rows the unpermute then reads are half the bytes (as under autocast).
    func groupedLinearForward(x: Tensor, w: Tensor, b: Tensor?, rowOffsets: [Int], rowCounts: [Int], out: Tensor)

    /// Weight gradient of `groupedGemm` (transB = false): dW_g += a[seg]ᵀ · dC[seg], dW is G×k×n.
    /// `overwrite`: dW_g = a[seg]ᵀ · dC[seg] instead, for every g (a zero-row expert's dW_g becomes
    /// zeros): dW is neither read nor needs zeroing first (`ParameterStore.zeroGrads` leaves the
    /// experts' weight gradients to it).
    func groupedGemmWeightGrad(
        k: Int, n: Int, a: Tensor, dC: Tensor, dW: Tensor, rowOffsets: [Int], rowCounts: [Int], overwrite: Bool)

    // MARK: element-wise and reductions

    /// out = a + b (element-wise; out may alias a or b). Backward: both inputs get dOut.
    func add(_ a: Tensor, _ b: Tensor, out: Tensor)
    /// x *= alpha, in place.
    func scale(_ x: Tensor, by alpha: Float)
    /// y += alpha · x.
    func axpy(alpha: Float, x: Tensor, y: Tensor)
    /// out[r, :] += bias[biasOffset ..< biasOffset + columns] for r in `rows`.
    func addBias(_ out: Tensor, bias: Tensor, biasOffset: Int, rows: Range<Int>)
    /// out[outOffset + c] += Σ_{r in rows} x[r, c] (bias gradients), summed in an order fixed by the
    /// shape (the CPU: row order; the GPU: interleaved row lanes, then the lanes in order).
    func sumRows(_ x: Tensor, rows: Range<Int>, into out: Tensor, outOffset: Int)
    /// The experts' biases: out[r, :] += bias_GC[g, :] for the rows r of segment g, i.e. rows
    /// [rowOffsets[g], rowOffsets[g] + rowCounts[g]) (as in `groupedGemm`). One call for all segments.
    func addSegmentBias(_ out: Tensor, bias: Tensor, rowOffsets: [Int], rowCounts: [Int])
    /// out_GC[g, :] += Σ over segment g's rows of x[r, :] (the experts' bias gradients), each
    /// segment summed like `sumRows`. One call for all segments. x may be bf16 (summed in fp32).
    func sumRowSegments(_ x: Tensor, rowOffsets: [Int], rowCounts: [Int], into out: Tensor)

    // MARK: activations

    /// `out` fp32, or bf16 (each value rounded as `convert` rounds: the experts' bf16 GEMM input directly).
    func geluForward(_ x: Tensor, out: Tensor)
    /// dX += (or, with `overwrite`, =) gelu'(x) · dOut. A bf16 dX (the experts' first GEMM reads the
    /// gradient in bf16, as under autocast) is written, rounded as `convert` rounds: overwrite only.
    func geluBackward(x: Tensor, dOut: Tensor, dX: Tensor, overwrite: Bool)
    func siluForward(_ x: Tensor, out: Tensor)
    func siluBackward(x: Tensor, dOut: Tensor, dX: Tensor)
    /// out_TF = silu(gate) · up with gateUp_T2F = [gate | up] (one GEMM produces both halves).
    func swigluForward(gateUp: Tensor, out: Tensor)
    /// dGateUp += (or, with `overwrite`, =) the gradient of both halves.
    func swigluBackward(gateUp: Tensor, dOut: Tensor, dGateUp: Tensor, overwrite: Bool)

    // MARK: dropout

    /// out = x ⊙ mask, the mask holding 0 (dropped) or 1/(1−p) (kept); `out` may be `x`.
    func dropoutForward(_ x: Tensor, mask: Tensor, out: Tensor)
    /// dX += dOut ⊙ mask.
    func dropoutBackward(dOut: Tensor, mask: Tensor, dX: Tensor)

    // MARK: softmax and normalisation

    /// probs = softmax over each row of logits.
    func softmaxForward(logits: Tensor, probs: Tensor)
    func softmaxBackward(probs: Tensor, dProbs: Tensor, dLogits: Tensor)

    /// out_TH = (x − mean) · rstd · weight_H + bias_H; saves mean_T and rstd_T for backward.
    func layerNormForward(
        x: Tensor, weight: Tensor, bias: Tensor, eps: Float, out: Tensor, mean: Tensor, rstd: Tensor)
    /// dX += (or, with `overwriteDX`, =) the input gradient; dWeight and dBias accumulate.
    func layerNormBackward(
        dOut: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor,
        dX: Tensor, dWeight: Tensor, dBias: Tensor, overwriteDX: Bool)

    /// out_TH = x · rstd · weight_H with rstd = 1 / sqrt(mean(x²) + eps); saves rstd_T.
    func rmsNormForward(x: Tensor, weight: Tensor, eps: Float, out: Tensor, rstd: Tensor)
    /// dX += (or, with `overwriteDX`, =) the input gradient; dWeight accumulates.
    func rmsNormBackward(
        dOut: Tensor, x: Tensor, weight: Tensor, rstd: Tensor, dX: Tensor, dWeight: Tensor, overwriteDX: Bool)

    // MARK: attention

    /// Rotates the q and k parts of qkv_T3H (layout per token: [q | k | v], each N heads of D);
    /// v is copied. Position of token t is t mod seqLen; pairs (i, i + D/2) turn by
    /// pos · theta^(−2i/D). `out` may be `qkv` (in place).
    func ropeForward(qkv: Tensor, heads: Int, seqLen: Int, theta: Float, out: Tensor)
    /// dQkv += (or, with `overwrite`, =) the inverse rotation of dOut (v part passes through). dQkv
    /// may not alias dOut.
    func ropeBackward(dOut: Tensor, heads: Int, seqLen: Int, theta: Float, dQkv: Tensor, overwrite: Bool)

    /// Causal multi-head attention with scale 1/sqrt(D). qkv_T3H as above with T = batch · seqLen;
    /// writes out_TH and saves the probabilities probs_(batch·N)SS for backward.
    func attentionForward(qkv: Tensor, heads: Int, seqLen: Int, out: Tensor, probs: Tensor)
    func attentionBackward(
        dOut: Tensor, qkv: Tensor, probs: Tensor, heads: Int, seqLen: Int, dQkv: Tensor)

    /// Whether models should attend through `flashAttention…` (no S×S probabilities kept) rather than
    /// the materialised ops when no probabilities are dropped: a backend says no while its flash
    /// kernels are much slower than its materialised path.
    var prefersFlashAttention: Bool { get }
    /// The same for one head width: a backend whose fast flash kernels exist for some widths only
    /// says no for the others (their materialised path is faster).
    func prefersFlashAttention(headDim: Int) -> Bool
    /// The same attention without the S×S probabilities (FlashAttention-2): writes out_TH and the
    /// log-sum-exp of each row's scaled scores, logSumExp_(batch·N)S (fp32), all backward needs.
    func flashAttentionForward(qkv: Tensor, heads: Int, seqLen: Int, out: Tensor, logSumExp: Tensor)
    /// dQkv += (or, with `overwrite`, =) the gradient, recomputing the probabilities blockwise from
    /// qkv, out and logSumExp.
    func flashAttentionBackward(
        dOut: Tensor, qkv: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, dQkv: Tensor, overwrite: Bool)
    /// `flashAttentionForward` of qkv with q and k rotated by RoPE (`ropeForward`, theta) first; qkv
    /// itself stays unrotated. A backend may rotate while it reads qkv (no rotated copy, no RoPE pass).
    /// Returns what the backward takes in qkv's place: qkv itself, or the backend's own copy of it
    /// (CUDA's tensor-core path: its rotated bf16 pack, half qkv's bytes, not packed again).
    @discardableResult
    func flashAttentionRoPEForward(qkv: Tensor, heads: Int, seqLen: Int, theta: Float, out: Tensor, logSumExp: Tensor) -> Tensor
    /// Its backward from the forward's `saved`: dQkv += (or, with `overwrite`, =) the gradient w.r.t.
    /// the unrotated qkv. A bf16 dQkv (the qkv projection's GEMMs read it so) is written, rounded as
    /// `convert` rounds: overwrite only.
    func flashAttentionRoPEBackward(
        dOut: Tensor, saved: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, theta: Float, dQkv: Tensor, overwrite: Bool)

    // MARK: routing data movement

    /// dst[b, :] = src[index[b], :] (permute tokens into expert order).
    func gatherRows(_ src: Tensor, index: Tensor, into dst: Tensor)
    /// dSrc[index[b], :] += dDst[b, :], accumulated in increasing b.
    func gatherRowsBackward(dDst: Tensor, index: Tensor, dSrc: Tensor)
    /// dst[index[b], :] += weight[b] · src[b, :], accumulated in increasing b (weighted unpermute).
    func scatterAddRows(_ src: Tensor, index: Tensor, weight: Tensor, into dst: Tensor)
    /// dSrc[b] += weight[b] · dDst[index[b]];  dWeight[b] += src[b] · dDst[index[b]].
    func scatterAddRowsBackward(
        dDst: Tensor, src: Tensor, index: Tensor, weight: Tensor, dSrc: Tensor, dWeight: Tensor)

    /// Stable argsort of int32 keys in [0, keyCount): order lists positions by key, ties in input
    /// order; counts_keyCount gets how many keys of each value (int32 tensors).
    func stableArgsort(keys: Tensor, keyCount: Int, order: Tensor, counts: Tensor)

    // MARK: routing and permutation (DESIGN item 4; Ops/Route, Ops/Permute)

    /// From the gate's logits_TE: scores_TE (softmax, or sigmoid for `.sigmoidBias`), each token's
    /// K experts expert_TK (int32; largest selection value first, equal values: lower expert id),
    /// their combine weights weight_TK, routed_E (int32: slots sent to each expert, before any
    /// drop) and losses_2 = [aux, z], unscaled (see `RouteGating`). `bias` (E values, selection only)
    /// is read for `.sigmoidBias` alone. K ≤ 16.
    func routeForward(
        logits: Tensor, bias: Tensor?, gating: RouteGating, topK: Int,
        scores: Tensor, expert: Tensor, weight: Tensor, routed: Tensor, losses: Tensor)
    /// dLogits_TE = ∂(Σ_slots dWeight·weight + auxCoeff·aux + zCoeff·z) / ∂logits, from what the
    /// forward wrote. WRITES dLogits (it is a fresh tensor: the gate's backward takes it from there).
    func routeBackward(
        logits: Tensor, scores: Tensor, expert: Tensor, weight: Tensor, routed: Tensor, dWeight: Tensor,
        gating: RouteGating, auxCoeff: Float, zCoeff: Float, dLogits: Tensor)

    /// Where each of the T·K slots goes in x_BH, the kept rows grouped by expert (ascending), slots in
    /// increasing order inside an expert. With a capacity, an over-full expert keeps its `capacity`
    /// highest-weight slots (equal weights: lower slot first). Writes kept_E (int32: rows per
    /// expert) and rowOfSlot_TK (int32: the row of each slot, −1 when dropped).
    func permutePlan(expert: Tensor, weight: Tensor, experts: Int, capacity: Int?, kept: Tensor, rowOfSlot: Tensor)
    /// tokenOfRow_B[rowOfSlot[s]] = s / topK for every kept slot (B = Σ kept_E rows).
    func permuteTokens(rowOfSlot: Tensor, topK: Int, tokenOfRow: Tensor)
    /// dst_TH[t] += Σ over t's kept slots s, in increasing row order, of (weight[s] ·) src_BH[rowOfSlot[s]]:
    /// the weighted unpermute (weight_TK) and, without weights, the backward of the permuting gather.
    /// A gather over the inverse map: no atomics, the same order on every backend. With `overwrite`,
    /// dst_TH[t] = that sum instead (0 for a token with no kept slot): every row of dst is written.
    /// src may be bf16 (the experts' bf16 output; dst stays fp32): its values widen exactly, then the
    /// same fp32 sums.
    func unpermute(_ src: Tensor, rowOfSlot: Tensor, weight: Tensor?, topK: Int, into dst: Tensor, overwrite: Bool)
    /// For each kept slot s of token t, row b = rowOfSlot[s]: dSrc[b] += weight[s] · dDst[t];
    /// dWeight[s] += src[b] · dDst[t] (dropped slots get nothing). A bf16 dSrc (the experts' GEMM
    /// reads it) is WRITTEN, rounded as `convert` rounds: dSrc's rows are the kept rows, each with one
    /// slot, so it holds exactly what zeros, the fp32 sum and a convert would give. `overwriteDSrc`
    /// writes an fp32 dSrc the same way (dSrc = weight · dDst, every row: a dSrc from `makeOutput`);
    /// dWeight still accumulates. src may be bf16 (read for dWeight only): its values widen exactly,
    /// then the same fp32 dots.
    func unpermuteBackward(
        dDst: Tensor, src: Tensor, rowOfSlot: Tensor, weight: Tensor, topK: Int, dSrc: Tensor, dWeight: Tensor, overwriteDSrc: Bool)

    // MARK: embedding, loss, optimizer

    /// out_TH[t] = table_VH[tokens_T[t]].
    func embeddingForward(tokens: Tensor, table: Tensor, out: Tensor)
    /// dTable[tokens[t]] += dOut[t], accumulated in increasing t.
    func embeddingBackward(tokens: Tensor, dOut: Tensor, dTable: Tensor)

    /// probs_TV = softmax(logits_TV); losses_T = −log probs[t, targets[t]] (0 where target < 0).
    func crossEntropyForward(logits: Tensor, targets: Tensor, probs: Tensor, losses: Tensor)
    /// dLogits[t] += dLosses[t] · (probs[t] − onehot(targets[t])); rows with target < 0 get nothing.
    func crossEntropyBackward(probs: Tensor, targets: Tensor, dLosses: Tensor, dLogits: Tensor)
    /// Forward and backward of one chunk of rows at once, for a loss whose gradient per row is known
    /// before the backward (the mean LM loss): row r of logits_RV (fp32) is global row
    /// rowOffset + r of targets_T and losses_T. Writes losses[rowOffset + r] = −log softmax(logits[r])[t]
    /// and OVERWRITES logits[r] with dLogits = scale · (softmax − onehot(t)); a row with t < 0 gets
    /// loss 0 and dLogits 0. Max and sum run in a fixed order (the CPU: index order, the same
    /// roundings as `crossEntropyForward` then `crossEntropyBackward` with dLosses = scale).
    /// With `gradient` (logits' shape, fp32 or the compute dtype), dLogits go there instead, rounded
    /// to its dtype as `convert` rounds, and `logits` may be left holding anything: the bf16 LM head
    /// skips writing fp32 dLogits only to convert them.
    func crossEntropyFused(logits: Tensor, targets: Tensor, rowOffset: Int, scale: Float, losses: Tensor, gradient: Tensor?)

    /// One AdamW step (decoupled weight decay, bias correction for 1-based `step`):
    /// m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; p −= lr · (m̂ / (sqrt(v̂) + eps) + wd · p).
    /// With `computeCopy` (a tensor of `param`'s count in the compute dtype), the updated p is also
    /// written there rounded, exactly as `convert(param, to: computeCopy)` would: the bf16 refresh
    /// rides on the optimizer's pass instead of reading the masters a second time.
    func adamwUpdate(
        param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: Int,
        lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float, computeCopy: Tensor?)

    /// Σ x² over every element, accumulated in Double in an order fixed by the shape; one scalar
    /// comes back (a synchronisation point). See Backend+Reductions.swift.
    func sumOfSquares(_ x: Tensor) -> Double
    /// Whether no element is NaN or ±Inf; one Bool comes back (a synchronisation point).
    func allFinite(_ x: Tensor) -> Bool
}

extension Backend {
    /// `crossEntropyFused` with dLogits written over the logits.
    public func crossEntropyFused(logits: Tensor, targets: Tensor, rowOffset: Int, scale: Float, losses: Tensor) {
        crossEntropyFused(logits: logits, targets: targets, rowOffset: rowOffset, scale: scale, losses: losses, gradient: nil)
    }

    /// `adamwUpdate` without a compute copy to refresh.
    public func adamwUpdate(
        param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: Int,
        lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    ) {
        adamwUpdate(param: param, grad: grad, m: m, v: v, step: step, lr: lr, beta1: beta1, beta2: beta2, eps: eps,
                    weightDecay: weightDecay, computeCopy: nil)
    }

    // The adding forms of the ops with an overwrite flag (the convention's default).
    public func geluBackward(x: Tensor, dOut: Tensor, dX: Tensor) { geluBackward(x: x, dOut: dOut, dX: dX, overwrite: false) }
    public func swigluBackward(gateUp: Tensor, dOut: Tensor, dGateUp: Tensor) {
        swigluBackward(gateUp: gateUp, dOut: dOut, dGateUp: dGateUp, overwrite: false)
    }
    public func layerNormBackward(
        dOut: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, dX: Tensor, dWeight: Tensor, dBias: Tensor
    ) {
        layerNormBackward(dOut: dOut, x: x, weight: weight, mean: mean, rstd: rstd, dX: dX, dWeight: dWeight, dBias: dBias,
                          overwriteDX: false)
    }
    public func rmsNormBackward(dOut: Tensor, x: Tensor, weight: Tensor, rstd: Tensor, dX: Tensor, dWeight: Tensor) {
        rmsNormBackward(dOut: dOut, x: x, weight: weight, rstd: rstd, dX: dX, dWeight: dWeight, overwriteDX: false)
    }
    public func ropeBackward(dOut: Tensor, heads: Int, seqLen: Int, theta: Float, dQkv: Tensor) {
        ropeBackward(dOut: dOut, heads: heads, seqLen: seqLen, theta: theta, dQkv: dQkv, overwrite: false)
    }
    public func unpermute(_ src: Tensor, rowOfSlot: Tensor, weight: Tensor?, topK: Int, into dst: Tensor) {
        unpermute(src, rowOfSlot: rowOfSlot, weight: weight, topK: topK, into: dst, overwrite: false)
    }
    public func unpermuteBackward(
        dDst: Tensor, src: Tensor, rowOfSlot: Tensor, weight: Tensor, topK: Int, dSrc: Tensor, dWeight: Tensor
    ) {
        unpermuteBackward(dDst: dDst, src: src, rowOfSlot: rowOfSlot, weight: weight, topK: topK, dSrc: dSrc, dWeight: dWeight,
                          overwriteDSrc: false)
    }
    public func flashAttentionBackward(
        dOut: Tensor, qkv: Tensor, out: Tensor, logSumExp: Tensor, heads: Int, seqLen: Int, dQkv: Tensor
    ) {
        flashAttentionBackward(dOut: dOut, qkv: qkv, out: out, logSumExp: logSumExp, heads: heads, seqLen: seqLen, dQkv: dQkv,
                               overwrite: false)
    }

    public func makeTensor(_ shape: [Int]) -> Tensor { makeTensor(shape, dtype: .float32) }
    public func makeOutput(_ shape: [Int]) -> Tensor { makeOutput(shape, dtype: .float32) }
    public func prefersFlashAttention(headDim: Int) -> Bool { prefersFlashAttention }
}
