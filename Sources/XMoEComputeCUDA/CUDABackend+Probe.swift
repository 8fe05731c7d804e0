/// Whether this machine can run the CUDA backend, asked before anything is prepared or written
/// (`xmoe plan` and `xmoe run` with `train.device: cuda`).
extension CUDABackend {
    /// Loads every library the backend needs and counts the GPUs, without creating a context or
    /// compiling kernels; returns the number of visible GPUs, or throws the loader's `CUDAError`
    /// (which library is missing, or that there is no device).
    public static func probe(device: Int = 0) throws -> Int {
        let runtime = try CUDARuntimeAPI()
        _ = try CUDADriverAPI()
        _ = try CUBLASAPI()
        _ = try NVRTCAPI()
        var count: Int32 = 0
        try runtime.check(runtime.getDeviceCount(&count), "cudaGetDeviceCount")
        guard device >= 0, device < Int(count) else {
            throw CUDAError.noDevice("device \(device) requested, \(count) visible (CUDA_VISIBLE_DEVICES?)")
        }
        return Int(count)
    }
}
