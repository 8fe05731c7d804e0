import XMoEModel

/// The bytes one micro-batch's training step holds besides the parameters and optimizer state,
/// counted tensor by tensor from what the model's layers keep for their backward (XMoEModel:
/// Norm, Linear, CausalSelfAttention, FeedForward, Router, Permute, Experts, Unpermute, LMHead) and
/// in the dtype they keep it in. Both `xmoe plan`'s CPU estimate (fp32) and its GPU estimate
/// (fp32 or bf16) come from here, and a test checks it against the CPU backend's measured peak.
public struct ActivationMemory: Sendable, Equatable {
    /// Kept from forward to backward, other than the attention probabilities.
    public var savedBytes: Int
    /// The materialised path's (batch·heads)×S×S probabilities, with attention dropout its mask and
    /// the dropped copy too; 0 when attention runs as flash attention.
    public var attentionProbabilityBytes: Int
    /// The largest set of temporaries alive at once on top of the saved tensors: in a forward after
    /// the first, the logits and the new probabilities while the previous step's are still held (the
    /// head), or in the backward the logits' gradient and a block's gradients.
    public var transientBytes: Int
    public var totalBytes: Int { savedBytes + attentionProbabilityBytes + transientBytes }
}

/// How the step computes: the dtype of the GEMM inputs the layers save (4: fp32, 2: bf16 compute
/// copies), whether attention materialises its probabilities, and the dropout rates (a rate above
/// 0 keeps a mask per dropped tensor).
public struct ActivationPrecision: Sendable, Equatable {
    public var computeBytes: Int
    public var keepsAttentionProbabilities: Bool
    public var hiddenDropout: Double
    public var attentionDropout: Double

    public init(computeBytes: Int = 4, keepsAttentionProbabilities: Bool, hiddenDropout: Double = 0, attentionDropout: Double = 0) {
        precondition(computeBytes == 4 || computeBytes == 2, "compute dtype of \(computeBytes) bytes; fp32 (4) or bf16 (2)")
        self.computeBytes = computeBytes
        self.keepsAttentionProbabilities = keepsAttentionProbabilities
        self.hiddenDropout = hiddenDropout
        self.attentionDropout = attentionDropout
    }

    /// The CPU backend: fp32 unless `bf16`, flash attention unless attention dropout needs the
    /// probabilities (`CPUBackend.prefersFlashAttention`, CausalSelfAttention).
    public static func cpu(bf16: Bool = false, hiddenDropout: Double = 0, attentionDropout: Double = 0) -> ActivationPrecision {
        ActivationPrecision(computeBytes: bf16 ? 2 : 4, keepsAttentionProbabilities: attentionDropout > 0,
                            hiddenDropout: hiddenDropout, attentionDropout: attentionDropout)
    }
}

