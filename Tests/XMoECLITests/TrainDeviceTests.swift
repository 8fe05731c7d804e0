import Foundation
import Testing

/// `train.device`: `cuda` on a machine without a usable GPU is refused by `plan` and `run` before
/// anything runs, located at the key, with the CUDA loader's reason; more than one rank on cuda is
/// refused as an unsupported layout; and a change of device continues a run (checkpoints hold fp32
/// masters, so they load on either backend).
@Suite(.serialized) struct TrainDeviceTests {
    /// This machine has no GPU (CI neither): the refusal is real, not simulated.
    static var machineHasNoGPU: Bool { !FileManager.default.fileExists(atPath: "/dev/nvidia0") }

    @Test(.enabled(if: machineHasNoGPU)) func cudaWithoutAGPUIsRefusedBeforeAnythingRuns() throws {
        let f = try RunFixture(iters: 2, saveInterval: 2)
        defer { f.dir.cleanup() }
        for command in ["plan", "run"] {
            let result = try f.xmoe([command, "exp.yaml", "train.device=cuda"])
            #expect(result.status == 2, "\(command): \(result.stdout)\n\(result.stderr)")
            let located = result.stderr.contains("command line: override #1 'train.device=cuda': error: train.device: cuda cannot run on this machine")
            #expect(located, "\(command): \(result.stderr)")
            // The loader's own words: the library it could not open, or that there is no device.
            let loaderReason = result.stderr.contains("CUDA backend: cannot load lib") || result.stderr.contains("CUDA backend: no usable GPU")
                || result.stderr.contains("cudaGetDeviceCount")
            #expect(loaderReason, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("train.device=cpu"), "\(command): \(result.stderr)")
            let wroteSomething = FileManager.default.fileExists(atPath: f.dir.url.appendingPathComponent("runs").path)
            #expect(!wroteSomething, "\(command) wrote runs/")
        }
        // The same spec on the CPU is fine: only the device was refused.
        let cpu = try f.xmoe(["plan", "--brief", "exp.yaml", "train.device=cpu"])
        #expect(cpu.status == 0, "\(cpu.stderr)")
    }

    /// Multi-GPU needs NCCL: refused as a layout this version cannot run, at train.device, on any machine.
    @Test func cudaWithMoreThanOneRankIsAnUnsupportedLayout() throws {
        let f = try RunFixture(iters: 2, saveInterval: 2)
        defer { f.dir.cleanup() }
        let result = try f.xmoe(["plan", "exp.yaml", "train.device=cuda", "parallel.dp=2"])
        #expect(result.status == 2, "\(result.stdout)\n\(result.stderr)")
        let located = result.stderr.contains("command line: override #1 'train.device=cuda': error: train.device: train.device = cuda runs on one rank")
        #expect(located, "\(result.stderr)")
        #expect(result.stderr.contains("NCCL"), "\(result.stderr)")
        let written = FileManager.default.fileExists(atPath: f.dir.url.appendingPathComponent("runs").path)
        #expect(!written)
    }

    /// A run whose records say it trained on cuda (as a GPU machine writes them: identity.json and the
    /// train step's record hold the device among the train inputs) continues on the CPU from its
    /// checkpoint, keeping its metrics, rather than starting over.
    @Test func changingTheDeviceContinuesTheRun() throws {
        let f = try RunFixture(iters: 3, saveInterval: 3)
        defer { f.dir.cleanup() }
        try f.train()
        let loss3 = try f.series("/train/loss")
        #expect(loss3.count == 3)
        try rewriteTrainInputs(in: f.run, device: "cuda")

        let plan = try f.plan(["train.iters=5"])
        #expect(plan.contains("continues from step 3 (train.device \"cuda\" → \"cpu\", train.iters 3 → 5)"), "\(plan)")
        let run = try f.train(["train.iters=5"])
        #expect(run.stdout.contains("train: ran — continues from step 3"), "\(run.stdout)")
        let archived = FileManager.default.fileExists(atPath: f.run.appendingPathComponent("archive").path)
        #expect(!archived, "a device change must not start a new run")
        let loss5 = try f.series("/train/loss")
        #expect(loss5.count == 5)
        #expect(Array(loss5.prefix(3)) == loss3)
    }

    /// Sets `train.device` among the train inputs of identity.json and steps/train.json; the record's
    /// key (the hash of its inputs) no longer matches this spec's, as on a GPU-trained run.
    private func rewriteTrainInputs(in run: URL, device: String) throws {
        for file in ["identity.json", "steps/train.json"] {
            let url = run.appendingPathComponent(file)
            var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            var inputs = try #require(object["inputs"] as? [String: String], "\(file) has no inputs")
            #expect(inputs["train.device"] == "\"cpu\"" || inputs["train.device"] == "cpu", "\(file): \(inputs["train.device"] ?? "none")")
            let quoted = inputs["train.device"]?.hasPrefix("\"") ?? false
            inputs["train.device"] = quoted ? "\"\(device)\"" : device
            object["inputs"] = inputs
            if file.hasPrefix("steps/") { object["key"] = "trained-on-\(device)" }
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
        }
    }
}
