import Foundation
@testable import XMoEData

enum PrepareTestSupport {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let fixtureInput = fixtures.appendingPathComponent("fixture.jsonl")

    /// A fresh temporary directory for `body`, removed afterwards.
    static func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xmoe-prep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }

    static func run(input: URL, prefix: URL, keys: [String] = ["text"], appendEOD: Bool = false, workers: Int = 1,
                    skipBadLines: Bool = false, batchBytes: Int = 1 << 20) throws -> PrepareDataSummary {
        let options = PrepareDataOptions(input: input, outputPrefix: prefix.path, jsonKeys: keys, appendEOD: appendEOD,
                                         workers: workers, skipBadLines: skipBadLines, batchBytes: batchBytes)
        return try PrepareData(options: options, vocabulary: TokenizerTestSupport.vocabulary).run()
    }

    /// `gzip -c -n` of `input` (the system tool, independent of our zlib use), optionally as
    /// several members: the file split into `members` parts, each gzipped, concatenated.
    static func gzip(_ input: URL, to output: URL, members: Int = 1) throws {
        let data = try Data(contentsOf: input)
        var result = Data()
        let partSize = (data.count + members - 1) / members
        for start in stride(from: 0, to: data.count, by: partSize) {
            let part = output.deletingLastPathComponent().appendingPathComponent("part-\(start)")
            try data[start ..< min(start + partSize, data.count)].write(to: part)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/gzip")
            process.arguments = ["-c", "-n", part.path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            result.append(pipe.fileHandleForReading.readDataToEndOfFile())
            process.waitUntilExit()
            try FileManager.default.removeItem(at: part)
        }
        try result.write(to: output)
    }

    static func files(prefix: URL, key: String) throws -> (bin: Data, idx: Data) {
        (try Data(contentsOf: URL(fileURLWithPath: prefix.path + "_\(key)_document.bin")),
         try Data(contentsOf: URL(fileURLWithPath: prefix.path + "_\(key)_document.idx")))
    }

    static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url)
    }
}
