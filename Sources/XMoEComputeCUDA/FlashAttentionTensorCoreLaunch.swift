/// Grids of the tensor-core flash-attention kernels (FlashAttentionTensorCoreKernels), from the
/// shape alone: x the batch·N sequence·heads, y the tiles of one sequence·head (blocks start in
/// x-major order, so tile by tile over all heads: the causal walks' lengths fall from the first
/// blocks to the last over the whole grid). The forward and dq kernels number their query tiles
/// from the end, which changes nothing here: every tile still has exactly one block.
public enum FlashAttentionTensorCoreLaunch {
    typealias K = FlashAttentionTensorCoreKernels

    /// The forward: a block (of `forwardThreads`) per `forwardRows` query rows.
    public static func forward(batchHeads: Int, seqLen: Int) -> LaunchShape? {
        tiles(seqLen, K.forwardRows, batchHeads, threads: K.forwardThreads)
    }

    /// The dq pass: a block (of `dqThreads`) per `dqRows` query rows.
    public static func dq(batchHeads: Int, seqLen: Int) -> LaunchShape? {
        tiles(seqLen, K.dqRows, batchHeads, threads: K.dqThreads)
    }

    /// The dk/dv pass: a block (of `dkdvThreads`) per `dkdvKeys` key rows.
    public static func dkdv(batchHeads: Int, seqLen: Int) -> LaunchShape? {
        tiles(seqLen, K.dkdvKeys, batchHeads, threads: K.dkdvThreads)
    }

    /// Whether the tensors at these device addresses can go to the kernels: each 16-byte aligned
    /// (tiles enter shared memory as float4 loads; row strides are multiples of 4 floats at widths
    /// 64 and 128). Else the backend runs the fp32 CUDA-core kernels, which take any float address.
    public static func aligned(_ addresses: [UInt]) -> Bool {
        addresses.allSatisfy { $0 % 16 == 0 }
    }

    private static func tiles(_ seqLen: Int, _ tile: Int, _ batchHeads: Int, threads: Int) -> LaunchShape? {
        guard seqLen > 0, batchHeads > 0 else { return nil }
        precondition(batchHeads <= Int(Int32.max), "flash attention: \(batchHeads) sequence·heads exceed the grid's x limit")
        let y = (seqLen + tile - 1) / tile
        precondition(y <= 65_535, "flash attention: sequence of \(seqLen) exceeds the grid's y limit of 65535 tiles")
        return LaunchShape(grid: (UInt32(batchHeads), UInt32(y), 1), block: (UInt32(threads), 1, 1))
    }
}
