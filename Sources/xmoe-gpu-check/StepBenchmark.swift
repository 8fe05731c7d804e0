import Dispatch
import Foundation
import XMoECompute
import XMoEComputeCUDA
import XMoEModel

let stepBenchmarkUsage = """
    usage: xmoe-gpu-check --step-benchmark [--layers N] [--micro-batch N] [--seq N] [--capacity C]
                          [--profile] [--steps N] [--ceiling TFLOPS] [--compute fp32|bf16] [--tiny] [--cpu-only]
      Trains the X-MoE Small model (hidden 2048, 16 heads, 64 GELU experts of width 1408 with
      biases, top-6, softmax→top-k, LayerNorm, tied embeddings, vocabulary 50304) on the CUDA
      backend with AdamW and prints ms/step, tokens/s, TFLOP/s by the X-MoE formula
      (6·(B·L·4·h²·s + B·L·2·h·s² + B·L·2·f·h·s·k + B·V·h·s) per step), MFU against --ceiling,
      and the allocator's peak memory. Two warm-up steps (the allocator's cache fills), then
      --steps timed steps (default 3).
      --layers N        layers (default 4)       --micro-batch N   sequences per step (default 4)
      --seq N           sequence length (2048)   --capacity C      capacity factor (default: dropless)
      --profile         then one more step with every op synchronised and timed by category
      --ceiling T       the measured bf16 GEMM ceiling in TFLOP/s, for MFU
      --compute fp32|bf16  the compute precision (bf16: bf16 GEMM operands, fp32 masters and accumulation)
      --tiny            a tiny model of the same family (hidden 64, 4 heads, 8 experts of 32,
                        top-2, vocabulary 512): checks the mode itself, e.g. with --cpu-only
      --cpu-only        the CPU backend instead of CUDA
    """

/// The options of `--step-benchmark`.
struct StepBenchmarkOptions {
    var layers = 4
    var microBatch = 4
    var seq = 2048
    var capacity: Double?
    var profile = false
    var steps = 3
    var ceiling: Double?
    var compute = "fp32"
    var tiny = false
    var cpuOnly = false
    var seed: UInt64 = 1

    /// Parses the arguments after the program name; returns an error message for the user.
    static func parse(_ arguments: [String]) -> Result<StepBenchmarkOptions, StepBenchmarkError> {
        var o = StepBenchmarkOptions()
        var rest = arguments[...]
        func int(_ name: String, min: Int = 1) throws -> Int {
            guard let text = rest.popFirst(), let v = Int(text), v >= min else {
                throw StepBenchmarkError("\(name) needs a whole number ≥ \(min)")
            }
            return v
        }
        func double(_ name: String) throws -> Double {
            guard let text = rest.popFirst(), let v = Double(text), v > 0 else { throw StepBenchmarkError("\(name) needs a positive number") }
            return v
        }
        do {
            while let a = rest.popFirst() {
                switch a {
                case "--step-benchmark": break
                case "--layers": o.layers = try int(a)
                case "--micro-batch": o.microBatch = try int(a)
                case "--seq": o.seq = try int(a)
                case "--steps": o.steps = try int(a)
                case "--capacity": o.capacity = try double(a)
                case "--ceiling": o.ceiling = try double(a)
                case "--profile": o.profile = true
                case "--tiny": o.tiny = true
                case "--cpu-only": o.cpuOnly = true
                case "--seed": o.seed = try UInt64(int(a, min: 0))
                case "--compute":
                    guard let v = rest.popFirst(), v == "fp32" || v == "bf16" else { throw StepBenchmarkError("--compute takes fp32 or bf16") }
                    o.compute = v
                case "-h", "--help": throw StepBenchmarkError("")
                default: throw StepBenchmarkError("unknown argument '\(a)'")
                }
            }
        } catch let error as StepBenchmarkError {
            return .failure(error)
        } catch {
            return .failure(StepBenchmarkError("\(error)"))
        }
        return .success(o)
    }

    var config: ModelConfig {
        if tiny {
            return ModelConfig(layers: layers, hidden: 64, heads: 4, ffnHidden: 32, seqLength: seq, vocabSize: 500, paddedVocab: 512,
                               firstDenseLayers: 0, norm: .layerNorm, activation: .gelu, linearBias: true, tiedEmbeddings: true,
                               numExperts: 8, topK: 2, expertFFNHidden: 32, expertActivation: .gelu, expertBias: true,
                               numSharedExperts: 0, sharedExpertFFNHidden: 0)
        }
        // X-MoE Small (configs/presets/xmoe-paper.yaml; xmoe-internals.md §1): every layer MoE,
        // so ffnHidden (the dense FFN's width) is unused.
        return ModelConfig(layers: layers, hidden: 2048, heads: 16, ffnHidden: 1408, seqLength: seq, vocabSize: 50257,
                           paddedVocab: 50304, firstDenseLayers: 0, norm: .layerNorm, activation: .gelu, linearBias: true,
                           tiedEmbeddings: true, numExperts: 64, topK: 6, expertFFNHidden: 1408, expertActivation: .gelu,
                           expertBias: true, numSharedExperts: 0, sharedExpertFFNHidden: 0)
    }

