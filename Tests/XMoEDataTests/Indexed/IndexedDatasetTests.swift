import Foundation
import Testing
@testable import XMoEData

@Suite struct IndexedDatasetTests {
    /// The worked example of the reference notes §1.5 (bytes checked there against megatron-core).
    @Test func workedExampleBytes() throws {
        let dir = try TemporaryDirectory()
        let prefix = dir.file("example")
        let writer = try IndexedDatasetWriter(prefix: prefix, vocabularySize: 50257)
        try writer.addDocument(sequences: [[464, 2068, 50256]])
        try writer.add(sequence: [40, 588, 13, 50256])
        writer.endDocument()
        try writer.finalize()
        let idx = try [UInt8](Data(contentsOf: URL(fileURLWithPath: prefix + ".idx")))
        let bin = try [UInt8](Data(contentsOf: URL(fileURLWithPath: prefix + ".bin")))
        var expected: [UInt8] = [0x4d, 0x4d, 0x49, 0x44, 0x49, 0x44, 0x58, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8]
        expected += [2, 0, 0, 0, 0, 0, 0, 0] + [3, 0, 0, 0, 0, 0, 0, 0] + [3, 0, 0, 0, 4, 0, 0, 0]
        expected += [UInt8](repeating: 0, count: 8) + [6, 0, 0, 0, 0, 0, 0, 0]
        expected += [UInt8](repeating: 0, count: 8) + [1, 0, 0, 0, 0, 0, 0, 0] + [2, 0, 0, 0, 0, 0, 0, 0]
        #expect(idx == expected)
        #expect(bin == [0xd0, 0x01, 0x14, 0x08, 0x50, 0xc4, 0x28, 0x00, 0x4c, 0x02, 0x0d, 0x00, 0x50, 0xc4])
        #expect(try !FileManager.default.contentsOfDirectory(atPath: dir.path).contains { $0.contains(".tmp-") })
    }

    /// Our writer must produce exactly megatron-core's IndexedDatasetBuilder bytes, and our reader
    /// must read megatron's files back as the documents that were written.
    @Test(arguments: ["u16", "i32", "multimodal"])
    func byteIdenticalToMegatron(name: String) throws {
        let manifest = try MegatronFixtures.json("indexed/manifest.json")
        let cases = manifest["cases"] as! [[String: Any]]
        let fixture = try #require(cases.first { $0["name"] as? String == name })
        let documents = (fixture["documents"] as! [[Any]]).map { $0.map(int32s) }
        let modes = (fixture["modes"] as? [[Any]])?.map { $0.map { Int8(($0 as! NSNumber).intValue) } }
        let multimodal = fixture["multimodal"] as! Bool

        let dir = try TemporaryDirectory()
        let ours = dir.file(name)
        let writer = try IndexedDatasetWriter(prefix: ours, vocabularySize: fixture["vocab_size"] as! Int, multimodal: multimodal)
        for (d, document) in documents.enumerated() {
            try writer.addDocument(sequences: document, modes: modes?[d])
        }
        try writer.finalize()
        let theirs = MegatronFixtures.root + "/indexed/" + name
        // tools/megatron-crosscheck/read_ours.py reads these with megatron-core's own reader.
        if let export = ProcessInfo.processInfo.environment["XMOE_CROSSCHECK_OUT"] {
            for ext in [".idx", ".bin"] {
                try? FileManager.default.removeItem(atPath: export + "/" + name + ext)
                try FileManager.default.copyItem(atPath: ours + ext, toPath: export + "/" + name + ext)
            }
        }
        for ext in [".idx", ".bin"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: ours + ext))
            let b = try Data(contentsOf: URL(fileURLWithPath: theirs + ext))
            #expect(a == b, "\(name)\(ext) differs from megatron-core's")
        }

        let read = try IndexedDataset(prefix: theirs)
        let sequences = documents.flatMap { $0 }
        #expect(read.sequenceCount == sequences.count)
        #expect(read.documentCount == documents.count)
        #expect(read.hasModes == multimodal)
        #expect(read.dtype == (name == "i32" ? .int32 : .uint16))
        var boundary: Int64 = 0
        var expectedDocIndex: [Int64] = [0]
        for document in documents {
            boundary += Int64(document.count)
            expectedDocIndex.append(boundary)
        }
        #expect(read.documentIndices == expectedDocIndex)
        for (i, sequence) in sequences.enumerated() {
            #expect(read.tokens(of: i) == sequence)
            #expect(read.sequenceLength(i) == sequence.count)
            if sequence.count > 2 {
                #expect(read.tokens(of: i, offset: 1, length: sequence.count - 2) == Array(sequence[1..<(sequence.count - 1)]))
            }
        }
        if let modes {
            #expect((0..<read.sequenceCount).map { read.mode(of: $0)! } == modes.flatMap { $0 })
        }
    }

    @Test func roundTripWithEmptyDocumentsAndSequences() throws {
        let dir = try TemporaryDirectory()
        let prefix = dir.file("rt")
        let writer = try IndexedDatasetWriter(prefix: prefix, vocabularySize: 200_000)
        #expect(writer.dtype == .int32)
        let documents: [[[Int32]]] = [[[1, 2, 3], []], [], [[Int32.max, 0, 199_999]], [[7]]]
        for document in documents { try writer.addDocument(sequences: document) }
        try writer.finalize()
        let read = try IndexedDataset(prefix: prefix)
        #expect(read.documentIndices == [0, 2, 2, 3, 4])
        #expect((0..<read.sequenceCount).map { read.tokens(of: $0) } == documents.flatMap { $0 })
        #expect(read.sequencePointer(3) == 4 * 6)
    }

    @Test func writerRejectsTokensOutsideDType() throws {
        let dir = try TemporaryDirectory()
        let writer = try IndexedDatasetWriter(prefix: dir.file("small"), vocabularySize: 50257)
        #expect(throws: IndexedDatasetError.self) { try writer.add(sequence: [1, 65536]) }
        #expect(throws: IndexedDatasetError.self) { try writer.add(sequence: [-1]) }
    }

    @Test func unfinishedWriterLeavesNoPair() throws {
        let dir = try TemporaryDirectory()
        do {
            let writer = try IndexedDatasetWriter(prefix: dir.file("partial"), vocabularySize: 100)
            try writer.addDocument(sequences: [[1, 2, 3]])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        #expect(throws: IndexedDatasetError.self) { try IndexedDataset(prefix: dir.file("partial")) }
    }
}
