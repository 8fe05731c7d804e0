import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The deadline that keeps a hung mpirun from blocking the test run must actually fire.
@Suite struct ProcessRunnerTests {
    @Test func aChildPastItsDeadlineIsKilled() async throws {
        let started = Date()
        let outcome = try await ProcessRunner.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "echo started; sleep 600"],
                                                  environment: [:], timeoutSeconds: 0.5)
        #expect(outcome.timedOut)
        #expect(outcome.status != 0)
        #expect(outcome.output == "started\n")
        // Far below the child's 600 s: it was killed, however loaded the machine is.
        #expect(Date().timeIntervalSince(started) < 300)
    }

    @Test func aChildThatFinishesReportsItsStatusAndOutput() async throws {
        let outcome = try await ProcessRunner.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "echo out; echo err >&2; exit 3"],
                                                  environment: [:], timeoutSeconds: 30)
        #expect(!outcome.timedOut)
        #expect(outcome.status == 3)
        #expect(outcome.output.split(separator: "\n").sorted() == ["err", "out"])
    }

    /// A file the test process holds open (as another test may hold an HDF5 file and its lock) is
    /// not open in the child.
    @Test func theChildInheritsNoOpenFiles() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xmoe-fd-\(UUID().uuidString)").path
        let fd = open(path, O_WRONLY | O_CREAT, 0o600)
        #expect(fd > 2)
        defer { close(fd); unlink(path) }
        let outcome = try await ProcessRunner.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "ls -l /proc/$$/fd"],
                                                  environment: ["PATH": "/usr/bin:/bin"], timeoutSeconds: 30)
        #expect(outcome.status == 0)
        #expect(!outcome.output.contains(path), "\(outcome.output)")
    }
}
