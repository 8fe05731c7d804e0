// xmoe-gpu-check: checks every op of the CUDA backend against the CPU backend on fresh random
// inputs (fp32), then trains a tiny model on both, the way xmoe-comm-check checks collectives.
// Exits 0 when everything passes, 1 on any failure or NaN, 2 when CUDA cannot be loaded.
import Foundation
import XMoECompute
import XMoEComputeCUDA

let usage = """
    usage: xmoe-gpu-check [--seed N] [--only SUBSTRING] [--no-training] [--benchmark]
      Runs every Backend op forward and backward on the GPU and the CPU from the same random
      inputs and prints ‖gpu − cpu‖ / ‖cpu‖ per op against its threshold; each op also runs twice
      on the GPU, and the two results must be bit-identical. Then trains a tiny MoE 20 steps on
      both backends (losses must agree; two GPU runs must be bit-identical).
      --seed N        input seed (default: from the clock; printed, so a failure can be rerun)
      --only TEXT     run only the op checks whose name contains TEXT
      --no-training   skip the training check
      --benchmark     also time a few ops at X-MoE Small sizes
      --expert-gemm   only the experts' bf16 GEMM checks (per-expert cuBLAS, the sm_90a kernel), then
                      their X-MoE Small timings
      --routing-benchmark
                      also time the routing and permutation ops at X-MoE Small sizes (alone:
                      without --benchmark's GEMMs)
      --flash-benchmark
                      time only flash attention (tensor-core bf16 and CUDA-core fp32 kernels) against
                      the materialised op (X-MoE Small shape)
      --cpu-attention-benchmark
                      time the CPU backend's flash and materialised attention (2 threads), then exit
      --cpu-only      run the checks with a second CPU backend in the GPU's place (checks the
                      checker itself on a machine without a GPU)
      --compile-only ARCH
                      only compile the kernels with NVRTC for ARCH (e.g. sm_90); needs libnvrtc, no GPU
      --step-benchmark [options]
                      times training steps of the X-MoE Small model instead (--step-benchmark --help)
    """

// The step benchmark has options of its own (StepBenchmark.swift).
if CommandLine.arguments.contains("--step-benchmark") {
    exit(runStepBenchmark(Array(CommandLine.arguments.dropFirst())) { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) })
}

var seed = UInt64(DispatchTime.now().uptimeNanoseconds % 1_000_000)
var only: String?
var training = true
var benchmark = false
var routingBenchmark = false
var flashBenchmark = false
var cpuOnly = false
var expertGemmOnly = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "-h", "--help": print(usage); exit(0)
    case "--seed":
        guard let text = arguments.popFirst(), let value = UInt64(text) else {
            FileHandle.standardError.write(Data("xmoe-gpu-check: --seed needs a whole number\n\(usage)\n".utf8)); exit(2)
        }
        seed = value
    case "--only":
        guard let text = arguments.popFirst() else {
            FileHandle.standardError.write(Data("xmoe-gpu-check: --only needs a name fragment\n\(usage)\n".utf8)); exit(2)
        }
        only = text
    case "--no-training": training = false
    case "--benchmark": benchmark = true
    case "--routing-benchmark": routingBenchmark = true
    case "--flash-benchmark": flashBenchmark = true
    case "--cpu-attention-benchmark":
        for line in cpuAttentionBenchmark(threads: 2) { print(line) }
        exit(0)
    case "--cpu-only": cpuOnly = true
    case "--expert-gemm": expertGemmOnly = true; training = false; only = "expert gemm"
    case "--compile-only":
        guard let arch = arguments.popFirst() else {
            FileHandle.standardError.write(Data("xmoe-gpu-check: --compile-only needs an architecture such as sm_90\n".utf8)); exit(2)
        }
        do {
            let (bytes, cached) = try CUDABackend.compileKernels(arch: arch)
            print("kernels for \(arch): \(bytes) bytes of cubin\(cached ? " (from the disk cache)" : "")")
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("xmoe-gpu-check: \(error)\n".utf8)); exit(1)
        }
    default:
        FileHandle.standardError.write(Data("xmoe-gpu-check: unknown argument '\(argument)'\n\(usage)\n".utf8)); exit(2)
    }
}

/// Unbuffered, even into a pipe: if a kernel fails and the process stops, every line before it is out.
func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

let started = Date()
let device: Backend
var cuda: CUDABackend?
if cpuOnly {
    device = CPUBackend(threads: 2)
    say("device: a second CPU backend (--cpu-only)")
} else {
    do {
        let gpu = try CUDABackend()
        cuda = gpu
        device = gpu
    } catch {
        FileHandle.standardError.write(Data("xmoe-gpu-check: \(error)\n".utf8))
        exit(2)
    }
}
if let gpu = cuda {
    let compileSeconds = Date().timeIntervalSince(started)
    say("device: \(gpu.arch), \(gpu.multiprocessorCount) SMs; libraries: \(gpu.libraryFiles.joined(separator: ", "))")
    say(String(format: "kernels: %@ in %.2f s; grouped GEMM: %@", gpu.kernelsFromCache ? "cubin from the disk cache" : "compiled by NVRTC",
               compileSeconds, gpu.hasGroupedGemm ? "cublasSgemmGroupedBatched" : "loop of cublasSgemm (cuBLAS < 12.5)"))
}
say("seed: \(seed) (rerun with --seed \(seed))")

