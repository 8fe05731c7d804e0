import Foundation
import XMoEPipeline

/// One sweep point run as a child `xmoe run <points/NAME.yaml>`, its output appended to the point's
/// `sweep.log`. A child process rather than a thread: a point that crashes, runs out of memory or is
/// killed takes no other point with it, and HDF5 (serial build) is not thread-safe.
final class PointProcess {
    let name: String
    let runDirectory: URL
    let logURL: URL
    let started = Date()
    private let process = Process()

    init(name: String, spec: URL, runDirectory: URL, extraArguments: [String] = [], environment: [String: String],
         inheritOutput: Bool = false) throws {
        self.name = name
        self.runDirectory = runDirectory
        logURL = runDirectory.appendingPathComponent("sweep.log")
        try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        log.write(Data("=== xmoe sweep: \(ISO8601DateFormatter().string(from: started)) xmoe run \(spec.path)\n".utf8))
        process.executableURL = URL(fileURLWithPath: PointProcess.executablePath)
        process.arguments = ["run", spec.path] + extraArguments
        if !inheritOutput {
            process.standardOutput = log
            process.standardError = log
        }
        process.standardInput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        try process.run()
        try? log.close()
    }

    var isRunning: Bool { process.isRunning }
    var exitStatus: Int32 { process.terminationStatus }
    var pid: Int32 { process.processIdentifier }

    func terminate() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
    }

    func waitUntilExit() { process.waitUntilExit() }

    /// The error of the step that failed, from the point's step records; else the last lines the
    /// child wrote (a refusal before any step started, a crash).
    func failure() -> String {
        let directory = RunDirectory(root: runDirectory)
        for step in ["train", "prepare-data"] {
            if let record = try? directory.readRecord(step: step), record.status == .failed,
               record.finishedAt.map({ $0 >= started.addingTimeInterval(-1) }) ?? false {
                return "\(step): \(record.error ?? "failed")"
            }
        }
        let lines = lastLines(of: logURL, count: 40).filter { !$0.hasPrefix("[") && !$0.hasPrefix("===") && !$0.isEmpty }
        let detail = lines.suffix(3).joined(separator: " / ")
        let status = process.terminationReason == .uncaughtSignal ? "killed by signal \(exitStatus)" : "exit status \(exitStatus)"
        return detail.isEmpty ? status : "\(status): \(detail)"
    }

    /// The newest progress line of the train (or other) step, for the sweep's status display.
    func latestProgress() -> String? {
        lastLines(of: logURL, count: 20).last { $0.hasPrefix("[") && $0.contains("%") }
    }

    static let executablePath: String = {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }()
}

/// The last `count` lines of a text file, reading at most its last 16 KiB.
func lastLines(of url: URL, count: Int) -> [String] {
    guard let handle = try? FileHandle(forReadingFrom: url) else { return [] }
    defer { try? handle.close() }
    let size = handle.seekToEndOfFile()
    handle.seek(toFileOffset: size > 16384 ? size - 16384 : 0)
    let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    return Array(text.split(separator: "\n").map { String($0) }.suffix(count))
}
