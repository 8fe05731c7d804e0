/// The device memory of a one-GPU training step (`train.device: cuda`), as `xmoe plan` prints it.
/// Two inputs are named so they can follow the backend as it changes: the bytes each parameter
/// holds on the device, and the bytes of one activation element; and whether attention keeps its
/// S×S probabilities (flash attention does not).
public struct GPUMemoryInputs: Sendable, Equatable {
    /// fp32 master weight 4 + fp32 gradient 4 + AdamW moments 8 = 16 bytes; a bf16 compute copy adds 2;
    /// the NaN policy `skip` keeps a copy of weights and moments from before each update (+12).
    public var bytesPerParameter: Int
    /// 4 while activations are fp32, 2 once they are bf16.
    public var bytesPerActivation: Int
    /// Attention keeps heads·S² probabilities per sequence and layer for its backward pass.
    public var keepsAttentionProbabilities: Bool

    public init(bytesPerParameter: Int = 16, bytesPerActivation: Int = 4, keepsAttentionProbabilities: Bool = true) {
        self.bytesPerParameter = bytesPerParameter
        self.bytesPerActivation = bytesPerActivation
        self.keepsAttentionProbabilities = keepsAttentionProbabilities
    }

    /// Today's CUDA backend: everything fp32, attention materialises its probabilities.
    public static func current(skipPolicy: Bool) -> GPUMemoryInputs {
        GPUMemoryInputs(bytesPerParameter: 16 + (skipPolicy ? 12 : 0))
    }
}

public struct GPUMemoryEstimate: Sendable, Equatable {
    public var parameterBytes: Int
    /// One micro-batch's activations other than the attention probabilities.
    public var activationBytes: Int
    /// 0 when attention does not keep them.
    public var attentionProbabilityBytes: Int
    public var totalBytes: Int { parameterBytes + activationBytes + attentionProbabilityBytes }
}

extension LayoutPlan {
    /// Elements of the attention probabilities of one micro-batch: layers · micro-batch · heads · S².
    public var attentionProbabilityElements: Int {
        let c = model.config
        return c.layers * sizes.microBatch * (c.heads / sizes.tp) * c.seqLength * c.seqLength
    }

    /// One rank's GPU memory: every parameter it holds at `bytesPerParameter`, and the activations of
    /// `activationBytesPerRank` (the same element count, fp32 there) at `bytesPerActivation`, with the
    /// attention probabilities counted apart. Leaves out the CUDA context and cuBLAS's workspace.
    public func gpuMemory(_ inputs: GPUMemoryInputs) -> GPUMemoryEstimate {
        let probabilities = attentionProbabilityElements
        let otherActivations = activationBytesPerRank / 4 - probabilities
        return GPUMemoryEstimate(
            parameterBytes: inputs.bytesPerParameter * parametersPerRank,
            activationBytes: inputs.bytesPerActivation * otherActivations,
            attentionProbabilityBytes: inputs.keepsAttentionProbabilities ? inputs.bytesPerActivation * probabilities : 0)
    }
}