extension LayoutPlan {
    /// One rank's activation memory for one micro-batch. Sizes: T tokens (micro-batch · S), h the
    /// attention width per rank (hidden / tp), the MoE block's tokens and kept slots as
    /// `tokensPerMoEBlock` and `keptSlotsPerMoEBlock`; routed rows received from other ranks are
    /// counted as the rows sent (balanced routing).
    public func activationMemory(_ p: ActivationPrecision) -> ActivationMemory {
        let c = model.config
        let (f, lo) = (4, p.computeBytes)  // fp32 bytes; bytes of a saved GEMM input
        let bf16 = lo == 2
        let t = sizes.microBatch * c.seqLength, hFull = c.hidden, h = c.hidden / sizes.tp
        let heads = c.heads / sizes.tp
        let probsPerLayer = sizes.microBatch * heads * c.seqLength * c.seqLength
        let normStats = (c.norm == .layerNorm ? 2 : 1) * f * t  // rstd (and mean) per row
        let hiddenMask = p.hiddenDropout > 0 ? f * t * hFull : 0

        // Attention block: the norm's input and statistics, the qkv projection's input (the norm's
        // output, or its bf16 copy), the rotated qkv, then flash's output and row log-sum-exp (the
        // output projection saves that output, or a bf16 copy of it) or the materialised path's
        // output (saved only by the projection) and probabilities.
        var attention = f * t * hFull + normStats + lo * t * hFull + f * t * 3 * h
        if p.keepsAttentionProbabilities {
            attention += lo * t * h
        } else {
            attention += f * t * h + f * t * heads + (bf16 ? lo * t * h : 0)
        }
        // The FFN's norm input and statistics, and the hidden-dropout masks of both branches.
        let common = attention + f * t * hFull + normStats + 2 * hiddenMask

        let swiglu = c.activation == .swiglu
        let denseWidth = (swiglu ? 2 : 1) * c.ffnHidden / sizes.tp, denseOut = c.ffnHidden / sizes.tp
        let dense = lo * t * hFull + f * t * denseWidth + lo * t * denseOut

        let tm = tokensPerMoEBlock, kept = keptSlotsPerMoEBlock, e = c.numExperts
        let expertSwiglu = c.expertActivation == .swiglu
        let expertWidth = (expertSwiglu ? 2 : 1) * c.expertFFNHidden
        let sharedWidth = (expertSwiglu ? 2 : 1) * c.sharedExpertFFNHidden
        // The router's fp32 input (the norm's output; fp32 shared experts save the same tensor),
        // logits, scores, expert and weight per slot; the permute plan's inverse map and token per
        // row; the dispatched rows (and their bf16 copy), the experts' pre-activation, activation
        // and output rows; each shared expert's input copy, pre-activation and activation.
        var moe = f * tm * hFull + 2 * f * tm * e + 3 * 4 * tm * c.topK + 4 * e + 8 + 4 * kept
        moe += f * kept * hFull + (bf16 ? lo * kept * hFull : 0) + f * kept * expertWidth + lo * kept * c.expertFFNHidden
            + f * kept * hFull
        moe += c.numSharedExperts * ((bf16 ? lo * tm * hFull : 0) + f * tm * sharedWidth + lo * tm * c.sharedExpertFFNHidden)

        let vocab = c.paddedVocab / sizes.tp
        // Embedding dropout's mask, the final norm's input and statistics, the head's input, the
        // head's input gradient (computed chunk by chunk in the forward, LMHead) and the per-token
        // losses, tokens and targets.
        let ends = hiddenMask + f * t * hFull + normStats + lo * t * hFull + 4 * t * hFull + 4 * t + 2 * 4 * t
        let saved = c.layers * common + c.firstDenseLayers * dense + c.moeLayers * moe + ends

        var probabilities = 0
        if p.keepsAttentionProbabilities {
            // probs, and with attention dropout its mask and the dropped probabilities.
            probabilities = c.layers * f * probsPerLayer * (p.attentionDropout > 0 ? 3 : 1)
        }

        // Forward: one chunk of the head's fp32 logits and their bf16 copy (LMHead.chunkRows rows).
        let chunk = min(LMHead.chunkRows(vocab: c.paddedVocab), t)
        let forwardPeak = chunk * vocab * (4 + (bf16 ? lo : 0))
        // Backward: two T×H gradients, plus the larger of an attention block's (three T×H, the attention
        // gradient, two 3h-wide qkv gradients, bf16 copies of the projections' output gradients) and
        // a MoE block's (gradients of the expert rows, their activation and pre-activation, the
        // combine weights and the router logits).
        let attentionBackward = 3 * f * t * hFull + f * t * h + 2 * f * t * 3 * h + (bf16 ? lo * t * (h + 3 * h) : 0)
            + (p.keepsAttentionProbabilities ? f * probsPerLayer : 0)
        let moeBackward = 3 * f * t * hFull + 2 * f * kept * hFull + f * kept * (c.expertFFNHidden + expertWidth)
            + (bf16 ? lo * kept * (hFull + expertWidth) : 0) + f * tm * c.topK + f * tm * e
        let backwardPeak = 2 * f * t * hFull
            + max(attentionBackward, c.moeLayers > 0 ? moeBackward : 0)
        return ActivationMemory(savedBytes: saved, attentionProbabilityBytes: probabilities,
                                transientBytes: max(forwardPeak, backwardPeak))
    }

    /// Rows the MoE block keeps per micro-batch: every slot when dropless, else at most capacity per expert.
    public var keptSlotsPerMoEBlock: Int {
        let slots = tokensPerMoEBlock * model.config.topK
        guard let capacity = capacityPerExpert else { return slots }
        return min(slots, capacity * model.config.numExperts)
    }
}
