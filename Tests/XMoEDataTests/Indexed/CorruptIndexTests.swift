import Foundation
import Testing
@testable import XMoEData

/// Damaged files must give a thrown error naming the file, never a crash or a wrong read.
@Suite struct CorruptIndexTests {
    /// A copy of megatron's u16 fixture in a fresh directory, to be damaged.
    private func copyFixture(_ dir: TemporaryDirectory) throws -> (prefix: String, idx: [UInt8], bin: [UInt8]) {
        let source = MegatronFixtures.root + "/indexed/u16"
        let idx = try [UInt8](Data(contentsOf: URL(fileURLWithPath: source + ".idx")))
        let bin = try [UInt8](Data(contentsOf: URL(fileURLWithPath: source + ".bin")))
        return (dir.file("u16"), idx, bin)
    }

    private func write(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    private func expectError(_ prefix: String, naming ext: String, containing words: String, multimodal: Bool? = nil,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try IndexedDataset(prefix: prefix, multimodal: multimodal)
            Issue.record("opened a damaged dataset", sourceLocation: sourceLocation)
        } catch let error as IndexedDatasetError {
            #expect(error.path == prefix + ext, sourceLocation: sourceLocation)
            #expect(error.description.contains(prefix + ext), sourceLocation: sourceLocation)
            #expect(error.problem.contains(words), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func truncatedIndexAtEveryOffset() throws {
        let dir = try TemporaryDirectory()
        let (prefix, idx, bin) = try copyFixture(dir)
        try write(bin, prefix + ".bin")
        for cut in 0..<idx.count {
            try write(Array(idx[0..<cut]), prefix + ".idx")
            #expect(throws: IndexedDatasetError.self, "cut at \(cut)") { try IndexedDataset(prefix: prefix) }
        }
    }

    @Test func truncatedBinAtManyOffsets() throws {
        let dir = try TemporaryDirectory()
        let (prefix, idx, bin) = try copyFixture(dir)
        try write(idx, prefix + ".idx")
        for cut in stride(from: 0, to: bin.count, by: 1) {
            try write(Array(bin[0..<cut]), prefix + ".bin")
            expectError(prefix, naming: ".idx", containing: "outside")
        }
        try write(bin, prefix + ".bin")
        #expect(try IndexedDataset(prefix: prefix).sequenceCount > 0)
    }

    @Test func headerCorruptions() throws {
        let dir = try TemporaryDirectory()
        let (prefix, idx, bin) = try copyFixture(dir)
        try write(bin, prefix + ".bin")
        func damaged(_ change: (inout [UInt8]) -> Void) throws {
            var copy = idx
            change(&copy)
            try write(copy, prefix + ".idx")
        }
        try damaged { $0[0] = 0x4E }
        expectError(prefix, naming: ".idx", containing: "magic")
        try damaged { $0.replaceSubrange(0..<8, with: Array("TNTIDX\0\0".utf8)) }
        expectError(prefix, naming: ".idx", containing: "TNTIDX")
        try damaged { $0[9] = 2 }
        expectError(prefix, naming: ".idx", containing: "version")
        try damaged { $0[17] = 9 }
        expectError(prefix, naming: ".idx", containing: "dtype code 9")
        try damaged { $0[17] = 6 }
        expectError(prefix, naming: ".idx", containing: "float64")
        try damaged { $0[18] += 1 }  // one more sequence than the arrays hold
        expectError(prefix, naming: ".idx", containing: "size mismatch")
        try damaged { $0[26] -= 1 }
        expectError(prefix, naming: ".idx", containing: "size mismatch")
        try damaged { $0[25] = 0xFF }  // absurd sequence count: must not overflow
        expectError(prefix, naming: ".idx", containing: "exceed")
        try damaged { $0 += [0, 0, 0] }  // trailing bytes that are not a modes array
        expectError(prefix, naming: ".idx", containing: "size mismatch")
        try write(idx, prefix + ".idx")
        expectError(prefix, naming: ".idx", containing: "size mismatch", multimodal: true)
    }

    @Test func arrayCorruptions() throws {
        let dir = try TemporaryDirectory()
        let (prefix, idx, bin) = try copyFixture(dir)
        try write(bin, prefix + ".bin")
        let s = Int(idx[18]), d = Int(idx[26])
        let pointers = 34 + 4 * s, docidx = 34 + 12 * s
        func damaged(_ change: (inout [UInt8]) -> Void) throws {
            var copy = idx
            change(&copy)
            try write(copy, prefix + ".idx")
        }
        try damaged { $0[34 + 4 * (s - 1) + 3] = 0x80 }  // negative last size
        expectError(prefix, naming: ".idx", containing: "negative")
        try damaged { $0[34 + 4 * (s - 1)] &+= 1 }  // last sequence one token longer than the .bin
        expectError(prefix, naming: ".idx", containing: "outside")
        try damaged { $0[pointers + 8 * (s - 1) + 7] = 0x7F }  // pointer far past the end
        expectError(prefix, naming: ".idx", containing: "outside")
        try damaged { $0[pointers + 7] = 0xFF }  // negative pointer
        expectError(prefix, naming: ".idx", containing: "outside")
        try damaged { $0[docidx] = 1 }
        expectError(prefix, naming: ".idx", containing: "start at 0")
        try damaged { $0.replaceSubrange((docidx + 8)..<(docidx + 16), with: [UInt8](repeating: 0xFF, count: 7) + [0x0F]) }
        expectError(prefix, naming: ".idx", containing: "decreases")
        try damaged { $0[docidx + 8 * (d - 1)] &-= 1 }
        expectError(prefix, naming: ".idx", containing: "ends at")
    }

    @Test func missingFilesNameThePath() throws {
        let dir = try TemporaryDirectory()
        let (prefix, idx, _) = try copyFixture(dir)
        expectError(prefix, naming: ".idx", containing: "cannot open")
        try write(idx, prefix + ".idx")
        expectError(prefix, naming: ".bin", containing: "cannot open")
    }
}