    var moeOptions: MoEOptions {
        MoEOptions(gating: .softmaxTopK, capacity: capacity.map { CapacityRule(capacityFactor: $0, minCapacity: 4) } ?? .dropless,
                   auxLossCoeff: 0.01, initStd: 0.014, seed: 1234)
    }

    var name: String { "xmoe \(compute) \(capacity.map { "capacity \($0)" } ?? "dropless")" }
}

struct StepBenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}

/// FLOPs of one training step by the X-MoE fork's formula (xmoe-internals.md §10): forward MACs
/// B·L·4·h²·s + B·L·2·h·s² + B·L·2·f·h·s·k + B·V·h·s (full s², gate not counted), times 2 · 3.
func xmoeStepFlops(_ c: ModelConfig, microBatch b: Int, seq s: Int) -> Double {
    let (l, h, f, k, v) = (Double(c.layers), Double(c.hidden), Double(c.expertFFNHidden), Double(c.topK), Double(c.paddedVocab))
    let (bd, sd) = (Double(b), Double(s))
    let macs = bd * l * 4 * h * h * sd + bd * l * 2 * h * sd * sd + bd * l * 2 * f * h * sd * k + bd * v * h * sd
    return 6 * macs
}

/// Runs the step benchmark; returns the exit status.
func runStepBenchmark(_ arguments: [String], say: (String) -> Void) -> Int32 {
    let o: StepBenchmarkOptions
    switch StepBenchmarkOptions.parse(arguments) {
    case .success(let parsed): o = parsed
    case .failure(let error):
        FileHandle.standardError.write(Data(((error.description.isEmpty ? "" : "xmoe-gpu-check: \(error)\n") + stepBenchmarkUsage + "\n").utf8))
        return error.description.isEmpty ? 0 : 2
    }
    let computeDType: DType = o.compute == "bf16" ? .bfloat16 : .float32
    let cuda: CUDABackend?
    do {
        cuda = o.cpuOnly ? nil : try CUDABackend(computeDType: computeDType)
    } catch {
        FileHandle.standardError.write(Data("xmoe-gpu-check: \(error)\n".utf8))
        return 2
    }
    let inner: Backend = cuda ?? CPUBackend(threads: max(1, ProcessInfo.processInfo.activeProcessorCount), computeDType: computeDType)
    let sync: () -> Void = { cuda?.synchronize() }
    let backend = ProfilingBackend(inner: inner, synchronize: sync)
    backend.enabled = false
    let config = o.config
    let clock = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    let started = clock()
    let model = MoETransformer(config: config, options: o.moeOptions, backend: backend)
    let groups = model.parameters.groups
    let moments = groups.map { (backend.makeTensor([$0.count]), backend.makeTensor([$0.count])) }
    sync()
    let parameterCount = groups.reduce(0) { $0 + $1.count }
    say("step-benchmark: \(o.name), \(config.layers) layers, micro-batch \(o.microBatch), seq \(o.seq); hidden \(config.hidden), "
        + "\(config.heads) heads, \(config.numExperts) experts × \(config.expertFFNHidden), top-\(config.topK), vocabulary \(config.paddedVocab); "
        + "\(o.cpuOnly ? "CPU backend" : "CUDA backend (\(cuda!.arch))")")
    say("parameters: \(parameterCount) (\(fixed(Double(parameterCount) * 4 / Double(1 << 30))) GiB each of values, gradients, m, v "
        + "in fp32); built in \(fixed(clock() - started, 1)) s")

    var random = CheckRandom(seed: o.seed)
    let t = o.microBatch * o.seq
    let tokens = random.ints(t, below: config.vocabSize), targets = random.ints(t, below: config.vocabSize)
    var stepNumber = 0
    func step() throws -> Float {
        stepNumber += 1
        model.zeroGrads()
        let loss = try model.forward(tokens: tokens, targets: targets, seqLen: o.seq)
        try model.backward()
        model.parameters.settleGradients()
        for (group, (m, v)) in zip(groups, moments) {
            for run in group.decayRuns(in: 0..<group.count) {
                let (offset, shape) = (run.elements.lowerBound, [run.elements.count])
                backend.adamwUpdate(param: group.value.view(offset: offset, shape: shape),
                                    grad: group.grad.view(offset: offset, shape: shape),
                                    m: m.view(offset: offset, shape: shape), v: v.view(offset: offset, shape: shape),
                                    step: stepNumber, lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: run.decay ? 0.1 : 0,
                                    computeCopy: group.compute?.view(offset: offset, shape: shape))
            }
        }
        sync()
        return loss.total
    }

    let flops = xmoeStepFlops(config, microBatch: o.microBatch, seq: o.seq)
    say("flops/step: \(fixed(flops, 0)) (X-MoE formula)")
    var timed: [Double] = []
    do {
        for i in 1...(2 + o.steps) {
            let start = clock()
            let waitsBefore = cuda?.hostWaits
            let loss = try step()
            let seconds = clock() - start
            if i > 2 { timed.append(seconds) }
            if let before = waitsBefore, let after = cuda?.hostWaits {
                // Host busy = wall − waiting: near the wall time, the step is bound by submission.
                let waited = after.seconds - before.seconds
                say("step \(i) host: \(after.count - before.count) waits for the GPU, \(fixed(waited * 1e3, 1)) ms waiting, "
                    + "\(fixed((seconds - waited) * 1e3, 1)) ms submitting")
            }
            let mallocs = cuda.map { ", cudaMalloc calls so far \($0.allocatorBook.systemAllocations), "
                + "expert GEMM heuristic queries \($0.expertGemmHeuristicQueries)" } ?? ""
            say("step \(i)\(i <= 2 ? " (warm-up)" : ""): loss \(fixed(Double(loss), 5)), \(fixed(seconds * 1e3, 1)) ms\(mallocs)")
        }
    } catch {
        say("FAIL step-benchmark: \(error)")
        return 1
    }
    let seconds = timed.sorted()[timed.count / 2]
    let tflops = flops / seconds / 1e12
    let mfu = o.ceiling.map { fixed(100 * tflops / $0, 1) + "%" } ?? "n/a"
    let book = cuda?.allocatorBook
    let peak = book.map { fixed(Double($0.peakBytesInUse) / Double(1 << 30)) } ?? "n/a"
    let reserved = book.map { fixed(Double($0.bytesInUse + $0.bytesCached) / Double(1 << 30)) } ?? "n/a"
    say("RESULT name=\(o.name.replacingOccurrences(of: " ", with: "_")) ms_per_step=\(fixed(seconds * 1e3, 1)) "
        + "tokens_per_s=\(fixed(Double(t) / seconds, 0)) tflops=\(fixed(tflops)) mfu=\(mfu) peak_gib=\(peak) reserved_gib=\(reserved)")

    if o.profile {
        backend.reset()
        backend.enabled = true
        backend.loggedMethods = ["groupedGemm", "groupedGemmWeightGrad"]
        let start = clock()
        do { _ = try step() } catch {
            say("FAIL step-benchmark (profiled step): \(error)")
            return 1
        }
        let wall = clock() - start
        backend.enabled = false
        let parts = backend.seconds
        let other = wall - parts.values.reduce(0, +)
        say("profile: one step with every op synchronised: \(fixed(wall * 1e3, 1)) ms (unprofiled median \(fixed(seconds * 1e3, 1)) ms)")
        for category in OpCategory.allCases {
            let s = parts[category] ?? 0
            let submit = Double(backend.submitNanoseconds[category] ?? 0) / 1e9
            say("PROFILE category=\(category.rawValue.replacingOccurrences(of: " ", with: "_")) ms=\(fixed(s * 1e3)) "
                + "share=\(fixed(100 * s / wall, 1))% calls=\(backend.calls[category] ?? 0) host_submit_ms=\(fixed(submit * 1e3))")
        }
        say("PROFILE category=host/other ms=\(fixed(other * 1e3)) share=\(fixed(100 * other / wall, 1))% calls=0")
        // The methods that take the most time, and every expert GEMM call in order (forward: w_in,
        // w_out per layer; backward: w_out's dX and dW, then w_in's, per layer from the last).
        for (method, ns) in backend.methodNanoseconds.sorted(by: { $0.value > $1.value }) {
            say("METHOD \(method) ms=\(fixed(Double(ns) / 1e6)) calls=\(backend.methodCalls[method] ?? 0)")
        }
        for (i, entry) in backend.callLog.enumerated() {
            say("CALL \(i) \(entry.method) ms=\(fixed(Double(entry.nanoseconds) / 1e6, 3)) host_submit_ms=\(fixed(Double(entry.submitNanoseconds) / 1e6, 3))")
        }
    }
    return 0
}

/// `value` with `digits` decimals (default 2).
func fixed(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
