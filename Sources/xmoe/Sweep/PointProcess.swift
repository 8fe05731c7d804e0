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
        env[ParentWatch.variable] = "\(getpid())"
        process.environment = env
        try process.run()
        Self.live.insert(process.processIdentifier)
        try? log.close()
    }

    /// Pids of the points started and not yet reaped, for forwarding signals.
    private static let live = LivePIDs()

    /// Every signal the sweep gets goes on to its running points as SIGTERM (each records its step
    /// interrupted and exits 143), also when the sweep itself is forced to stop by a second signal.
    static func forwardSignals() {
        InterruptHandler.onSignal { _ in live.signalAll(SIGTERM, once: true) }
        InterruptHandler.addCleanup { live.signalAll(SIGTERM, once: false) }
    }

    var isRunning: Bool { process.isRunning }
    var exitStatus: Int32 { process.terminationStatus }
    var pid: Int32 { process.processIdentifier }

    /// Sends SIGTERM once (a second signal would make the point stop at once instead of at a safe point).
    func terminate() {
        if process.isRunning { Self.live.signal(process.processIdentifier, SIGTERM, once: true) }
    }

    func waitUntilExit() {
        process.waitUntilExit()
        Self.live.remove(process.processIdentifier)
    }

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

final class LivePIDs: @unchecked Sendable {
    private let lock = NSLock()
    private var pids: Set<Int32> = []
    private var signalled: Set<Int32> = []

    func insert(_ pid: Int32) {
        lock.lock()
        pids.insert(pid)
        lock.unlock()
    }

    func remove(_ pid: Int32) {
        lock.lock()
        pids.remove(pid)
        signalled.remove(pid)
        lock.unlock()
    }

    /// With `once`, a pid already signalled is left alone.
    func signal(_ pid: Int32, _ signal: Int32, once: Bool) {
        lock.lock()
        let send = pids.contains(pid) && (!once || signalled.insert(pid).inserted)
        lock.unlock()
        if send { kill(pid, signal) }
    }

    func signalAll(_ signal: Int32, once: Bool) {
        lock.lock()
        let all = pids
        lock.unlock()
        for pid in all { self.signal(pid, signal, once: once) }
    }
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
