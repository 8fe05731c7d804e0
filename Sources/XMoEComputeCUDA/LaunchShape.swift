/// Grid and block sizes of one launch, computed from the problem's shape alone (never from timing),
/// so a launch is reproducible and CI can check the arithmetic without a GPU.
public struct LaunchShape: Equatable, Sendable {
    public var grid: (x: UInt32, y: UInt32, z: UInt32)
    public var block: (x: UInt32, y: UInt32, z: UInt32)

    public static func == (a: LaunchShape, b: LaunchShape) -> Bool {
        a.grid == b.grid && a.block == b.block
    }

    /// Threads per block of the element-wise kernels.
    public static let elementwiseBlock = 256
    /// Grid-stride loops stop growing the grid here: enough blocks to fill any current GPU.
    public static let maxElementwiseBlocks = 65_535

    /// A 1-D grid-stride launch over `count` items; nil when there is nothing to do (a grid of 0
    /// blocks is an error in CUDA).
    public static func elementwise(count: Int) -> LaunchShape? {
        guard count > 0 else { return nil }
        let blocks = min((count + elementwiseBlock - 1) / elementwiseBlock, maxElementwiseBlocks)
        return LaunchShape(grid: (UInt32(blocks), 1, 1), block: (UInt32(elementwiseBlock), 1, 1))
    }

    /// One block of `KernelSource.reductionBlock` threads per row; nil for no rows.
    public static func perRow(rows: Int) -> LaunchShape? {
        guard rows > 0 else { return nil }
        precondition(rows <= Int(Int32.max), "\(rows) rows exceed the grid limit")
        return LaunchShape(grid: (UInt32(rows), 1, 1), block: (UInt32(KernelSource.reductionBlock), 1, 1))
    }

    /// Row lanes of the column-sum kernels (`xmoe_sum_rows` and kin): a block is 32 columns × this.
    public static let columnLanes = 16
    /// Rows per block of `xmoe_add_segment_bias`.
    public static let segmentRows = 8

    /// A column sum over `columns`, once per segment (y); nil when there is nothing to do.
    public static func columnSums(columns: Int, segments: Int = 1) -> LaunchShape? {
        guard columns > 0, segments > 0 else { return nil }
        precondition(segments <= 65_535, "\(segments) segments exceed the grid's y limit of 65535")
        return LaunchShape(grid: (UInt32((columns + 31) / 32), UInt32(segments), 1), block: (32, UInt32(columnLanes), 1))
    }

    /// Row chunks of a column sum (`xmoe_sum_rows`, LayerNorm's dw/db) over rows × columns: enough
    /// that column blocks × chunks reach 1024 blocks, each chunk at least 256 rows; 1 for short sums.
    /// From the shape alone, so the summation order is fixed.
    public static func columnChunks(columns: Int, rows: Int) -> Int {
        let columnBlocks = max(1, (columns + 31) / 32)
        return max(1, min(1024 / columnBlocks, rows / 256))
    }

    /// Rows per chunk for `columnChunks` chunks (the last may be shorter).
    public static func rowsPerChunk(rows: Int, chunks: Int) -> Int { (rows + chunks - 1) / max(chunks, 1) }

    /// `xmoe_add_segment_bias` over segments of at most `longest` rows: blocks of `segmentRows` rows
    /// (x) per segment (y); blocks past a segment's end return at once.
    public static func segmentRows(longest: Int, segments: Int) -> LaunchShape? {
        guard longest > 0, segments > 0 else { return nil }
        precondition(segments <= 65_535, "\(segments) segments exceed the grid's y limit of 65535")
        return LaunchShape(grid: (UInt32((longest + segmentRows - 1) / segmentRows), UInt32(segments), 1),
                           block: (UInt32(elementwiseBlock), 1, 1))
    }

    /// A single block of up to 1024 threads (a thread per key, at most).
    public static func singleBlock(threads: Int) -> LaunchShape {
        LaunchShape(grid: (1, 1, 1), block: (UInt32(min(max(threads, 32), 1024)), 1, 1))
    }
}

/// The row segments of a grouped GEMM that have work: a zero-row expert is skipped (cuBLAS rejects
/// m = 0 in some versions, and it contributes nothing).
public struct GroupedGemmPlan: Equatable, Sendable {
    public var groups: [Int]
    public var rowOffsets: [Int]
    public var rowCounts: [Int]

    public init(rowOffsets: [Int], rowCounts: [Int]) {
        precondition(rowOffsets.count == rowCounts.count, "\(rowOffsets.count) offsets, \(rowCounts.count) counts")
        let kept = rowCounts.indices.filter { rowCounts[$0] > 0 }
        groups = kept
        self.rowOffsets = kept.map { rowOffsets[$0] }
        self.rowCounts = kept.map { rowCounts[$0] }
    }
}
