extension KernelSource {
    /// Every NVRTC module the backend loads: its source and the kernels it defines. Flash attention
    /// and routing are modules of their own (its own source file, its own cubin in the disk cache).
    public static var modules: [(source: String, kernelNames: [String])] {
        [(source(), kernelNames), (FlashAttentionKernels.source(), FlashAttentionKernels.kernelNames),
         (RouteKernelSource.source(), RouteKernelSource.kernelNames),
         (FlashAttentionTensorCoreKernels.source(), FlashAttentionTensorCoreKernels.kernelNames),
         (CrossEntropyKernelSource.source(), CrossEntropyKernelSource.kernelNames)]
    }
}
