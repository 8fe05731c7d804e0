// xmoe-train-check: trains one tiny model under any layout (run it under `mpirun -np dp`), converts
// checkpoints between layouts, and exports a checkpoint through the layout-independent loader, so
// tests can check that every layout trains the same model.
import Foundation
import XMoECompute
import XMoEModel
import XMoEParallel
import XMoETrain

let usage = """
    usage: mpirun -np DP xmoe-train-check train   --dp DP [--ep EP] [--zero 0|1] [--dispatcher KIND]
                                                 [--gating softmax_topk|sigmoid_bias] --steps N --run DIR
           mpirun -np DP xmoe-train-check convert --dp DP [--ep EP] [--zero 0|1] --from DIR --run DIR
                         xmoe-train-check export  --from DIR --out FILE
      train    trains TinyRun to step N, continuing from DIR's checkpoint if it has one; rank 0 writes
               DIR/losses.txt (step, loss, grad norm, gradient-sync bytes intra- and inter-node summed
               over ranks, per line, for the steps it ran; 2 ranks per node); every rank writes
               its part of the checkpoint at step N under DIR/checkpoints.
      convert  loads the newest checkpoint of --from into this layout and saves it under --run.
      export   loads the newest checkpoint of --from into one rank and writes every parameter, then
               every AdamW moment (m, v per group), then the sigmoid_bias selection biases, as
               little-endian float32 to FILE (pass the --gating the run trained with).
    """

func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("xmoe-train-check: \(message)\n".utf8))
    MPIRuntime.abortJob(exitCode: code)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first, ["train", "convert", "export"].contains(mode) else { fail(usage) }
let options: [String: String] = {
    var options: [String: String] = [:]
    var rest = arguments.dropFirst()
    while let key = rest.popFirst() {
        guard key.hasPrefix("--"), let value = rest.popFirst() else { fail("bad argument '\(key)'\n\(usage)") }
        options[String(key.dropFirst(2))] = value
    }
    return options
}()
@MainActor func int(_ key: String, _ fallback: Int? = nil) -> Int {
    guard let value = options[key].flatMap(Int.init) ?? fallback else { fail("--\(key) needs a whole number\n\(usage)") }
    return value
}
@MainActor func url(_ key: String) -> URL {
    guard let path = options[key] else { fail("--\(key) is required\n\(usage)") }
    return URL(fileURLWithPath: path)
}

/// A model holding this rank's experts, and a trainer over `groups`.
@MainActor func makeTrainer(groups: ProcessGroups, zero: Int, steps: Int, run: URL) throws -> Trainer {
    let backend = CPUBackend(threads: 1)
    let dispatcher = try makeTokenDispatcher(kind: options["dispatcher"] ?? (groups.layout.ep == 1 ? "local" : "pft"),
                                             groups: groups, experts: TinyRun.config.numExperts, backend: backend)
    guard let gating = Gating(rawValue: options["gating"] ?? "softmax_topk") else { fail("unknown --gating\n\(usage)") }
    let model = MoETransformer(config: TinyRun.config, options: TinyRun.options(gating: gating), backend: backend,
                               dispatcher: dispatcher)
    return try Trainer(model: model, settings: TinyRun.settings(steps: steps, gating: gating), trainData: TinyRun.data(),
                       runDirectory: run, specHash: "train-check", groups: groups, zeroStage: zero)
}

do {
    switch mode {
    case "export":
        let trainer = try makeTrainer(groups: ProcessGroups.single(), zero: 0, steps: 0,
                                      run: FileManager.default.temporaryDirectory)
        guard let latest = try CheckpointDirectory(root: url("from").appendingPathComponent("checkpoints")).latest() else {
            fail("\(url("from").path) has no checkpoint", code: 1)
        }
        let state = try CheckpointDirectory.load(from: latest, model: trainer.model, optimizer: trainer.optimizer)
        let backend = trainer.model.backend
        var floats: [Float] = []
        for p in trainer.model.parameters.parameters { floats += backend.downloadFloats(p.value) }
        for t in trainer.optimizer.m + trainer.optimizer.v { floats += backend.downloadFloats(t) }
        for layer in 0..<TinyRun.config.layers { floats += trainer.model.expertBias(layer: layer) }
        let data = floats.withUnsafeBufferPointer { Data(buffer: $0) }
        try data.write(to: url("out"))
        print("exported step \(state.step): \(floats.count) floats")
    default:
        let world = try MPICommunicator.world()
        let layout = try GroupLayout(dp: int("dp"), tp: 1, ep: int("ep", 1), ranksPerNode: int("ranks-per-node", 2))
        let groups = try ProcessGroups(world: world, layout: layout)
        if mode == "train" {
            let trainer = try makeTrainer(groups: groups, zero: int("zero", 0), steps: int("steps"), run: url("run"))
            // A run directory with a checkpoint continues from it (in whatever layout wrote it).
            try trainer.resume()
            var lines: [String] = []
            try trainer.run { report in
                let sync = report.communication.gradSync
                lines.append(String(format: "%d %.9e %.9e %d %d", report.step, report.loss, report.gradNorm,
                                    sync.intraNodeBytes, sync.interNodeBytes))
            }
            if world.rank == 0 {
                try (lines.joined(separator: "\n") + "\n").write(to: url("run").appendingPathComponent("losses.txt"),
                                                                atomically: true, encoding: .utf8)
            }
        } else {
            let trainer = try makeTrainer(groups: groups, zero: int("zero", 0), steps: 0, run: url("run"))
            guard let latest = try CheckpointDirectory(root: url("from").appendingPathComponent("checkpoints")).latest() else {
                fail("\(url("from").path) has no checkpoint", code: 1)
            }
            let state = try CheckpointDirectory.load(from: latest, model: trainer.model, optimizer: trainer.optimizer)
            try trainer.checkpoints.save(model: trainer.model, optimizer: trainer.optimizer, state: state,
                                         specHash: "train-check", keep: 1, world: world)
        }
        try MPIRuntime.finalize()
    }
} catch {
    fail("rank \(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_RANK"] ?? "0"): \(error)", code: 1)
}
