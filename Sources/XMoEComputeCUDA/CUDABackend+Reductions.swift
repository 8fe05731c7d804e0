import XMoECompute

// The optimizer's whole-buffer reductions on the device: two kernels each (block results, then one
// block adding them in order) and one scalar read back, instead of downloading the buffer.
extension CUDABackend {
    public func sumOfSquares(_ x: Tensor) -> Double {
        precondition(x.dtype == .float32, "sumOfSquares: tensor is \(x.dtype)")
        guard let shape = LaunchShape.bufferReduction(count: x.count) else { return 0 }
        let blocks = Int(shape.grid.x)
        let partial = allocateOrDie(bytes: (blocks + 1) * 8)
        context.launch("xmoe_sumsq_partial", shape, [ptr(x), .int64(Int64(x.count)), .pointer(partial.pointer)])
        context.launch("xmoe_sum_partials", .singleBlock(threads: KernelSource.reductionBlock),
                       [.pointer(partial.pointer), .int32(Int32(blocks))])
        return withExtendedLifetime(partial) { readScalar(partial.pointer + blocks * 8, as: Double.self) }
    }

    public func allFinite(_ x: Tensor) -> Bool {
        precondition(x.dtype == .float32, "allFinite: tensor is \(x.dtype)")
        guard let shape = LaunchShape.bufferReduction(count: x.count) else { return true }
        let blocks = Int(shape.grid.x)
        let partial = allocateOrDie(bytes: (blocks + 1) * 4)
        context.launch("xmoe_nonfinite_partial", shape, [ptr(x), .int64(Int64(x.count)), .pointer(partial.pointer)])
        context.launch("xmoe_any_partials", .singleBlock(threads: KernelSource.reductionBlock),
                       [.pointer(partial.pointer), .int32(Int32(blocks))])
        return withExtendedLifetime(partial) { readScalar(partial.pointer + blocks * 4, as: Int32.self) } == 0
    }

    /// Device → host of one value: waits for the queued work, so the caller may release `source`'s
    /// block right after.
    private func readScalar<T: BitwiseCopyable>(_ source: UnsafeMutableRawPointer, as type: T.Type) -> T {
        let host = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
        defer { host.deallocate() }
        context.checkRuntime(context.runtime.memcpyAsync(host, source, MemoryLayout<T>.size,
                                                         CUDARuntimeAPI.memcpyDeviceToHost, context.stream), "cudaMemcpyAsync D2H")
        synchronize()
        return host.load(as: T.self)
    }
}
