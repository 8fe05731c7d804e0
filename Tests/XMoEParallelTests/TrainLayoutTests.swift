import Foundation
import Testing
import XMoEParallel

/// Real `mpirun` runs of `xmoe-train-check`: every layout trains the same tiny model (dropless, aux
/// loss off) on the same global batches, so it must reach the one-rank result up to fp32 rounding;
/// checkpoints convert between layouts bit for bit.
@Suite(.serialized) struct TrainLayoutTests {
    /// Loss and gradient norm per step, relative: the layouts sum the same terms in another order
    /// (micro-batches per rank, then across ranks), so they differ by rounding only (measured
    /// ≤ 5e-8). A wrong data slice, a missing reduction or a wrong scale moves them far more.
    static let lossTolerance = 1e-6
    /// Final parameters and AdamW moments after 10 steps, absolute (weights are O(0.1); measured
    /// ≤ 1.2e-7, a few ulps).
    static let parameterTolerance: Float = 2e-6

    static let layouts: [(name: String, ranks: Int, arguments: [String])] = [
        ("dp 2", 2, ["--dp", "2"]),
        ("dp 4", 4, ["--dp", "4"]),
        ("dp 4, ZeRO-1", 4, ["--dp", "4", "--zero", "1"]),
        ("dp 4, ep 2", 4, ["--dp", "4", "--ep", "2"]),
        ("dp 4, ep 4", 4, ["--dp", "4", "--ep", "4"]),
        // Experts sharded over their expert-dp pairs.
        ("dp 4, ep 2, ZeRO-1", 4, ["--dp", "4", "--ep", "2", "--zero", "1"]),
        ("dp 4, ep 4, padded", 4, ["--dp", "4", "--ep", "4", "--dispatcher", "padded"]),
    ]

    @Test func everyLayoutTrainsTheOneRankModel() async throws {
        let dir = try TrainCheck.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reference = dir.appendingPathComponent("one-rank")
        try await TrainCheck.mpirun(1, ["train", "--dp", "1", "--steps", "10", "--run", reference.path])
        let referenceLosses = try TrainCheck.losses(reference)
        let referenceState = try await TrainCheck.export(reference)
        #expect(referenceLosses.count == 10)
        // The model learns: otherwise agreement would prove little.
        #expect(referenceLosses.last!.loss < referenceLosses.first!.loss - 0.05)
        // Every parameter (n of them: the export holds values, m and v, then 8 expert biases)
        // reduces once per step over a group of g ranks, ring all-reduce 2·(g−1)/g·n·4 bytes per
        // rank (ZeRO-1: reduce-scatter plus all-gather, the same); 2 ranks per node, so dp 2 stays
        // on node 0 and dp 4 crosses nodes.
        let n = (referenceState.count - 8) / 3
        let expectedSyncBytes = ["dp 2": [2 * (2 * 1 * n * 4 / 2), 0], "dp 4": [0, 4 * (2 * 3 * n * 4 / 4)],
                                 "dp 4, ZeRO-1": [0, 4 * (2 * 3 * n * 4 / 4)]]
        #expect(referenceLosses.allSatisfy { $0.syncBytes == [0, 0] })
        for layout in Self.layouts {
            let run = dir.appendingPathComponent(layout.name.replacingOccurrences(of: " ", with: "-"))
            try await TrainCheck.mpirun(layout.ranks, ["train", "--steps", "10", "--run", run.path] + layout.arguments)
            let losses = try TrainCheck.losses(run)
            #expect(losses.count == 10, "\(layout.name)")
            if let expected = expectedSyncBytes[layout.name] {
                #expect(losses.allSatisfy { $0.syncBytes == expected }, "\(layout.name): \(losses.map(\.syncBytes)) vs \(expected)")
            }
            let lossGap = zip(losses, referenceLosses).map { abs($0.loss - $1.loss) / abs($1.loss) }.max() ?? .infinity
            let normGap = zip(losses, referenceLosses).map { abs($0.gradNorm - $1.gradNorm) / abs($1.gradNorm) }.max() ?? .infinity
            let state = try await TrainCheck.export(run)
            #expect(state.count == referenceState.count)
            let stateGap = zip(state, referenceState).map { abs($0 - $1) }.max() ?? .infinity
            print("layout \(layout.name): max relative loss difference \(lossGap), grad norm \(normGap), "
                + "max parameter/moment difference \(stateGap)")
            #expect(lossGap <= Self.lossTolerance, "\(layout.name): losses \(losses) vs \(referenceLosses)")
            #expect(normGap <= Self.lossTolerance, "\(layout.name): grad norms \(losses) vs \(referenceLosses)")
            #expect(stateGap <= Self.parameterTolerance, "\(layout.name)")
        }
    }

