import Foundation
import Testing

/// `xmoe-gpu-check --step-benchmark` on a machine without a GPU (`--tiny --cpu-only`): the FLOP count
/// is the X-MoE formula (computed here independently), the result line has every figure, and the
/// profile's categories plus host/other add up to the profiled step's wall time.
@Suite struct StepBenchmarkBinaryTests {
    /// key=value fields of the first output line starting with `prefix`.
    func fields(_ output: String, _ prefix: String) -> [[String: String]] {
        output.split(separator: "\n").filter { $0.hasPrefix(prefix + " ") }.map { line in
            var out: [String: String] = [:]
            for part in line.dropFirst(prefix.count + 1).split(separator: " ") {
                let kv = part.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { out[String(kv[0])] = String(kv[1]) }
            }
            return out
        }
    }

    @Test func tinyDroplessStepReportsTheFormulaAndAProfileThatAddsUp() throws {
        let (l, b, s) = (2, 2, 32)
        let result = try GPUCheckBinaryTests().run(["--step-benchmark", "--tiny", "--cpu-only", "--layers", "\(l)", "--micro-batch", "\(b)",
                                                    "--seq", "\(s)", "--steps", "1", "--profile", "--ceiling", "100"])
        #expect(result.status == 0, "\(result.output)\(result.error)")
        // hidden 64, expert width 32, top-2, vocabulary 512 (the --tiny model)
        let (h, f, k, v) = (64.0, 32.0, 2.0, 512.0)
        let (ld, bd, sd) = (Double(l), Double(b), Double(s))
        let flops = 6 * (bd * ld * 4 * h * h * sd + bd * ld * 2 * h * sd * sd + bd * ld * 2 * f * h * sd * k + bd * v * h * sd)
        let flopsLine = "flops/step: \(Int(flops)) (X-MoE formula)"
        #expect(result.output.contains(flopsLine), "\(result.output)")

        let results = fields(result.output, "RESULT")
        #expect(results.count == 1)
        let r = results.first ?? [:]
        #expect(r["name"] == "xmoe_fp32_dropless")
        let ms = Double(r["ms_per_step"] ?? "") ?? -1, tokens = Double(r["tokens_per_s"] ?? "") ?? -1
        let tflops = Double(r["tflops"] ?? "") ?? -1
        #expect(ms > 0)
        // tokens/s and TFLOP/s follow from ms/step (to the printed rounding).
        let tokensFromMs = Double(b * s) / (ms / 1e3), tflopsFromMs = flops / (ms / 1e3) / 1e12
        let relative = 0.05 / ms + 0.001  // ms/step is printed to 0.1 ms
        #expect(abs(tokens - tokensFromMs) <= relative * tokensFromMs + 1)
        #expect(abs(tflops - tflopsFromMs) <= relative * tflopsFromMs + 0.01)
        #expect(r["peak_gib"] == "n/a")  // the CPU backend has no device allocator

        let profile = fields(result.output, "PROFILE")
        let names = profile.compactMap { $0["category"] }
        #expect(names == ["gemm", "grouped_gemm", "attention", "route/permute", "norms+act+elementwise", "loss", "optimizer", "memory",
                          "host/other"])
        let wallLine = result.output.split(separator: "\n").first { $0.hasPrefix("profile: one step") }.map(String.init) ?? ""
        let wall = Double(wallLine.split(separator: ":").last?.split(separator: " ").first ?? "") ?? -1
        let sum = profile.compactMap { Double($0["ms"] ?? "") }.reduce(0, +)
        #expect(abs(sum - wall) <= 0.1 + 0.001 * wall, "categories add to \(sum) ms, the step took \(wall) ms")
        let calls = Dictionary(uniqueKeysWithValues: profile.map { ($0["category"] ?? "", Int($0["calls"] ?? "") ?? -1) })
        for busy in ["gemm", "grouped_gemm", "attention", "route/permute", "norms+act+elementwise", "loss", "optimizer"] {
            #expect((calls[busy] ?? 0) > 0, "no calls in \(busy)")
        }
    }

    @Test func capacityAndBF16NameTheRunAndBF16TracksFP32() throws {
        let capacity = try GPUCheckBinaryTests().run(["--step-benchmark", "--tiny", "--cpu-only", "--layers", "1", "--micro-batch", "1",
                                                      "--seq", "16", "--steps", "1", "--capacity", "1.25"])
        #expect(capacity.status == 0, "\(capacity.output)\(capacity.error)")
        let name = fields(capacity.output, "RESULT").first?["name"]
        #expect(name == "xmoe_fp32_capacity_1.25")
        // bf16 compute (bf16 GEMM operands, fp32 masters) trains the same model: its first loss is the
        // fp32 run's to bf16 rounding, and not bit-equal to it (the operands really are rounded).
        let shape = ["--step-benchmark", "--tiny", "--cpu-only", "--layers", "1", "--micro-batch", "1", "--seq", "16", "--steps", "1"]
        let fp32 = try GPUCheckBinaryTests().run(shape)
        let bf16 = try GPUCheckBinaryTests().run(shape + ["--compute", "bf16"])
        #expect(bf16.status == 0, "\(bf16.output)\(bf16.error)")
        let bf16Name = fields(bf16.output, "RESULT").first?["name"]
        #expect(bf16Name == "xmoe_bf16_dropless")
        func firstLoss(_ output: String) -> Double {
            let line = output.split(separator: "\n").first { $0.hasPrefix("step 1 ") } ?? ""
            let text = line.components(separatedBy: "loss ").last?.split(separator: ",").first ?? ""
            return Double(text) ?? .nan
        }
        let (lossFP32, lossBF16) = (firstLoss(fp32.output), firstLoss(bf16.output))
        let gap = abs(lossBF16 - lossFP32) / lossFP32
        #expect(gap < 1e-2, "fp32 \(lossFP32), bf16 \(lossBF16)")
        #expect(lossBF16 != lossFP32, "bf16 compute gave the fp32 loss \(lossFP32) exactly")
        let bad = try GPUCheckBinaryTests().run(["--step-benchmark", "--layers", "zero"])
        #expect(bad.status == 2)
        #expect(bad.error.contains("--layers needs a whole number"))
    }
}
