/// Grids of the flash-attention kernels, from the shape alone (CI checks the arithmetic without a
/// GPU). x walks the tiles of one sequence·head, y the batch·N sequence·heads.
public enum FlashAttentionLaunch {
    /// The forward: a block per `forwardRows` query rows.
    public static func forward(batchHeads: Int, seqLen: Int) -> LaunchShape? {
        tiles(seqLen, FlashAttentionKernels.forwardRows, batchHeads)
    }

    /// The dq pass: a block per `dqRows` query rows.
    public static func dq(batchHeads: Int, seqLen: Int) -> LaunchShape? {
        tiles(seqLen, FlashAttentionKernels.dqRows, batchHeads)
    }

    /// The dk/dv pass: a block per `dkdvKeys` key rows.
    public static func dkdv(batchHeads: Int, seqLen: Int) -> LaunchShape? {
        tiles(seqLen, FlashAttentionKernels.dkdvKeys, batchHeads)
    }

    /// D_i = rowsum(dO ⊙ O): a warp per row of every sequence·head, `deltaRows` rows per block.
    public static func delta(batchHeads: Int, seqLen: Int) -> LaunchShape? {
        let rows = batchHeads * seqLen
        guard rows > 0 else { return nil }
        let blocks = (rows + FlashAttentionKernels.deltaRows - 1) / FlashAttentionKernels.deltaRows
        precondition(blocks <= Int(Int32.max), "flash attention: \(rows) rows exceed the grid limit")
        return LaunchShape(grid: (UInt32(blocks), 1, 1), block: (UInt32(FlashAttentionKernels.threads), 1, 1))
    }

    /// Why a head width cannot run on the kernels, or nil when it can.
    public static func unsupportedHeadWidth(_ d: Int) -> String? {
        d >= 1 && d <= FlashAttentionKernels.maxHeadDim ? nil
            : "head width \(d) is outside 1...\(FlashAttentionKernels.maxHeadDim), the widths the CUDA flash-attention kernels take"
    }

    private static func tiles(_ seqLen: Int, _ tile: Int, _ batchHeads: Int) -> LaunchShape? {
        guard seqLen > 0, batchHeads > 0 else { return nil }
        precondition(batchHeads <= 65_535, "flash attention: \(batchHeads) sequence·heads exceed the grid's y limit of 65535")
        let x = (seqLen + tile - 1) / tile
        precondition(x <= Int(Int32.max), "flash attention: sequence of \(seqLen) exceeds the grid limit")
        return LaunchShape(grid: (UInt32(x), UInt32(batchHeads), 1), block: (UInt32(FlashAttentionKernels.threads), 1, 1))
    }
}
