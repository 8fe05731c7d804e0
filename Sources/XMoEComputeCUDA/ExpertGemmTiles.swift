/// The static tile list of the sm_90a expert GEMM: expert g owns tiles tileStart[g] ..<
/// tileStart[g + 1], ceil(rows_g / 128) m-tiles × ceil(N / blockN) n-tiles, n fastest (consecutive
/// CTAs share A's rows; the expert's weights stay in L2). CTA b takes tiles b, b + grid, ... .
/// Zero-row experts own no tile. The three arrays go to the device as one Int32 block.
public struct ExpertGemmTiles: Equatable, Sendable {
    public var rowStart: [Int32]
    public var rowCount: [Int32]
    /// E + 1 entries; the last is the number of tiles.
    public var tileStart: [Int32]
    public var blockN: Int

    public init(rowOffsets: [Int], rowCounts: [Int], n: Int, blockN: Int, blockM: Int = 128) {
        precondition(rowOffsets.count == rowCounts.count && blockN > 0 && blockM > 0, "tiles: \(rowOffsets.count) offsets, \(rowCounts.count) counts")
        self.blockN = blockN
        rowStart = rowOffsets.map { Int32($0) }
        rowCount = rowCounts.map { Int32($0) }
        let nTiles = (n + blockN - 1) / blockN
        var start = [Int32(0)]
        for count in rowCounts { start.append(start[start.count - 1] + Int32((count + blockM - 1) / blockM * nTiles)) }
        tileStart = start
    }

    /// The weight gradient's tiles: every expert with rows owns the ceil(m / 128) × ceil(n / blockN)
    /// tiles of its dW_g [m, n]; the rows are what it reduces over, not what it tiles.
    public init(weightGradientRowOffsets rowOffsets: [Int], rowCounts: [Int], m: Int, n: Int, blockN: Int, blockM: Int = 128) {
        precondition(rowOffsets.count == rowCounts.count && blockN > 0 && blockM > 0, "tiles: \(rowOffsets.count) offsets, \(rowCounts.count) counts")
        self.blockN = blockN
        rowStart = rowOffsets.map { Int32($0) }
        rowCount = rowCounts.map { Int32($0) }
        let perExpert = Int32((m + blockM - 1) / blockM * ((n + blockN - 1) / blockN))
        var start = [Int32(0)]
        for count in rowCounts { start.append(start[start.count - 1] + (count > 0 ? perExpert : 0)) }
        tileStart = start
    }

    public var tileCount: Int { Int(tileStart[tileStart.count - 1]) }

    /// rowStart, rowCount, tileStart back to back (the kernel's three array arguments).
    public var packed: [Int32] { rowStart + rowCount + tileStart }

    /// The compiled width that pads N least (ties to the wider, which reuses A more): 1408 → 176
    /// (8 tiles, no padding), 2048 → 256.
    public static func blockN(forColumns n: Int, widths: [Int]) -> Int {
        widths.min { a, b in
            let (pa, pb) = ((n + a - 1) / a * a, (n + b - 1) / b * b)
            return pa != pb ? pa < pb : a > b
        }!
    }

    /// Expert, first row and first column of tile `t`, as the kernel finds them (for tests).
    public func locate(_ t: Int, n: Int, blockM: Int = 128) -> (expert: Int, row: Int, column: Int) {
        let nTiles = (n + blockN - 1) / blockN
        var g = 0
        while g + 1 < rowCount.count && Int(tileStart[g + 1]) <= t { g += 1 }
        let local = t - Int(tileStart[g])
        return (g, Int(rowStart[g]) + local / nTiles * blockM, local % nTiles * blockN)
    }
}
