import Foundation
import Testing
@testable import XMoEData

/// The longest accepted line bounds the reader's memory: a line over the bound fails naming its line
/// number, at any chunk size and through gzip, while lines up to the bound are read intact.
@Suite struct LineBoundTests {
    typealias S = PrepareTestSupport

    func read(_ bytes: [UInt8], bound: Int, chunkSize: Int, gzip: Bool = false) throws -> Result<[String], PrepareDataError> {
        try S.withTemporaryDirectory { directory in
            var url = directory.appendingPathComponent("in.jsonl")
            try Data(bytes).write(to: url)
            if gzip {
                let gz = directory.appendingPathComponent("in.jsonl.gz")
                try S.gzip(url, to: gz, members: 1)
                url = gz
            }
            let reader = try JSONLinesReader(url: url, chunkSize: chunkSize, maximumLineBytes: bound)
            var lines: [String] = []
            do {
                while let batch = try reader.nextBatch(targetBytes: 64) {
                    for i in 0..<batch.lineCount { lines.append(String(decoding: batch.line(i), as: UTF8.self)) }
                }
            } catch let error as PrepareDataError {
                return .failure(error)
            }
            return .success(lines)
        }
    }

    @Test(arguments: [1, 3, 16, 4096], [false, true])
    func lineOverTheBoundFailsWithItsNumber(chunkSize: Int, gzip: Bool) throws {
        let text = "short\n" + String(repeating: "a", count: 100) + "\r\n" + String(repeating: "b", count: 101) + "\nlast"
        let result = try read(Array(text.utf8), bound: 100, chunkSize: chunkSize, gzip: gzip)
        guard case .failure(.cannotRead(_, let reason)) = result else {
            Issue.record("expected a refusal, got \(result)")
            return
        }
        #expect(reason.hasPrefix("line 3 is longer than"), "\(reason)")
    }

    @Test(arguments: [1, 7, 4096])
    func linesUpToTheBoundAreRead(chunkSize: Int) throws {
        let long = String(repeating: "z", count: 100)
        let result = try read(Array("\(long)\n\(long)\r\(long)".utf8), bound: 100, chunkSize: chunkSize)
        #expect(result == .success([long, long, long]))
    }

    /// An endless line (all of /dev/zero) stops at the bound instead of filling memory.
    @Test func devZeroStopsAtTheBound() throws {
        let reader = try JSONLinesReader(url: URL(fileURLWithPath: "/dev/zero"), chunkSize: 1 << 16, maximumLineBytes: 1 << 20)
        #expect(throws: PrepareDataError.self) { _ = try reader.nextBatch(targetBytes: 1 << 20) }
    }
}
