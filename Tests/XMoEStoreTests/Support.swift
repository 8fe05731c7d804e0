import Foundation
import Testing
@testable import XMoEStore

/// A fresh directory per test, removed afterwards.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("xmoe-store-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url.path)
}

struct ToolOutput {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs an external program to completion; the independent readers (h5dump, h5py) go through here.
func runTool(_ executable: String, _ arguments: [String]) throws -> ToolOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read before waiting so a large output cannot fill the pipe and block the child.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ToolOutput(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
}

func h5dump(_ arguments: [String]) throws -> String {
    let result = try runTool("/usr/bin/h5dump", arguments)
    #expect(result.status == 0, "h5dump failed: \(result.stderr)")
    return result.stdout
}

/// Runs a Python script with Debian's h5py; the file path is `sys.argv[1]`.
func h5py(_ script: String, file: String) throws -> String {
    let result = try runTool("/usr/bin/python3", ["-c", "import sys, h5py, numpy as np\n" + script, file])
    #expect(result.status == 0, "python3/h5py failed: \(result.stderr)")
    return result.stdout
}

/// Runs `body` and returns the `StoreError` it throws (failing the test when it throws none).
func storeError(_ body: () throws -> Void) -> StoreError? {
    do {
        try body()
        Issue.record("expected a StoreError, nothing was thrown")
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        Issue.record("expected a StoreError, got \(error)")
        return nil
    }
}
