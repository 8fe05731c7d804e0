import Foundation
import Testing
@testable import XMoEData

/// Line splitting must give the lines Python's text-mode iteration gives (universal newlines).
@Suite struct JSONLinesReaderTests {
    typealias S = PrepareTestSupport

    func lines(of bytes: [UInt8], chunkSize: Int, gzip: Bool = false) throws -> [(Int, String)] {
        try S.withTemporaryDirectory { directory in
            var url = directory.appendingPathComponent("in.jsonl")
            try Data(bytes).write(to: url)
            if gzip {
                let gz = directory.appendingPathComponent("in.jsonl.gz")
                try S.gzip(url, to: gz, members: 2)
                url = gz
            }
            let reader = try JSONLinesReader(url: url, chunkSize: chunkSize)
            var result: [(Int, String)] = []
            while let line = try reader.nextLine() { result.append((line.number, line.text)) }
            return result
        }
    }

    // Python: io.open(..., "r", encoding="utf-8") iterated; "\r", "\r\n", "\n" end lines; U+2028 does not.
    static let text = "a\nb\r\nc\rd\u{2028}e\n\nf\r\r\ng"
    static let python: [String] = ["a", "b", "c", "d\u{2028}e", "", "f", "", "g"]

    @Test(arguments: [1, 2, 3, 7, 4096])
    func universalNewlinesAtAnyChunkSize(chunkSize: Int) throws {
        let found = try lines(of: Array(Self.text.utf8), chunkSize: chunkSize)
        #expect(found.map(\.1) == Self.python)
        #expect(found.map(\.0) == Array(1 ... Self.python.count))
    }

    @Test(arguments: [1, 5, 4096])
    func gzipMultiMemberGivesTheSameLines(chunkSize: Int) throws {
        let found = try lines(of: Array(Self.text.utf8), chunkSize: chunkSize, gzip: true)
        #expect(found.map(\.1) == Self.python)
    }

    @Test func trailingNewlineMakesNoExtraLine() throws {
        #expect(try lines(of: Array("x\ny\n".utf8), chunkSize: 2).map(\.1) == ["x", "y"])
        #expect(try lines(of: [], chunkSize: 2).isEmpty)
    }

    @Test func invalidUTF8NamesTheLine() throws {
        #expect(throws: PrepareDataError.self) {
            _ = try lines(of: Array("ok\nok\n".utf8) + [0xFF] + Array("\n".utf8), chunkSize: 4)
        }
        do {
            _ = try lines(of: Array("ok\nok\n".utf8) + [0x61, 0xFF], chunkSize: 4)
            Issue.record("invalid UTF-8 was accepted")
        } catch let error as PrepareDataError {
            #expect(error.badLineKind == .invalidUTF8)
            #expect(error.description.contains(":3: invalid UTF-8: invalid UTF-8 at byte 2"))
        }
    }

    @Test func truncatedGzipIsAnError() throws {
        try S.withTemporaryDirectory { directory in
            let plain = directory.appendingPathComponent("in.jsonl")
            try S.write(String(repeating: "{\"text\": \"abc\"}\n", count: 1000), to: plain)
            let gz = directory.appendingPathComponent("in.jsonl.gz")
            try S.gzip(plain, to: gz)
            let data = try Data(contentsOf: gz)
            try data.prefix(data.count - 10).write(to: gz)
            #expect {
                _ = try S.run(input: gz, prefix: directory.appendingPathComponent("out"))
            } throws: { error in
                if case .corruptGzip? = error as? PrepareDataError { return true }
                return false
            }
        }
    }
}
