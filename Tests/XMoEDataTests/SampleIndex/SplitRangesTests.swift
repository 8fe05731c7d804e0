import Testing
@testable import XMoEData

/// The table of reference notes §3.2 (both rules checked there against the Python sources).
@Suite struct SplitRangesTests {
    @Test func megatronCoreRounding() throws {
        #expect(try SplitRanges.ranges(split: "969,30,1", sequenceCount: 79000) == [0..<76551, 76551..<78921, 78921..<79000])
        #expect(try SplitRanges.ranges(split: "969, 30, 1", sequenceCount: 183) == [0..<177, 177..<183, 183..<183])
        #expect(try SplitRanges.ranges(split: "98,2,0", sequenceCount: 183) == [0..<179, 179..<183, nil])
        #expect(try SplitRanges.ranges(split: "949,50,1", sequenceCount: 1000) == [0..<949, 949..<999, 999..<1000])
        #expect(try SplitRanges.ranges(split: "1", sequenceCount: 10) == [0..<10, nil, nil])
    }

    @Test func legacyRounding() throws {
        #expect(try SplitRanges.ranges(split: "969,30,1", sequenceCount: 79000, rule: .legacyDeepSpeed) == [0..<76551, 76551..<78921, 78921..<79000])
        #expect(try SplitRanges.ranges(split: "969,30,1", sequenceCount: 183, rule: .legacyDeepSpeed) == [0..<178, 178..<183, nil])
        #expect(try SplitRanges.ranges(split: "98,2,0", sequenceCount: 183, rule: .legacyDeepSpeed) == [0..<179, 179..<183, nil])
    }

    @Test func emptySplitIsAnErrorNotAHang() throws {
        let sizes: [Int32] = [3, 4]
        #expect(throws: SampleIndexError.self) {
            try GPTSampleIndex.build(sizes: sizes, sequences: 2..<2, config: .init(sequenceLength: 4, seed: 1, sampleCount: 5))
        }
        #expect(throws: SplitError.self) { try SplitRanges.ranges(split: "0,0,0", sequenceCount: 10) }
    }
}
