import Foundation
import Testing
import XMoEReport

@Suite("Reading the metrics of a run that is still writing them")
struct LiveRunTests {
    /// Another process holds metrics.h5 open for writing (HDF5 1.10 takes an exclusive flock): the
    /// loader must still read it, opening it without HDF5's file lock.
    @Test func readsAFileHeldOpenForWritingByAnotherProcess() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: FixtureRun.python)
        writer.arguments = [fixture.script, fixture.run.path, String(FixtureRun.tokensPerStep), "--hold"]
        // The writer must lock the file as training would, whatever this process's environment says.
        var environment = ProcessInfo.processInfo.environment
        environment["HDF5_USE_FILE_LOCKING"] = "TRUE"
        writer.environment = environment
        let input = Pipe(), output = Pipe()
        writer.standardInput = input
        writer.standardOutput = output
        try writer.run()
        defer {
            // Terminated, not only told by EOF on its stdin: a process another test starts meanwhile
            // (an MPI singleton's orted) can inherit the pipe's write end and keep EOF from arriving.
            try? input.fileHandleForWriting.close()
            writer.terminate()
            writer.waitUntilExit()
        }
        let line = String(decoding: output.fileHandleForReading.availableDataOrLine(), as: UTF8.self)
        try #require(line.contains("holding"), "the writer did not start: \(line)")
        let metrics = try RunMetrics.load(runDirectory: fixture.run)
        #expect(metrics.train.rowCount == int(try fixture.expected()["rows"]))
    }
}

extension FileHandle {
    /// Blocks until the first line (or end of file) arrives.
    func availableDataOrLine() -> Data {
        var data = Data()
        while !data.contains(0x0a) {
            let chunk = availableData
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        return data
    }
}
