import Testing
@testable import XMoEComputeCUDA

/// The sm_90a kernel's static tile list: every (expert, 128-row block, column block) of the output
/// exactly once, none for zero-row experts, and the tile width that pads N least.
@Suite struct ExpertGemmTilesTests {
    @Test func tilesCoverEveryOutputBlockOnce() {
        let counts = [0, 300, 0, 129, 1], n = 1408
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        let tiles = ExpertGemmTiles(rowOffsets: offsets, rowCounts: counts, n: n, blockN: 176)
        // By hand: 8 column blocks; 300 rows → 3 row blocks, 129 → 2, 1 → 1.
        let expectedStarts: [Int32] = [0, 0, 24, 24, 40, 48]
        let starts = tiles.tileStart
        #expect(starts == expectedStarts)
        var expected: Set<[Int]> = []
        for g in counts.indices {
            for row in stride(from: 0, to: counts[g], by: 128) {
                for column in stride(from: 0, to: n, by: 176) { expected.insert([g, offsets[g] + row, column]) }
            }
        }
        let located = (0..<tiles.tileCount).map { t -> [Int] in
            let p = tiles.locate(t, n: n)
            return [p.expert, p.row, p.column]
        }
        let unique = Set(located)
        #expect(located.count == unique.count)
        #expect(unique == expected)
        let packedCount = tiles.packed.count
        #expect(packedCount == 3 * counts.count + 1)
    }

    @Test func weightGradientTilesCoverEachExpertsMatrixOnce() {
        // dW_g [m, n] for experts with rows: 1408 → 11 row blocks of 128, 2048 / 256 → 8 column blocks.
        let counts = [5, 0, 700, 64], m = 1408, n = 2048
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        let tiles = ExpertGemmTiles(weightGradientRowOffsets: offsets, rowCounts: counts, m: m, n: n, blockN: 256)
        let expectedStarts: [Int32] = [0, 88, 88, 176, 264]
        let starts = tiles.tileStart
        #expect(starts == expectedStarts)
        let nTiles = 8
        var seen: Set<[Int]> = []
        for t in 0..<tiles.tileCount {
            var g = 0
            while g + 1 < counts.count && Int(tiles.tileStart[g + 1]) <= t { g += 1 }
            let local = t - Int(tiles.tileStart[g])
            seen.insert([g, local / nTiles * 128, local % nTiles * 256])
        }
        #expect(seen.count == tiles.tileCount)
        let experts = Set(seen.map { $0[0] })
        #expect(experts == [0, 2, 3])
        #expect(seen.allSatisfy { $0[1] < m && $0[2] < n })
    }

    @Test func noTilesWithoutRows() {
        let tiles = ExpertGemmTiles(rowOffsets: [0, 0], rowCounts: [0, 0], n: 64, blockN: 256)
        let count = tiles.tileCount
        #expect(count == 0)
    }

    @Test(arguments: [(1408, 176), (2048, 256), (40, 176), (128, 176), (352, 176), (512, 256), (1024, 256)])
    func widthPadsLeast(n: Int, width: Int) {
        let chosen = ExpertGemmTiles.blockN(forColumns: n, widths: [176, 256])
        #expect(chosen == width)
    }
}
