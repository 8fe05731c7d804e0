/// The device memory of a one-GPU training step (`train.device: cuda`), as `xmoe plan` prints it
/// and `xmoe run` checks against the GPU's size. The activations are `LayoutPlan.activationMemory`
/// (the same tensors the CPU backend's tally measures); the inputs say what the CUDA backend holds.
public struct GPUMemoryInputs: Sendable, Equatable {
    /// fp32 master weight 4 + fp32 gradient 4 + AdamW moments 8 = 16 bytes; a bf16 compute copy adds 2;
    /// the NaN policy `skip` keeps a copy of weights and moments from before each update (+12).
    public var bytesPerParameter: Int
    /// The compute dtype, attention's path and the dropout rates.
    public var activation: ActivationPrecision
    /// Fixed device workspaces: with bf16 compute, the experts' cuBLASLt GEMMs keep one per stream
    /// (`CUDABackend.expertGemmWorkspaceBytes`; counted only for models with experts).
    public var expertGemmWorkspaceBytes = 0
    /// 4 streams × 32 MiB, mirrored from the CUDA backend (a test checks the two agree).
    public static let cudaExpertGemmWorkspaceBytes = 4 * (32 << 20)

    public init(bytesPerParameter: Int = 16, activation: ActivationPrecision = ActivationPrecision(keepsAttentionProbabilities: true)) {
        self.bytesPerParameter = bytesPerParameter
        self.activation = activation
    }

    /// The CUDA backend computing in bf16 (`train.precision`) or fp32. `runsFlash`: whether it runs
    /// attention as flash attention for this dtype and head size (`cudaRunsFlashAttention`).
    public static func cuda(bf16: Bool, skipPolicy: Bool, headDim: Int, hiddenDropout: Double = 0,
                            attentionDropout: Double = 0, runsFlash: Bool? = nil) -> GPUMemoryInputs {
        let flash = runsFlash ?? cudaRunsFlashAttention(bf16: bf16, headDim: headDim)
        var inputs = GPUMemoryInputs(
            bytesPerParameter: 16 + (bf16 ? 2 : 0) + (skipPolicy ? 12 : 0),
            activation: ActivationPrecision(computeBytes: bf16 ? 2 : 4,
                                            // Attention dropout needs the probabilities (CausalSelfAttention).
                                            keepsAttentionProbabilities: attentionDropout > 0 || !flash,
                                            hiddenDropout: hiddenDropout, attentionDropout: attentionDropout))
        inputs.expertGemmWorkspaceBytes = bf16 ? cudaExpertGemmWorkspaceBytes : 0
        return inputs
    }

    /// Whether the CUDA backend runs attention as flash attention (keeping no S×S probabilities) for
    /// this compute dtype and head size: bf16 at the head widths of its tensor-core kernels. The
    /// backend's own rule is `CUDABackend.usesTensorCoreFlash(computeDType:headDim:)`, which `xmoe`
    /// passes as `runsFlash` (this layer cannot import the CUDA module); this mirror is the default.
    public static func cudaRunsFlashAttention(bf16: Bool, headDim: Int) -> Bool { bf16 && (headDim == 64 || headDim == 128) }
}

public struct GPUMemoryEstimate: Sendable, Equatable {
    public var parameterBytes: Int
    /// One micro-batch's saved activations other than the attention probabilities.
    public var activationBytes: Int
    /// 0 when attention does not keep them.
    public var attentionProbabilityBytes: Int
    /// The largest temporaries alive at once on top (`ActivationMemory.transientBytes`).
    public var transientBytes: Int
    /// The experts' GEMM workspaces (bf16 compute, a model with experts), allocated once.
    public var workspaceBytes = 0
    public var totalBytes: Int { parameterBytes + activationBytes + attentionProbabilityBytes + transientBytes + workspaceBytes }
}

extension LayoutPlan {
    /// Elements of the attention probabilities of one micro-batch: layers · micro-batch · heads · S².
    public var attentionProbabilityElements: Int {
        let c = model.config
        return c.layers * sizes.microBatch * (c.heads / sizes.tp) * c.seqLength * c.seqLength
    }

    /// One rank's GPU memory at its peak: every parameter it holds at `bytesPerParameter` and one
    /// micro-batch's activations. Leaves out the CUDA context, cuBLAS's workspace and the caching
    /// allocator's rounding to size classes.
    public func gpuMemory(_ inputs: GPUMemoryInputs) -> GPUMemoryEstimate {
        let a = activationMemory(inputs.activation)
        return GPUMemoryEstimate(parameterBytes: inputs.bytesPerParameter * parametersPerRank, activationBytes: a.savedBytes,
                                 attentionProbabilityBytes: a.attentionProbabilityBytes, transientBytes: a.transientBytes,
                                 workspaceBytes: model.config.moeLayers > 0 ? inputs.expertGemmWorkspaceBytes : 0)
    }
}
