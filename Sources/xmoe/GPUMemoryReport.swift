import XMoEComputeCUDA
import XMoEParallel
import XMoESpec

/// `xmoe plan` with `train.device: cuda`: the GPU's share of the memory estimate, beside the CPU one,
/// and `xmoe run`'s check of it against the GPU's size.
extension LayoutReport {
    /// What the CUDA backend holds for this spec: fp32 masters, gradients and moments, a bf16 compute
    /// copy with `train.precision` bf16, the NaN policy's snapshot, attention's path.
    var gpuMemoryInputs: GPUMemoryInputs {
        let v = spec.values, bf16 = TrainDevice.precision(spec) == "bf16", headDim = plan.model.config.headDim
        return GPUMemoryInputs.cuda(bf16: bf16, skipPolicy: v.string("train.nan_policy") == "skip",
                                    headDim: headDim, hiddenDropout: v.float("model.dropout")!,
                                    attentionDropout: v.float("model.attention_dropout")!,
                                    runsFlash: CUDABackend.usesTensorCoreFlash(computeDType: bf16 ? .bfloat16 : .float32, headDim: headDim))
    }

    var gpuEstimate: GPUMemoryEstimate { plan.gpuMemory(gpuMemoryInputs) }

    var gpuMemoryLines: [String] {
        guard TrainDevice.isCUDA(spec) else { return [] }
        let inputs = gpuMemoryInputs, e = gpuEstimate
        let bf16 = inputs.activation.computeBytes == 2
        var parts = "fp32 weight, grad, AdamW moments"
        if bf16 { parts += ", bf16 compute copy" }
        if inputs.bytesPerParameter - (bf16 ? 18 : 16) > 0 { parts += ", nan_policy skip's snapshot" }
        var lines = [
            "",
            "GPU memory (train.device=cuda, precision \(TrainDevice.precision(spec)); estimate)",
            "  parameters \(Format.bytes(e.parameterBytes)) (\(inputs.bytesPerParameter) bytes each: \(parts))",
            "  activations per micro-batch \(Format.bytes(e.activationBytes)) (saved for backward; GEMM inputs in \(bf16 ? "bf16" : "fp32"))",
            "  attention probabilities \(Format.bytes(e.attentionProbabilityBytes))"
                + (inputs.activation.keepsAttentionProbabilities ? " (heads × S² per sequence and layer)" : " (not kept: flash attention)"),
            "  temporaries at the peak \(Format.bytes(e.transientBytes)) (a chunk of logits, gradients in flight)",
        ]
        if e.workspaceBytes > 0 { lines.append("  expert GEMM workspaces \(Format.bytes(e.workspaceBytes)) (cuBLASLt, one per stream)") }
        lines.append("  total \(Format.bytes(e.totalBytes)), plus the CUDA context and cuBLAS's own workspace")
        if let size = try? CUDABackend.deviceMemoryBytes() { lines.append("  " + gpuVerdict(size: size).text) }
        return lines
    }

    /// Whether the estimate fits in a GPU of `size` bytes.
    func gpuVerdict(size: Int) -> MemoryVerdict {
        let need = gpuEstimate.totalBytes
        return MemoryVerdict(fits: need <= size,
                             text: "this GPU: \(Format.bytes(need)) needed of \(Format.bytes(size)): \(need <= size ? "fits" : "does not fit")")
    }
}