    /// sigmoid_bias gating: the selection biases move with the GLOBAL expert loads, so every replica
    /// keeps the one-rank biases (a per-rank update would split them, and the routing with them).
    @Test func expertBiasesFollowGlobalLoads() async throws {
        let dir = try TrainCheck.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let gating = ["--gating", "sigmoid_bias"]
        let reference = dir.appendingPathComponent("one-rank")
        try await TrainCheck.mpirun(1, ["train", "--dp", "1", "--steps", "6", "--run", reference.path] + gating)
        let run = dir.appendingPathComponent("dp4-ep2")
        try await TrainCheck.mpirun(4, ["train", "--dp", "4", "--ep", "2", "--steps", "6", "--run", run.path] + gating)
        let (expected, got) = (try await TrainCheck.export(reference, gating), try await TrainCheck.export(run, gating))
        // The biases are the export's tail: 8 per MoE layer, moved by ±0.01 per step.
        let biases = Array(got.suffix(8)), referenceBiases = Array(expected.suffix(8))
        #expect(biases.contains { $0 != 0 })
        #expect(biases == referenceBiases)
        let losses = try TrainCheck.losses(run), referenceLosses = try TrainCheck.losses(reference)
        let lossGap = zip(losses, referenceLosses).map { abs($0.loss - $1.loss) / abs($1.loss) }.max() ?? .infinity
        let stateGap = zip(got, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(lossGap <= Self.lossTolerance)
        #expect(stateGap <= Self.parameterTolerance)
    }

    /// A run stopped at step 5 and continued to 10 is the uninterrupted run, bit for bit, in the
    /// same layout; continued in another layout it agrees to rounding.
    @Test func aContinuedRunIsTheUninterruptedOne() async throws {
        let dir = try TrainCheck.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let layout = ["--dp", "4", "--ep", "2", "--zero", "1"]
        let whole = dir.appendingPathComponent("whole")
        try await TrainCheck.mpirun(4, ["train", "--steps", "10", "--run", whole.path] + layout)
        let split = dir.appendingPathComponent("split")
        try await TrainCheck.mpirun(4, ["train", "--steps", "5", "--run", split.path] + layout)
        try await TrainCheck.mpirun(4, ["train", "--steps", "10", "--run", split.path] + layout)
        let (wholeLosses, splitLosses) = (try TrainCheck.losses(whole), try TrainCheck.losses(split))
        #expect(splitLosses.map(\.step) == Array(6...10))
        #expect(splitLosses.map(\.loss) == Array(wholeLosses.suffix(5)).map(\.loss))
        let (wholeState, splitState) = (try await TrainCheck.export(whole), try await TrainCheck.export(split))
        #expect(splitState.map(\.bitPattern) == wholeState.map(\.bitPattern))

        let moved = dir.appendingPathComponent("moved")
        try await TrainCheck.mpirun(4, ["train", "--steps", "5", "--run", moved.path] + layout)
        try await TrainCheck.mpirun(2, ["train", "--steps", "10", "--run", moved.path, "--dp", "2"])
        let movedLosses = try TrainCheck.losses(moved)
        #expect(movedLosses.map(\.step) == Array(6...10))
        let lossGap = zip(movedLosses, wholeLosses.suffix(5)).map { abs($0.loss - $1.loss) / abs($1.loss) }.max() ?? .infinity
        let stateGap = zip(try await TrainCheck.export(moved), wholeState).map { abs($0 - $1) }.max() ?? .infinity
        #expect(lossGap <= Self.lossTolerance)
        #expect(stateGap <= Self.parameterTolerance)
    }

    /// (dp, ep, zero) = (4, 4, 1) → (2, 2, 0) → (1, 1, 0) → (4, 4, 1): parameters and moments stay
    /// identical bit for bit at every stage.
    @Test func checkpointsConvertBetweenLayoutsBitForBit() async throws {
        let dir = try TrainCheck.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trained = dir.appendingPathComponent("trained-4-4-1")
        try await TrainCheck.mpirun(4, ["train", "--dp", "4", "--ep", "4", "--zero", "1", "--steps", "3", "--run", trained.path])
        let original = try await TrainCheck.export(trained)
        var previous = trained
        let stages: [(String, Int, [String])] = [
            ("2-2-0", 2, ["--dp", "2", "--ep", "2"]),
            ("1-1-0", 1, ["--dp", "1"]),
            ("back-4-4-1", 4, ["--dp", "4", "--ep", "4", "--zero", "1"]),
        ]
        for (name, ranks, arguments) in stages {
            let run = dir.appendingPathComponent(name)
            try await TrainCheck.mpirun(ranks, ["convert", "--from", previous.path, "--run", run.path] + arguments)
            let files = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints/step_000003").path)
            #expect(files.filter { $0.hasPrefix("rank_") }.count == ranks, "\(name): \(files)")
            let state = try await TrainCheck.export(run)
            #expect(state.map(\.bitPattern) == original.map(\.bitPattern), "\(name)")
            previous = run
        }
    }
}

/// Runs `xmoe-train-check` and reads what it wrote.
enum TrainCheck {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("xmoe-layouts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func executable() throws -> URL {
        guard let commCheck = MPIRunTests.commCheckExecutable() else {
            throw Failed(description: "xmoe-comm-check not found beside the test bundle; build with `swift build`")
        }
        return commCheck.deletingLastPathComponent().appendingPathComponent("xmoe-train-check")
    }

