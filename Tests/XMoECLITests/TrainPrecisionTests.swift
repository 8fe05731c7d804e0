import Foundation
import Testing

/// `train.precision`: bf16 on the CPU (the CPU backend emulating the GPU's bf16 numerics: bf16 GEMM
/// operands, fp32 accumulation and masters) trains the tiny model to a loss curve close to the fp32
/// run's but not equal to it; `auto` on the CPU is fp32, bit for bit; changing the precision continues
/// a run from its checkpoint (fp32 masters); a bad value is refused at the key.
@Suite(.serialized) struct TrainPrecisionTests {
    static let iters = 8

    /// The per-step loss curve of a fresh tiny run with `overrides`.
    func losses(_ overrides: [String]) throws -> (curve: [Double], plan: String) {
        let f = try RunFixture(iters: Self.iters, saveInterval: Self.iters)
        defer { f.dir.cleanup() }
        let plan = try f.plan(overrides)
        try f.train(overrides)
        return (try f.series("/train/loss").compactMap(Double.init), plan)
    }

    /// bf16 within 1e-3 (relative, every step) of the fp32 run — the independent reference — and not
    /// equal to it, so the key really changes the compute. bf16's 8-bit mantissa perturbs each GEMM
    /// operand by up to 0.4%; on this tiny model (hidden 16, loss about 10.8, dominated by the 50k-way
    /// softmax) the rounding errors average out and the curves differ by 1e-6 to 5e-5 relative
    /// (measured), so 1e-3 leaves a 20× margin while still catching a wrong dtype or a broken cast.
    @Test func bf16OnTheCPUTrainsCloseToFP32() throws {
        let fp32 = try losses([])
        let bf16 = try losses(["train.precision=bf16"])
        #expect(fp32.plan.contains("device cpu, precision fp32 (train.precision auto)"), "\(fp32.plan)")
        #expect(bf16.plan.contains("device cpu, precision bf16 (train.precision bf16)"), "\(bf16.plan)")
        #expect(fp32.curve.count == Self.iters && bf16.curve.count == Self.iters)
        let relative = zip(fp32.curve, bf16.curve).map { abs($0 - $1) / abs($0) }
        let worst = relative.max() ?? .infinity
        print("bf16 vs fp32 loss, relative difference per step: \(relative)")
        #expect(worst <= 1e-3, "fp32 \(fp32.curve)\nbf16 \(bf16.curve)")
        let differs = fp32.curve != bf16.curve
        #expect(differs, "bf16 gave fp32's losses bit for bit: the key did not reach the backend")
        let trained = bf16.curve.last! < bf16.curve.first!
        #expect(trained, "bf16 did not train: \(bf16.curve)")
    }

    /// `auto` on the CPU is exactly fp32: the same losses bit for bit as `fp32`.
    @Test func autoOnTheCPUIsFP32BitForBit() throws {
        let auto = try losses([])
        let fp32 = try losses(["train.precision=fp32"])
        #expect(auto.curve == fp32.curve)
    }

    /// 3 steps in fp32, then bf16 to step 5: the plan and the run say the run continues (naming the
    /// key), the first 3 losses stay, and steps 4–5 are within 1e-3 of the pure fp32 run's.
    @Test func changingThePrecisionContinuesTheRun() throws {
        let f = try RunFixture(iters: 3, saveInterval: 3)
        defer { f.dir.cleanup() }
        try f.train()
        let loss3 = try f.series("/train/loss")
        let plan = try f.plan(["train.iters=5", "train.precision=bf16"])
        #expect(plan.contains("continues from step 3 (train.iters 3 → 5, train.precision \"auto\" → \"bf16\")"), "\(plan)")
        let run = try f.train(["train.iters=5", "train.precision=bf16"])
        #expect(run.stdout.contains("train: ran — continues from step 3"), "\(run.stdout)")
        // The GPU allocator's peak is a cuda run's closing line only.
        let gpuLine = (run.stdout + run.stderr).contains("GPU memory")
        #expect(!gpuLine, "\(run.stdout)\n\(run.stderr)")
        let archived = FileManager.default.fileExists(atPath: f.run.appendingPathComponent("archive").path)
        #expect(!archived, "a precision change must not start a new run")
        let loss5 = try f.series("/train/loss")
        #expect(loss5.count == 5)
        #expect(Array(loss5.prefix(3)) == loss3)

        let g = try RunFixture(iters: 5, saveInterval: 5)
        defer { g.dir.cleanup() }
        try g.train()
        let reference = try g.series("/train/loss").compactMap(Double.init)
        let continued = loss5.compactMap(Double.init)
        for step in 3..<5 {
            let relative = abs(continued[step] - reference[step]) / abs(reference[step])
            #expect(relative <= 1e-3, "step \(step + 1): continued in bf16 \(continued[step]), fp32 \(reference[step])")
        }
    }

    @Test func badValuesAreRefusedAtTheKey() throws {
        let f = try RunFixture(iters: 2, saveInterval: 2)
        defer { f.dir.cleanup() }
        for command in ["plan", "run"] {
            let result = try f.xmoe([command, "exp.yaml", "train.precision=fp16"])
            #expect(result.status == 2, "\(command): \(result.stdout)\n\(result.stderr)")
            let located = result.stderr.contains("command line: override #1 'train.precision=fp16': error: train.precision")
            #expect(located, "\(command): \(result.stderr)")
            let namesChoices = result.stderr.contains("auto") && result.stderr.contains("bf16")
            #expect(namesChoices, "\(command): \(result.stderr)")
            let wroteSomething = FileManager.default.fileExists(atPath: f.dir.url.appendingPathComponent("runs").path)
            #expect(!wroteSomething, "\(command) wrote runs/")
        }
    }
}
