import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `xmoe run` resuming onto a checkpoint with a flipped byte in one weight: it says which file and
/// tensor are damaged, resumes from the previous checkpoint and finishes.
@Suite(.serialized) struct CheckpointFallbackTests {
    @Test func flippedByteFallsBackToThePreviousCheckpoint() throws {
        let dir = try TrainRunTests().setUp()
        defer { dir.cleanup() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: XMoEBinary.path)
        process.arguments = ["run", "exp.yaml"] + DataIdentityTests.overrides
        process.currentDirectoryURL = dir.url
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let checkpoints = dir.url.appendingPathComponent("runs/tiny/checkpoints")
        func complete() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []).filter { $0.hasPrefix("step_") }.sorted()
        }
        let deadline = Date().addingTimeInterval(300)
        // Three complete checkpoints: `latest` (which may lag the newest rename by one) has one before it.
        while process.isRunning, Date() < deadline, complete().count < 3 { usleep(20_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the run finished before it could be killed")

        let latest = try String(contentsOf: checkpoints.appendingPathComponent("latest"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let previous = try #require(complete().last { $0 < latest })
        let file = checkpoints.appendingPathComponent(latest + "/rank_00000.h5").path
        let located = try Python.run("""
            import h5py, sys
            with h5py.File(sys.argv[1], 'r') as f:
                name = sorted(k for k in f['params'] if 'attn' in k)[0]
                print('/params/' + name, f['params'][name].id.get_offset())
            """, [file])
        let fields = located.output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let tensor = fields[0]
        let offset = try #require(UInt64(fields[1])) + 9
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        try handle.seek(toOffset: offset)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([byte ^ 0x01]))
        try handle.close()

        let resumed = try XMoEBinary.run(["run", "exp.yaml"] + DataIdentityTests.overrides, in: dir.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("checkpoint \(latest) is damaged, falling back to an older one: \(file): \(tensor): checksum mismatch"),
                "\(resumed.stderr)")
        let step = Int(previous.dropFirst("step_".count))!
        #expect(resumed.stderr.contains("resumed from the checkpoint of step \(step)"), "\(resumed.stderr)")
    }
}