let cpu = CPUBackend(threads: max(1, ProcessInfo.processInfo.activeProcessorCount / 2))
var random = CheckRandom(seed: seed)
var runner = CaseRunner(cpu: cpu, gpu: device, seed: seed &+ 1)
var failures: [String] = []
var count = 0
for c in opCases(random: &random) + routeCases(random: &random) + flashAttentionCases() + tensorCoreFlashAttentionCases()
    + reductionCases() + crossEntropyChunkCases(random: &random) + overwriteCases() + groupedGemmIntoBF16Cases()
    where only.map({ c.name.contains($0) }) ?? true {
    let v = runner.check(c)
    count += 1
    let status = v.passed ? "ok  " : "FAIL"
    say("\(status) \(v.name.padding(toLength: 62, withPad: " ", startingAt: 0)) rel err \(format(v.worstError)) (≤ \(format(v.tolerance)))"
          + (v.deterministic ? "" : ", NOT bit-identical") + (v.note.isEmpty ? "" : "  [\(v.note)]"))
    if !v.passed { failures.append(v.name) }
}

if let gpu = cuda, only == nil {
    failures += bf16Checks(gpu: gpu, cpu: cpu, random: &random, say: say)
}
if only == nil || "bf16 tensors".contains(only!) {
    failures += bf16TensorChecks(device: device, random: &random, say: say)
}
if let gpu = cuda, only == nil || expertGemmOnly {
    failures += expertGemmChecks(gpu: gpu, cpu: cpu, random: &random, say: say)
    if expertGemmOnly {
        for line in expertGemmBenchmark(gpu: gpu) { say("expert-bench: \(line)") }
    }
    let kernelFailures = expertGemmKernelChecks(gpu: gpu, cpu: cpu, random: &random, say: say)
    failures += kernelFailures
    failures += groupedLinearBF16Checks(gpu: gpu, cpu: cpu, random: &random, say: say)
    if expertGemmOnly && kernelFailures.isEmpty {
        for line in expertGemmKernelBenchmark(gpu: gpu) { say("expert-bench: \(line)") }
    }
}

if training && only == nil {
    do {
        let steps = 20
        // The allocator's misses by size class after each step of the first GPU run: which
        // request grew the cache when nothing should have.
        var misses: [[Int: Int]] = []
        let probe = { () -> Int in
            let book = cuda?.allocatorBook
            if misses.count < steps { misses.append(book?.missesBySizeClass ?? [:]) }
            return book?.systemAllocations ?? 0
        }
        let cpuLosses = try trainLosses(backend: cpu, steps: steps).losses
        let (gpuLosses, allocations) = try trainLosses(backend: device, steps: steps, systemAllocations: probe)
        let gpuAgain = try trainLosses(backend: device, steps: steps, systemAllocations: probe).losses
        // The caching allocator's promise: once a step's tensors have been allocated and freed, a step
        // never calls cudaMalloc. The model holds a step's activations until the next forward
        // replaces them, so step 2 may still grow the cache (two steps' worth live at once); after
        // step 2, nothing may.
        let allocationFree = allocations[1] == allocations[steps - 1]
        say("\(allocationFree ? "ok  " : "FAIL") training: cudaMalloc calls after steps 1, 2, 3, \(steps): "
            + "\(allocations[0]), \(allocations[1]), \(allocations[2]), \(allocations[steps - 1]) (none after step 2 allowed)")
        if !allocationFree {
            failures.append("allocation-free steps")
            let late = misses[steps - 1].compactMap { size, n in n > (misses[1][size] ?? 0) ? "\(n - (misses[1][size] ?? 0)) × \(size) bytes" : nil }
            say("     cudaMalloc after step 2, by size class: \(late.sorted().joined(separator: ", "))")
        }
        var worst = 0.0
        for (g, c) in zip(gpuLosses, cpuLosses) {
            let e = g.isFinite && c.isFinite ? abs(Double(g) - Double(c)) / abs(Double(c)) : .nan
            worst = e.isNaN || worst.isNaN ? .nan : max(worst, e)
        }
        let identical = zip(gpuLosses, gpuAgain).allSatisfy { $0.bitPattern == $1.bitPattern }
        say(String(format: "training 20 steps: cpu loss %.5f → %.5f, gpu %.5f → %.5f", cpuLosses[0], cpuLosses[steps - 1],
                     gpuLosses[0], gpuLosses[steps - 1]))
        let ok = worst <= trainingLossTolerance && identical
        say("\(ok ? "ok  " : "FAIL") training: worst per-step relative loss difference \(format(worst)) (≤ \(format(trainingLossTolerance))); "
              + "two GPU runs \(identical ? "bit-identical" : "DIFFER")")
        if !ok { failures.append("training") }
        failures += flashTrainingCheck(cpu: cpu, gpu: device, say: say)
    } catch {
        say("FAIL training: \(error)")
        failures.append("training")
    }
}

if training && only == nil {
    failures += bf16TrainingCheck(cuda: cuda, cpuThreads: cpu.threads, say: say)
    if cuda != nil { failures += tensorCoreFlashTrainingCheck(cpuThreads: cpu.threads, say: say) }
}

if benchmark, let gpu = cuda {
    for line in Benchmark(gpu: gpu).run() { say("bench: \(line)") }
}
if benchmark || routingBenchmark, let gpu = cuda {
    for line in Benchmark(gpu: gpu).routing() { say("bench: \(line)") }
}
if benchmark || flashBenchmark, let gpu = cuda {
    for line in tensorCoreFlashAttentionBenchmark(gpu: gpu) { say("bench: \(line)") }
    for line in flashAttentionBenchmark(gpu: gpu) { say("bench: \(line)") }
}

say(failures.isEmpty ? "gpu-check: OK (\(count) op checks\(training && only == nil ? " and training" : ""), seed \(seed))"
                       : "gpu-check: FAILED \(failures.count): \(failures.joined(separator: "; ")) (seed \(seed))")
exit(failures.isEmpty ? 0 : 1)
