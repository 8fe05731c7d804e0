import Foundation
import Testing
import XMoEParallel

/// Launches the real `mpirun` on the built `xmoe-comm-check`, whose ranks verify every collective
/// against the formulas that generated their data (see Sources/xmoe-comm-check).
@Suite(.serialized) struct MPIRunTests {
    @Test(arguments: [4, 3])
    func commCheckPassesUnderMpirun(ranks: Int) async throws {
        let outcome = try await runCommCheck(ranks: ranks)
        #expect(!outcome.timedOut, "mpirun -np \(ranks) did not finish within 120 s:\n\(outcome.output)")
        #expect(outcome.status == 0, "mpirun -np \(ranks) exited with \(outcome.status):\n\(outcome.output)")
        let lines = outcome.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("comm-check: OK (size \(ranks))"), "\(outcome.output)")
        for rank in 0..<ranks {
            #expect(lines.contains { $0.hasPrefix("rank \(rank)/\(ranks) on ") && $0.hasSuffix(" checks passed") },
                    "no passing line for rank \(rank):\n\(outcome.output)")
        }
    }

    /// One failing rank must fail the job and be named, while the others still report.
    @Test func aFailureOnOneRankFailsTheJobAndNamesIt() async throws {
        let outcome = try await runCommCheck(ranks: 3, extraArguments: ["--fail-on-rank", "1"])
        #expect(!outcome.timedOut, "\(outcome.output)")
        #expect(outcome.status != 0, "\(outcome.output)")
        let lines = outcome.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("comm-check: FAILED on ranks 1 (size 3)"), "\(outcome.output)")
        #expect(lines.contains { $0.hasPrefix("rank 1/3 on ") && $0.contains("FAILED 1 of") }, "\(outcome.output)")
        #expect(lines.contains { $0.hasPrefix("rank 2/3 on ") && $0.hasSuffix(" checks passed") }, "\(outcome.output)")
    }

    private func runCommCheck(ranks: Int, extraArguments: [String] = []) async throws -> ProcessRunner.Outcome {
        let environment = childEnvironment()
        let mpirun = try #require(ProcessRunner.onPath("mpirun", environment: environment),
                                  "mpirun not on PATH: install openmpi-bin")
        let commCheck = try #require(Self.commCheckExecutable(),
                                     "xmoe-comm-check not found beside the test bundle; build it with `swift build`")
        return try await ProcessRunner.run(
            mpirun,
            ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
             // Oversubscribed ranks busy-poll; yielding keeps 4 ranks on 2 cores from crawling.
             "--mca", "mpi_yield_when_idle", "1",
             "-np", "\(ranks)", commCheck.path] + extraArguments,
            environment: environment, timeoutSeconds: 120)
    }

    private func childEnvironment() -> [String: String] {
        // This process may already be an MPI singleton, whose job variables would confuse mpirun.
        var environment = ChildLaunchEnvironment.cleaned(ProcessInfo.processInfo.environment)
        environment["OPENBLAS_NUM_THREADS"] = "1"
        return environment
    }

    /// SwiftPM puts every product of a build in one directory: the one holding the test runner
    /// (`xmoePackageTests.xctest` is an executable on Linux, a bundle on macOS).
    static func commCheckExecutable() -> URL? {
        var directories: [URL] = []
        if let override = ProcessInfo.processInfo.environment["XMOE_COMM_CHECK"] {
            return URL(fileURLWithPath: override)
        }
        if let runner = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            directories.append(runner.deletingLastPathComponent())
        }
        directories += Bundle.allBundles.map(\.bundleURL).filter { $0.pathExtension == "xctest" }
            .map { $0.deletingLastPathComponent() }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        directories.append(packageRoot.appendingPathComponent(".build/debug"))
        return directories.map { $0.appendingPathComponent("xmoe-comm-check") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
