import Foundation
import Testing
import XMoESpec

/// A run directory on disk for one test: `spec.resolved.yaml` from a real `ExperimentSpec`, metrics.h5
/// written by h5py (write_fixture_run.py) with the summary numbers it computed, and step records.
struct FixtureRun {
    static let python = "/usr/bin/python3"
    /// micro_batch 3 × 2 accumulation steps = global batch 6, times seq_length 16.
    static let tokensPerStep = 6 * 16

    let root: URL
    let run: URL

    init(name: String = "fixture-run") throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("xmoe-report-\(UUID().uuidString)", isDirectory: true)
        run = root.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: run.appendingPathComponent("steps"), withIntermediateDirectories: true)
        try FixtureScript.source.write(toFile: script, atomically: true, encoding: .utf8)
    }

    /// The fixture writer, saved beside the run.
    var script: String { root.appendingPathComponent("write_fixture_run.py").path }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// Writes the spec the fixture numbers assume and returns it as loaded back from the run directory.
    @discardableResult
    func writeSpec(name: String = "fixture-run") throws -> ExperimentSpec {
        let source = root.appendingPathComponent("\(name).yaml")
        try """
        name: \(name)
        data:
          prefix: /nonexistent/corpus_text_document
        model:
          layers: 4
          hidden: 32
          heads: 4
          seq_length: 16
        moe:
          num_experts: 4
          top_k: 2
        train:
          micro_batch: 3
          global_batch: 6
          iters: 50
        """.write(to: source, atomically: true, encoding: .utf8)
        let resolved = run.appendingPathComponent("spec.resolved.yaml")
        try ExperimentSpec.load(file: source.path).resolvedDocument.write(to: resolved, atomically: true, encoding: .utf8)
        return try ExperimentSpec.load(file: resolved.path)
    }

    /// Runs the h5py writer; returns the numbers it computed.
    func writeMetrics() throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [script, run.path, String(Self.tokensPerStep)]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "write_fixture_run.py failed")
        return try expected()
    }

    func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: run.appendingPathComponent("expected.json"))
        return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A step record as XMoEPipeline writes it (ISO 8601 dates, snake_case keys).
    func writeRecord(step: String, status: String, duration: Double?, reason: String = "never run",
                     error: String? = nil) throws {
        var record: [String: Any] = [
            "step": step, "key": "k-\(step)", "status": status, "started_at": "2025-01-02T03:04:05Z",
            "format_version": "1", "inputs": ["model.hidden": "32"], "upstream_keys": [String: String](),
            "reason": reason,
        ]
        if let duration {
            record["duration_seconds"] = duration
            record["finished_at"] = "2025-01-02T04:04:05Z"
        }
        if let error { record["error"] = error }
        let data = try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: run.appendingPathComponent("steps/\(step).json"))
    }
}

/// Runs `code` in /usr/bin/python3 with `arguments` as sys.argv[1:]; returns stdout.
func runPython(_ code: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: FixtureRun.python)
    process.arguments = ["-c", code] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "python failed")
    return String(decoding: data, as: UTF8.self)
}

/// A number from Python's JSON: floats come as repr text, parsed exactly.
func double(_ any: Any?) -> Double? {
    if let text = any as? String { return Double(text) }
    return (any as? NSNumber)?.doubleValue
}
func int(_ any: Any?) -> Int? { (any as? NSNumber)?.intValue }

/// Equal to 1e-12 relative: the sums run in another order in Python.
func close(_ a: Double?, _ b: Double?) -> Bool {
    guard let a, let b else { return false }
    return abs(a - b) <= 1e-12 * max(1, abs(b))
}
