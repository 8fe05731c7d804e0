import Foundation
import Testing
@testable import XMoEData

/// Every damaged sample-index cache entry — megatron-core's own arrays with bytes changed — is
/// detected on load, reported, and rebuilt to exactly what a fresh build gives; it never traps.
@Suite struct CorruptCacheTests {
    struct Entry {
        let cache: SampleIndexCache
        let sizes: [Int32]
        let config = GPTSampleIndexConfig(sequenceLength: 8, seed: 1234, sampleCount: 40)
        let fresh: GPTSampleIndex

        func file(_ kind: String) throws -> String {
            let names = try FileManager.default.contentsOfDirectory(atPath: cache.directory)
            return cache.directory + "/" + (try #require(names.first { $0.hasSuffix("-\(kind).npy") }))
        }

        func load() throws -> (GPTSampleIndex, [String]) {
            var notices: [String] = []
            let index = try cache.loadOrBuild(sizes: sizes, sequences: 0..<59, config: config) { notices.append($0) }
            return (index, notices)
        }
    }

    private func entry(_ dir: TemporaryDirectory) throws -> Entry {
        let dataset = try IndexedDataset(prefix: MegatronFixtures.root + "/gpt/corpusA")
        let cache = SampleIndexCache(directory: dir.file("cache"))
        let sizes = dataset.sequenceLengths
        let fresh = try GPTSampleIndex.build(sizes: sizes, sequences: 0..<59,
                                             config: GPTSampleIndexConfig(sequenceLength: 8, seed: 1234, sampleCount: 40))
        let entry = Entry(cache: cache, sizes: sizes, fresh: fresh)
        _ = try entry.load()
        return entry
    }

    /// Rewrites one array of the cached entry (same file name), then loads: rebuilt, reported, equal to a fresh build.
    private func expectRebuilt(_ kind: String, _ change: (inout [Int64], inout [Int]) -> Void,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try TemporaryDirectory()
        let e = try entry(dir)
        let path = try e.file(kind)
        var (values, shape, dtype) = try NPYFile.read(path)
        change(&values, &shape)
        try NPYFile.write(values, shape: shape, dtype: dtype == .uint32 ? .int64 : dtype, to: path)
        let (index, notices) = try e.load()
        #expect(index == e.fresh, sourceLocation: sourceLocation)
        let reported = notices.count == 1 && notices[0].contains("rebuilding")
        #expect(reported, "\(notices)", sourceLocation: sourceLocation)
        // The rebuilt entry is sound again: the next load uses it silently.
        let (again, quiet) = try e.load()
        #expect(again == e.fresh && quiet.isEmpty, sourceLocation: sourceLocation)
    }

    @Test func documentIndexOutOfRange() throws {
        try expectRebuilt("document_index") { values, _ in values[3] = 1_000_000 }
    }

    @Test func documentIndexDuplicated() throws {
        try expectRebuilt("document_index") { values, _ in values[3] = values[4] }
    }

    @Test func sampleIndexRowPastItsSequence() throws {
        try expectRebuilt("sample_index") { values, _ in values[5] += 1 }
    }

    @Test func sampleIndexShapeShrunk() throws {
        try expectRebuilt("sample_index") { values, shape in
            values.removeLast(2)
            shape[0] -= 1
        }
    }

    @Test func shuffleNotAPermutation() throws {
        try expectRebuilt("shuffle_index") { values, _ in values[0] = values[1] }
    }

    @Test func shuffleNegative() throws {
        try expectRebuilt("shuffle_index") { values, _ in values[2] = -7 }
    }

    /// Raw byte damage: a header whose shape overflows Int when multiplied out, and a file cut short.
    @Test func damagedBytes() throws {
        let dir = try TemporaryDirectory()
        let e = try entry(dir)
        let path = try e.file("sample_index")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let huge = "{'descr': '<i4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"
        let header = Array((huge + String(repeating: " ", count: headerLength - 1 - huge.utf8.count) + "\n").utf8)
        bytes.replaceSubrange(10..<(10 + headerLength), with: header)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (index, notices) = try e.load()
        #expect(index == e.fresh)
        #expect(notices.count == 1 && notices[0].contains("larger than the file"), "\(notices)")
        try Data(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))).dropLast(5)).write(to: URL(fileURLWithPath: path))
        let (again, more) = try e.load()
        #expect(again == e.fresh)
        #expect(more.count == 1 && more[0].contains("sample_index.npy"), "\(more)")
    }
}
