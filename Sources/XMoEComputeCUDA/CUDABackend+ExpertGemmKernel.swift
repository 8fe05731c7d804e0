// The sm_90a expert GEMM kernel on raw device addresses: c[seg_g] = a[seg_g] · bt_gᵀ + beta · c[seg_g]
// with bt [E, n, k] K-contiguous, the shape `.rows(transB: true)` of `expertGemmBF16`. Not the
// default path yet: see Benchmarks/gpu/NOTES.md (c3) for where it wins and what it still lacks.
extension CUDABackend {
    /// Why the kernel is unavailable (not Hopper, NVRTC or driver too old), or nil when it loaded.
    public var expertGemmKernelProblem: String? {
        if case .failure(let error) = expertKernel { return "\(error)" }
        return nil
    }

    /// Whether the kernel can take these operands: k a multiple of 8 (TMA's 16-byte row stride).
    public func expertGemmKernelApplies(k: Int) -> Bool { expertGemmKernelProblem == nil && k % 8 == 0 && k > 0 }

    /// `aRows`: rows of `a` that may be read (≥ every offset + count); tiles read past an expert's
    /// rows (masked on output) but never past `aRows`.
    public func expertGemmKernelBF16(
        k: Int, n: Int, a: UnsafeMutableRawPointer, aRows: Int, bt: UnsafeMutableRawPointer, beta: Float,
        c: UnsafeMutableRawPointer, output: ExpertGemmOutput, rowOffsets: [Int], rowCounts: [Int]
    ) {
        guard case .success(let kernel) = expertKernel else { fatalError("expert GEMM kernel unavailable: \(expertGemmKernelProblem ?? "")") }
        precondition(k % 8 == 0 && k > 0 && n > 0, "expertGemmKernelBF16: k \(k) must be a positive multiple of 8, n \(n) positive")
        precondition(zip(rowOffsets, rowCounts).allSatisfy { $0 + $1 <= aRows }, "expertGemmKernelBF16: row segments past aRows \(aRows)")
        let e = rowCounts.count
        let blockN = ExpertGemmTiles.blockN(forColumns: n, widths: ExpertGemmKernelSource.blockWidths)
        let tiles = ExpertGemmTiles(rowOffsets: rowOffsets, rowCounts: rowCounts, n: n, blockN: blockN)
        guard tiles.tileCount > 0, let function = kernel.functions[blockN] else { return }
        let packed = tiles.packed
        let table = scratch(bytes: packed.count * 4)
        packed.withUnsafeBytes { bytes in
            context.checkRuntime(context.runtime.memcpyAsync(table, bytes.baseAddress, bytes.count, CUDARuntimeAPI.memcpyHostToDevice, context.stream),
                                 "cudaMemcpyAsync (expert GEMM tile table)")
        }
        let mapA = kernel.map(a, rows: aRows, k: k, boxRows: ExpertGemmKernelSource.blockRows, context)
        let mapB = kernel.map(bt, rows: e * n, k: k, boxRows: blockN, context)
        // The arguments, laid out in one block; cuLaunchKernel copies them before returning.
        let block = UnsafeMutableRawPointer.allocate(byteCount: 320, alignment: 64)
        defer { block.deallocate() }
        block.storeBytes(of: mapA, toByteOffset: 0, as: ExpertGemmKernel.TensorMap.self)
        block.storeBytes(of: mapB, toByteOffset: 128, as: ExpertGemmKernel.TensorMap.self)
        block.storeBytes(of: c, toByteOffset: 256, as: UnsafeMutableRawPointer.self)
        block.storeBytes(of: table, toByteOffset: 264, as: UnsafeMutableRawPointer.self)
        block.storeBytes(of: table + 4 * e, toByteOffset: 272, as: UnsafeMutableRawPointer.self)
        block.storeBytes(of: table + 8 * e, toByteOffset: 280, as: UnsafeMutableRawPointer.self)
        for (i, value) in [Int32(e), Int32(n), Int32(k)].enumerated() { block.storeBytes(of: value, toByteOffset: 288 + 4 * i, as: Int32.self) }
        block.storeBytes(of: beta, toByteOffset: 300, as: Float.self)
        block.storeBytes(of: Int32(output == .float32 ? 1 : 0), toByteOffset: 304, as: Int32.self)
        var parameters: [RawPointer?] = [0, 128, 256, 264, 272, 280, 288, 292, 296, 300, 304].map { block + $0 }
        let grid = UInt32(min(tiles.tileCount, context.multiprocessors))
        let status = parameters.withUnsafeMutableBufferPointer { p in
            context.driver.launchKernel(function, grid, 1, 1, UInt32(ExpertGemmKernelSource.threads), 1, 1,
                                        UInt32(ExpertGemmKernelSource.sharedBytes(blockN: blockN)), context.stream, p.baseAddress, nil)
        }
        if status != 0 {
            do { try context.driver.check(status, "cuLaunchKernel(expert GEMM n\(blockN), grid \(grid))") } catch { fatalError("\(error)") }
        }
    }
}
