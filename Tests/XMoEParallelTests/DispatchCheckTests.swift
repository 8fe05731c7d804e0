import Foundation
import Testing
import XMoEParallel

/// Launches the real `mpirun` on the built `xmoe-dispatch-check`: on every rank, padded and pft
/// against the local dispatcher run on each EP member's batch (losses to 1e-5, every gradient to
/// 1e-5 of its parameter's largest element, bytes exactly), on balanced and adversarial routing.
@Suite(.serialized) struct DispatchCheckTests {
    @Test(arguments: [(ranks: 2, ep: 2, ranksPerNode: 2), (ranks: 4, ep: 4, ranksPerNode: 2), (ranks: 4, ep: 2, ranksPerNode: 2)])
    func dispatchersAgreeWithTheLocalReference(layout: (ranks: Int, ep: Int, ranksPerNode: Int)) async throws {
        let outcome = try await Self.run(ranks: layout.ranks, ["--ep", "\(layout.ep)", "--ranks-per-node", "\(layout.ranksPerNode)"])
        #expect(!outcome.timedOut, "mpirun -np \(layout.ranks) did not finish within 120 s:\n\(outcome.output)")
        #expect(outcome.status == 0, "exit \(outcome.status):\n\(outcome.output)")
        let lines = outcome.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("dispatch-check: OK (size \(layout.ranks), ep \(layout.ep))"), "\(outcome.output)")
        for rank in 0..<layout.ranks {
            #expect(lines.contains { $0.hasPrefix("rank \(rank)/\(layout.ranks): ") && $0.contains(" checks passed") },
                    "no passing line for rank \(rank):\n\(outcome.output)")
        }
    }

    static func run(ranks: Int, _ arguments: [String]) async throws -> ProcessRunner.Outcome {
        var environment = ChildLaunchEnvironment.cleaned(ProcessInfo.processInfo.environment)
        environment["OPENBLAS_NUM_THREADS"] = "1"
        let mpirun = try #require(ProcessRunner.onPath("mpirun", environment: environment), "mpirun not on PATH: install openmpi-bin")
        let check = try #require(builtExecutable("xmoe-dispatch-check"), "xmoe-dispatch-check not built; run `swift build`")
        return try await ProcessRunner.run(
            mpirun,
            ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1",
             "-np", "\(ranks)", check.path] + arguments,
            environment: environment, timeoutSeconds: 120)
    }

    /// A product of this build, found beside the test runner (see MPIRunTests.commCheckExecutable).
    static func builtExecutable(_ name: String) -> URL? {
        var directories: [URL] = []
        if let runner = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            directories.append(runner.deletingLastPathComponent())
        }
        directories += Bundle.allBundles.map(\.bundleURL).filter { $0.pathExtension == "xctest" }.map { $0.deletingLastPathComponent() }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        directories.append(packageRoot.appendingPathComponent(".build/debug"))
        return directories.map { $0.appendingPathComponent(name) }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
