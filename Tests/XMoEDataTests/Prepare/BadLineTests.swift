import Foundation
import Testing
@testable import XMoEData

/// Lines on which Megatron's preprocess_data.py crashes (json.loads, obj[key] or the tokenizer
/// raising): each must fail with file:line and its kind, or be skipped and counted.
@Suite struct BadLineTests {
    typealias S = PrepareTestSupport

    static let good = #"{"text": "fine", "title": "t"}"#

    /// Each case: line 3 of the file, between good lines, and its kind. The kinds follow what
    /// Python does with the line: json.loads error, KeyError, TypeError, UnicodeEncodeError.
    static let cases: [(line: [UInt8], kind: BadLineKind)] = [
        (Array(#"{"text": "unterminated}"#.utf8), .malformedJSON),
        (Array(#"{"text": "a",}"#.utf8), .malformedJSON),
        (Array(#"{"text": "a"} trailing"#.utf8), .malformedJSON),
        (Array(#"{"text": "bad \x escape"}"#.utf8), .malformedJSON),
        (Array("{\"text\": \"raw\ttab\"}".utf8), .malformedJSON),
        (Array(#"{"text": 01}"#.utf8), .malformedJSON),
        (Array([0xEF, 0xBB, 0xBF]) + Array(#"{"text": "bom"}"#.utf8), .malformedJSON),
        (Array(#"{"other": "x"}"#.utf8), .missingKey),
        (Array(#"["text"]"#.utf8), .notAnObject),
        (Array(#""text""#.utf8), .notAnObject),
        (Array(#"{"text": 5}"#.utf8), .notAString),
        (Array(#"{"text": null}"#.utf8), .notAString),
        (Array(#"{"text": ["a", 1]}"#.utf8), .notAString),
        (Array(#"{"text": "lone \ud800 high"}"#.utf8), .unpairedSurrogate),
        (Array(#"{"text": "lone \udc00 low"}"#.utf8), .unpairedSurrogate),
        (Array(#"{"text": "caf"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8), .invalidUTF8),
        (Array(#"{"text": ""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8), .invalidUTF8),  // encoded surrogate
        (Array(#"{"text": ""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8), .invalidUTF8),  // overlong "/"
        (Array("   ".utf8), .emptyLine),
        (Array(), .emptyLine),
    ]

    func input(badLine: [UInt8], in directory: URL) throws -> URL {
        let url = directory.appendingPathComponent("in.jsonl")
        let bytes = Array("\(Self.good)\n\(Self.good)\n".utf8) + badLine + Array("\n\(Self.good)\n".utf8)
        try Data(bytes).write(to: url)
        return url
    }

    @Test(arguments: cases.indices)
    func badLineFailsNamingFileLineAndKindAndLeavesNoOutput(index: Int) throws {
        let (line, kind) = Self.cases[index]
        try S.withTemporaryDirectory { directory in
            let url = try input(badLine: line, in: directory)
            let prefix = directory.appendingPathComponent("out")
            #expect {
                _ = try S.run(input: url, prefix: prefix, workers: 2, batchBytes: 16)
            } throws: { error in
                guard let error = error as? PrepareDataError,
                      case let .badLine(file, lineNumber, foundKind, _) = error else { return false }
                return file == url.path && lineNumber == 3 && foundKind == kind
                    && error.description.hasPrefix("\(url.path):3: ")
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(left == ["in.jsonl"], "output files left after a failed run: \(left)")
        }
    }

    @Test func skipModeSkipsAndCountsBadLinesByKind() throws {
        try S.withTemporaryDirectory { directory in
            var bytes: [UInt8] = []
            for (line, _) in Self.cases { bytes += Array("\(Self.good)\n".utf8) + line + [0x0A] }
            let url = directory.appendingPathComponent("in.jsonl")
            try Data(bytes).write(to: url)
            let summary = try S.run(input: url, prefix: directory.appendingPathComponent("out"), keys: ["text", "title"],
                                    workers: 3, skipBadLines: true, batchBytes: 64)
            var expected: [BadLineKind: Int] = [:]
            for (_, kind) in Self.cases { expected[kind, default: 0] += 1 }
            // Each bad line fails on "text", the first key, as in Megatron's loop over the keys.
            #expect(summary.skippedLines == expected)
            #expect(summary.lines == 2 * Self.cases.count)
            #expect(summary.documents == Self.cases.count)
            #expect(summary.skippedExamples.first?.description.hasPrefix("\(url.path):2: ") == true)
            // The good documents alone: "fine" is one GPT-2 token ("fine" = 38125), "t" one.
            let out = try S.files(prefix: directory.appendingPathComponent("out"), key: "text")
            #expect(out.bin == Data(repeatElement([0xED, 0x94] as [UInt8], count: Self.cases.count).joined()))
        }
    }

    @Test func withoutSkippingTheFirstBadLineWinsAcrossBatches() throws {
        try S.withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("in.jsonl")
            var text = ""
            for i in 1 ... 200 { text += i == 150 || i == 170 ? "{oops}\n" : "\(Self.good)\n" }
            try S.write(text, to: url)
            #expect(throws: PrepareDataError.badLine(file: url.path, line: 150, kind: .malformedJSON,
                                                     detail: "expected a property name in double quotes at column 2")) {
                _ = try S.run(input: url, prefix: directory.appendingPathComponent("out"), workers: 4, batchBytes: 100)
            }
        }
    }
}
