import Foundation
import Testing

/// `xmoe run` into one log file, as under Slurm (stdout and stderr to the same file).
struct LogOutputTests {
    @Test func aLogHasEachStepStatusOnceInOrder() throws {
        let dir = try TrainRunTests().setUp()
        defer { dir.cleanup() }
        let log = dir.url.appendingPathComponent("job.out")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: XMoEBinary.path)
        process.arguments = ["run", "exp.yaml"] + TrainRunTests.overrides.filter { !$0.hasPrefix("train.iters") } + ["train.iters=2"]
        process.currentDirectoryURL = dir.url
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        #expect(process.terminationStatus == 0)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map(String.init)
        // stdout's first line comes first although stderr's progress lines follow it at once.
        #expect(lines.first?.hasPrefix("xmoe: tiny") == true, "\(lines)")
        for step in ["prepare-data", "train"] {
            let statuses = lines.filter { $0.hasPrefix("[\(step)] done") || $0.hasPrefix("  \(step): ") }
            #expect(statuses.count == 1, "\(step): \(lines)")
        }
        let completions = lines.filter { $0.hasPrefix("[train] 100%") }
        #expect(completions.count == 1, "\(lines)")
    }
}
