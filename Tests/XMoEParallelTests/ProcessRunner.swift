import Foundation

/// Runs a child process to completion or to a deadline, so a hung MPI job can never hold up the
/// test run: on timeout it gets SIGTERM (mpirun forwards it to its ranks), then SIGKILL.
enum ProcessRunner {
    struct Outcome {
        let status: Int32
        let output: String
        let timedOut: Bool
    }

    static func run(_ executable: URL, _ arguments: [String], environment: [String: String],
                    timeoutSeconds: Double) async throws -> Outcome {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("xmoe-parallel-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // A file rather than a pipe: nothing can block on a full pipe buffer.
        let outputURL = directory.appendingPathComponent("output.txt")
        guard FileManager.default.createFile(atPath: outputURL.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: outputURL.path])
        }
        let output = try FileHandle(forWritingTo: outputURL)
        defer { try? output.close() }

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()

        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var timedOut = false
        while process.isRunning {
            if Date() >= deadline {
                timedOut = true
                process.terminate()
                let grace = Date().addingTimeInterval(5)
                while process.isRunning, Date() < grace { try await Task.sleep(for: .milliseconds(50)) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.waitUntilExit()
        let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
        return Outcome(status: process.terminationStatus, output: text, timedOut: timedOut)
    }

    /// The first executable named `name` on PATH.
    static func onPath(_ name: String, environment: [String: String]) -> URL? {
        let directories = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        return directories.map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
