import Foundation
import Testing
@testable import XMoEData

/// Changes to a real megatron-core dataset that every bounds check passes — they used to train
/// silently — must be refused when the dataset is opened, with the file named.
@Suite struct DatasetIntegrityTests {
    private let source = MegatronFixtures.root + "/indexed/u16"

    private func copy(_ dir: TemporaryDirectory) throws -> (prefix: String, idx: [UInt8], bin: [UInt8]) {
        let idx = try [UInt8](Data(contentsOf: URL(fileURLWithPath: source + ".idx")))
        let bin = try [UInt8](Data(contentsOf: URL(fileURLWithPath: source + ".bin")))
        let prefix = dir.file("u16")
        try Data(idx).write(to: URL(fileURLWithPath: prefix + ".idx"))
        try Data(bin).write(to: URL(fileURLWithPath: prefix + ".bin"))
        return (prefix, idx, bin)
    }

    private func error(opening prefix: String, vocabulary: Int? = nil) -> IndexedDatasetError? {
        do {
            let dataset = try IndexedDataset(prefix: prefix)
            if let vocabulary { try dataset.validateTokenIDs(vocabularySize: vocabulary) }
            return nil
        } catch let error as IndexedDatasetError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func untouchedFixturePassesEveryCheck() throws {
        let dir = try TemporaryDirectory()
        let (prefix, _, _) = try copy(dir)
        let failure = error(opening: prefix, vocabulary: 50257)
        #expect(failure == nil)
    }

    /// uint16 → int16 keeps the width, uint8 and int32 change it; each is caught, naming the file.
    @Test func changedDtypeCode() throws {
        let dir = try TemporaryDirectory()
        let (prefix, idx, _) = try copy(dir)
        for code: UInt8 in [1, 2, 3, 4] {
            var damaged = idx
            damaged[17] = code
            try Data(damaged).write(to: URL(fileURLWithPath: prefix + ".idx"))
            let failure = try #require(error(opening: prefix, vocabulary: 50257), "dtype code \(code) was accepted")
            let named = failure.description.contains(prefix + ".idx") || failure.description.contains(prefix + ".bin")
            #expect(named, "\(failure)")
            if code == 3 {
                // Same width: the structure holds, the ids (≥ 32768 read as negative) do not.
                #expect(failure.path == prefix + ".bin")
                #expect(failure.problem.contains("outside the vocabulary"), "\(failure)")
            }
        }
    }

    /// One token more in a middle sequence: still inside the .bin, but it would read its neighbour's first token.
    @Test func lengthenedSequence() throws {
        let dir = try TemporaryDirectory()
        let (prefix, idx, _) = try copy(dir)
        var damaged = idx
        let sizeOffset = 34 + 4 * 2  // sequence 2's i32 size
        damaged[sizeOffset] &+= 1
        try Data(damaged).write(to: URL(fileURLWithPath: prefix + ".idx"))
        let failure = try #require(error(opening: prefix))
        #expect(failure.path == prefix + ".idx")
        #expect(failure.problem.contains("sequence 3 starts at byte"), "\(failure)")
    }

    @Test func truncatedAndExtendedBin() throws {
        let dir = try TemporaryDirectory()
        let (prefix, _, bin) = try copy(dir)
        try Data(bin.dropLast(2)).write(to: URL(fileURLWithPath: prefix + ".bin"))
        let truncated = try #require(error(opening: prefix))
        #expect(truncated.description.contains(prefix + ".bin"), "\(truncated)")
        try Data(bin + [0, 0]).write(to: URL(fileURLWithPath: prefix + ".bin"))
        let extended = try #require(error(opening: prefix))
        #expect(extended.path == prefix + ".bin")
        #expect(extended.problem.contains("do not belong together"), "\(extended)")
    }

    /// 50300 is a row of GPT-2's embedding padded to 50304, never a token of its 50257-id vocabulary.
    @Test func outOfVocabularyTokenID() throws {
        let dir = try TemporaryDirectory()
        let (prefix, idx, bin) = try copy(dir)
        // Sequence 1 starts where sequence 0 (size from the .idx) ends; put the id at its position 3.
        let size0 = Int(idx[34]) | Int(idx[35]) << 8
        var damaged = bin
        let at = 2 * (size0 + 3)
        damaged[at] = UInt8(50300 & 0xFF)
        damaged[at + 1] = UInt8(50300 >> 8)
        try Data(damaged).write(to: URL(fileURLWithPath: prefix + ".bin"))
        let opened = error(opening: prefix)
        #expect(opened == nil, "the structure is intact; only the vocabulary check can see this")
        let failure = try #require(error(opening: prefix, vocabulary: 50257))
        #expect(failure.path == prefix + ".bin")
        #expect(failure.problem.contains("token id 50300 (sequence 1, position 3)"), "\(failure)")
        // Against the padded embedding size (50304) it would pass: callers give model.vocab_size.
        let padded = error(opening: prefix, vocabulary: 50304)
        #expect(padded == nil)
    }
}
