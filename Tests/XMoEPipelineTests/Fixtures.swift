import Foundation
import Testing

@testable import XMoEPipeline

/// A fresh directory per test, removed when the test's value goes away.
final class TemporaryDirectory: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("xmoe-pipeline-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
}

/// Appended to by step bodies (outside the run directory), so tests see which bodies really ran.
struct ExecutionLog: Sendable {
    let url: URL

    func append(_ step: String) {
        let previous = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        try! (previous + step + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    func entries() -> [String] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func clear() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// write-lines (N lines) ──▶ count-lines ──▶ report, plus an independent `notes` step.
struct LinePipeline {
    var lineCount = 3
    var prefix = "line"
    var extraInputs: [String: String] = [:]
    var countFormatVersion = "1"
    var countFailure: String? = nil
    var countCommits = true

    func make(in dir: TemporaryDirectory) throws -> Pipeline {
        let log = ExecutionLog(url: dir.url.appendingPathComponent("executions.log"))
        let lineCount = lineCount, prefix = prefix, countFailure = countFailure, countCommits = countCommits
        var writeInputs = ["lines.count": "\(lineCount)", "lines.prefix": prefix]
        writeInputs.merge(extraInputs) { _, new in new }

        let write = Step(name: "write-lines", inputs: writeInputs, formatVersion: "1") { context in
            log.append("write-lines")
            let temporary = try context.temporaryURL(for: "data/lines.txt")
            let text = (0..<lineCount).map { "\(prefix) \($0)\n" }.joined()
            try text.write(to: temporary, atomically: false, encoding: .utf8)
            try context.commit("data/lines.txt")
            return StepOutputs(files: ["lines": "data/lines.txt"], facts: ["count": "\(lineCount)"])
        }
        let count = Step(
            name: "count-lines", upstream: ["write-lines"], inputs: ["count.unit": "line"],
            formatVersion: countFormatVersion
        ) { context in
            log.append("count-lines")
            if let countFailure { throw TestFailure(description: countFailure) }
            let source = try context.upstreamFile(step: "write-lines", name: "lines")
            let lines = try String(contentsOf: source, encoding: .utf8).split(separator: "\n").count
            let temporary = try context.temporaryURL(for: "stats/count.txt")
            try "\(lines)\n".write(to: temporary, atomically: false, encoding: .utf8)
            if countCommits { try context.commit("stats/count.txt") }
            return StepOutputs(files: ["count": "stats/count.txt"], facts: ["lines": "\(lines)"])
        }
        let report = Step(name: "report", upstream: ["count-lines"], inputs: [:], formatVersion: "1") { context in
            log.append("report")
            let lines = context.upstreamOutputs["count-lines"]?.facts["lines"] ?? "?"
            let temporary = try context.temporaryURL(for: "report.txt")
            try "lines: \(lines)\n".write(to: temporary, atomically: false, encoding: .utf8)
            try context.commit("report.txt")
            return StepOutputs(files: ["report": "report.txt"])
        }
        let notes = Step(name: "notes", inputs: ["notes.text": "hello"], formatVersion: "1") { context in
            log.append("notes")
            let temporary = try context.temporaryURL(for: "notes.txt")
            try "hello\n".write(to: temporary, atomically: false, encoding: .utf8)
            try context.commit("notes.txt")
            return StepOutputs(files: ["notes": "notes.txt"])
        }
        let runDirectory = RunDirectory(root: dir.url.appendingPathComponent("runs/test", isDirectory: true))
        return try Pipeline(steps: [write, count, report, notes], runDirectory: runDirectory)
    }

    static func log(in dir: TemporaryDirectory) -> ExecutionLog {
        ExecutionLog(url: dir.url.appendingPathComponent("executions.log"))
    }
}

/// Plan as (step, status, reason) triples, for exact comparison.
func summary(_ plans: [StepPlan]) -> [String] {
    plans.map { "\($0.step): \($0.status.rawValue): \($0.reason)" }
}

func isoTimestamp(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}

func readText(_ url: URL) throws -> String {
    try String(contentsOf: url, encoding: .utf8)
}
