import XMoECompute

// The sm_90a expert GEMM kernel on raw device addresses, in the three operand layouts of
// `ExpertGemmKernelLayout`: one launch for all experts, no per-expert host work.
extension CUDABackend {
    /// Why the kernel is unavailable (not Hopper, NVRTC or driver too old), or nil when it loaded.
    public var expertGemmKernelProblem: String? {
        if case .failure(let error) = expertKernel { return "\(error)" }
        return nil
    }

    /// Whether the kernel can take these operands: every row stride a multiple of 16 bytes (TMA),
    /// so k, and n where a TMA map runs along it (an N-contiguous B, the weight gradient), multiples of 8.
    public func expertGemmKernelApplies(_ layout: ExpertGemmKernelLayout = .weightsKContiguous, k: Int, n: Int = 8) -> Bool {
        guard expertGemmKernelProblem == nil, k > 0, k % 8 == 0, n > 0 else { return false }
        return layout == .weightsKContiguous || n % 8 == 0
    }

    /// Whether the backend's ops send this product to the kernel: it is on (`expertGemmUsesKernel`),
    /// it loaded and takes these sizes, and every tensor starts on 16 bytes (TMA).
    func expertKernelTakes(_ layout: ExpertGemmKernelLayout, k: Int, n: Int, _ tensors: Tensor...) -> Bool {
        expertGemmUsesKernel && expertGemmKernelApplies(layout, k: k, n: n)
            && tensors.allSatisfy { Int(bitPattern: devicePointer($0)) % 16 == 0 }
    }

    /// c = a-segments times the experts' weights, or (`.weightGradient`) c_g = a[seg_g]ᵀ · b[seg_g],
    /// plus beta · c. `a` [aRows, k]; `b` per `layout`: Bt [E, n, k], B [E, k, n], or [aRows, n];
    /// `c` [Σrows or aRows, n], or [E, k, n] for the weight gradient (a zero-row expert's block is
    /// scaled by beta, zeroed when beta is 0). `aRows`: rows of `a` (and of `b` for the weight
    /// gradient) that may be read (≥ every offset + count); tiles read past an expert's rows
    /// (masked on output, or zeroed before the reduction) but never past `aRows`. `bias`: fp32
    /// [E, n], expert g's row added to its rows of c after beta · c (not for the weight gradient).
    public func expertGemmKernelBF16(
        _ layout: ExpertGemmKernelLayout = .weightsKContiguous, k: Int, n: Int, a: UnsafeMutableRawPointer, aRows: Int,
        b: UnsafeMutableRawPointer, beta: Float, c: UnsafeMutableRawPointer, output: ExpertGemmOutput, rowOffsets: [Int], rowCounts: [Int],
        bias: UnsafeMutableRawPointer? = nil
    ) {
        guard case .success(let kernel) = expertKernel else { fatalError("expert GEMM kernel unavailable: \(expertGemmKernelProblem ?? "")") }
        precondition(expertGemmKernelApplies(layout, k: k, n: n), "expertGemmKernelBF16 \(layout): k \(k), n \(n) must be positive multiples of 8")
        precondition(zip(rowOffsets, rowCounts).allSatisfy { $0 + $1 <= aRows }, "expertGemmKernelBF16: row segments past aRows \(aRows)")
        precondition(bias == nil || layout != .weightGradient, "expertGemmKernelBF16: no bias for the weight gradient")
        let e = rowCounts.count
        let blockN = ExpertGemmTiles.blockN(forColumns: n, widths: layout.blockWidths)
        let tiles: ExpertGemmTiles
        let mapA: ExpertGemmKernel.TensorMap, mapB: ExpertGemmKernel.TensorMap
        switch layout {
        case .weightsKContiguous:
            tiles = ExpertGemmTiles(rowOffsets: rowOffsets, rowCounts: rowCounts, n: n, blockN: blockN)
            mapA = kernel.map(a, rows: aRows, k: k, boxRows: ExpertGemmKernelSource.blockRows, context)
            mapB = kernel.map(b, rows: e * n, k: k, boxRows: blockN, context)
        case .weightsNContiguous:
            tiles = ExpertGemmTiles(rowOffsets: rowOffsets, rowCounts: rowCounts, n: n, blockN: blockN)
            mapA = kernel.map(a, rows: aRows, k: k, boxRows: ExpertGemmKernelSource.blockRows, context)
            mapB = kernel.map3(b, count: e, rows: k, columns: n, context)
        case .weightGradient:
            for g in rowCounts.indices where rowCounts[g] == 0 && beta != 1 {
                scaleExpertBlock(c + output.bytes * g * k * n, count: k * n, beta: beta, output)
            }
            tiles = ExpertGemmTiles(weightGradientRowOffsets: rowOffsets, rowCounts: rowCounts, m: k, n: n, blockN: blockN)
            mapA = kernel.map(a, rows: aRows, k: k, boxRows: 64, context)
            mapB = kernel.map(b, rows: aRows, k: n, boxRows: 64, context)
        }
        guard tiles.tileCount > 0, let function = kernel.functions[layout]?[blockN] else { return }
        let packed = tiles.packed
        let table = scratch(bytes: packed.count * 4)
        packed.withUnsafeBytes { bytes in
            context.checkRuntime(context.runtime.memcpyAsync(table, bytes.baseAddress, bytes.count, CUDARuntimeAPI.memcpyHostToDevice, context.stream),
                                 "cudaMemcpyAsync (expert GEMM tile table)")
        }
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
        block.storeBytes(of: bias, toByteOffset: 312, as: UnsafeMutableRawPointer?.self)
        var parameters: [RawPointer?] = [0, 128, 256, 264, 272, 280, 288, 292, 296, 300, 304, 312].map { block + $0 }
        let grid = UInt32(min(tiles.tileCount, context.multiprocessors))
        let status = parameters.withUnsafeMutableBufferPointer { p in
            context.driver.launchKernel(function, grid, 1, 1, UInt32(ExpertGemmKernelSource.threads), 1, 1,
                                        UInt32(ExpertGemmKernelSource.sharedBytes(blockN: blockN)), context.stream, p.baseAddress, nil)
        }
        if status != 0 {
            do { try context.driver.check(status, "cuLaunchKernel(expert GEMM \(layout) n\(blockN), grid \(grid))") } catch { fatalError("\(error)") }
        }
    }
}
