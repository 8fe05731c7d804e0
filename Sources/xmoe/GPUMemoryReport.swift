import XMoEParallel
import XMoESpec

/// `xmoe plan` with `train.device: cuda`: the GPU's share of the memory estimate, beside the CPU one.
extension LayoutReport {
    /// What the CUDA backend holds today; the integrator switches these as bf16 compute copies and
    /// flash attention land (`GPUMemoryInputs`).
    var gpuMemoryInputs: GPUMemoryInputs {
        GPUMemoryInputs.current(skipPolicy: spec.values.string("train.nan_policy") == "skip")
    }

    var gpuMemoryLines: [String] {
        guard TrainDevice.isCUDA(spec) else { return [] }
        let inputs = gpuMemoryInputs
        let e = plan.gpuMemory(inputs)
        return [
            "",
            "GPU memory (train.device=cuda; estimate)",
            "  parameters \(Format.bytes(e.parameterBytes)) (\(inputs.bytesPerParameter) bytes each: fp32 weight, grad, AdamW moments"
                + "\(inputs.bytesPerParameter > 16 ? ", more copies" : ""))",
            "  activations per micro-batch \(Format.bytes(e.activationBytes)) (\(inputs.bytesPerActivation) bytes per element)",
            "  attention probabilities \(Format.bytes(e.attentionProbabilityBytes))"
                + (inputs.keepsAttentionProbabilities ? " (heads × S² per sequence and layer)" : " (not kept)"),
            "  total \(Format.bytes(e.totalBytes)), plus the CUDA context and cuBLAS workspace",
        ]
    }
}