    static func environment() -> [String: String] {
        var environment = ChildLaunchEnvironment.cleaned(ProcessInfo.processInfo.environment)
        environment["OPENBLAS_NUM_THREADS"] = "1"
        return environment
    }

    static func mpirun(_ ranks: Int, _ arguments: [String]) async throws {
        let environment = environment()
        guard let mpirun = ProcessRunner.onPath("mpirun", environment: environment) else {
            throw Failed(description: "mpirun not on PATH: install openmpi-bin")
        }
        let outcome = try await ProcessRunner.run(
            mpirun, ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1",
                     "-np", "\(ranks)", try executable().path] + arguments,
            environment: environment, timeoutSeconds: 180)
        guard !outcome.timedOut, outcome.status == 0 else {
            throw Failed(description: "mpirun -np \(ranks) xmoe-train-check \(arguments.joined(separator: " ")) "
                + (outcome.timedOut ? "timed out" : "exited \(outcome.status)") + ":\n\(outcome.output)")
        }
    }

    static func losses(_ run: URL) throws -> [(step: Int, loss: Double, gradNorm: Double, syncBytes: [Int])] {
        let text = try String(contentsOf: run.appendingPathComponent("losses.txt"), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ")
            return (Int(fields[0])!, Double(fields[1])!, Double(fields[2])!, [Int(fields[3])!, Int(fields[4])!])
        }
    }

    /// The run's newest checkpoint read into one rank by the layout-independent loader.
    static func export(_ run: URL, _ extra: [String] = []) async throws -> [Float] {
        let out = run.appendingPathComponent("export.bin")
        let outcome = try await ProcessRunner.run(try executable(), ["export", "--from", run.path, "--out", out.path] + extra,
                                                  environment: environment(), timeoutSeconds: 120)
        guard outcome.status == 0 else { throw Failed(description: "export of \(run.path) failed:\n\(outcome.output)") }
        let data = try Data(contentsOf: out)
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
