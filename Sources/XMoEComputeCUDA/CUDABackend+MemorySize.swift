/// The GPU's memory size, asked before anything is allocated (`xmoe run` compares the plan's GPU
/// estimate with it). The driver's `cuDeviceTotalMem_v2` needs no context, so asking costs nothing
/// on the device and leaves no state behind.
extension CUDABackend {
    /// Total memory of GPU `device` in bytes, or the loader's / driver's `CUDAError`.
    public static func deviceMemoryBytes(device: Int = 0) throws -> Int {
        let driver = try CUDADriverAPI()
        let totalMem: @convention(c) (UnsafeMutablePointer<Int>, Int32) -> Int32 =
            try driver.library.function("cuDeviceTotalMem_v2")
        try driver.check(driver.initialize(0), "cuInit")
        var handle: Int32 = 0
        try driver.check(driver.deviceGet(&handle, Int32(device)), "cuDeviceGet")
        var bytes = 0
        try driver.check(totalMem(&bytes, handle), "cuDeviceTotalMem_v2")
        return bytes
    }
}
