import XMoECompute
import XMoEModel
import XMoEComputeCUDA

/// The stated tolerance between CPU and GPU per-step losses of the fp32 tiny model: both compute in
/// fp32, so 20 steps of AdamW keep them within this relative difference.
let trainingLossTolerance = 1e-3

/// bf16 compute (computeDType .bfloat16): the device against the bf16-emulating CPU backend. Both
/// use the same bf16 operands and fp32 accumulation, but the GPU's different summation order makes
/// an activation land on the other side of a bf16 rounding boundary now and then (a 2⁻⁸ relative
/// jump), and training lets such differences grow: a looser bound than fp32's 1e-3.
let bf16TrainingTolerance = 5e-3
/// bf16 compute against fp32 compute on the CPU: what bf16 costs. The tiny model's loss moves by
/// ~1e-3 at step 1 from rounding (measured with --cpu-only), and 20 steps of AdamW let the runs
/// drift apart; 3e-2 stays far below the loss's own fall over these steps.
let bf16VersusFp32Tolerance = 3e-2

/// A tiny MoE (the quickstart's shape, a small vocabulary, hidden and attention dropout 0.1): trains
/// `steps` steps of AdamW on fixed random tokens and returns the total loss of each step.
/// `heads` 1 gives head width 64 (a width of the tensor-core flash kernels). `systemAllocations`
/// reads the backend's count of system allocations (cudaMalloc calls); the count after each step
/// comes back in `allocations`.
///
/// The update is the Optimizer's one-rank path written out (XMoETrain's Optimizer would link MPI and
/// HDF5 into this binary): one AdamW pass per weight-decay run of each flat parameter group, on views
/// at non-zero offsets into the group's value, gradient and moment buffers.
func trainLosses(backend: Backend, steps: Int, attentionDropout: Double = 0.1, heads: Int = 4, systemAllocations: () -> Int = { 0 }) throws
    -> (losses: [Float], allocations: [Int]) {
    let config = ModelConfig(layers: 2, hidden: 64, heads: heads, ffnHidden: 192, seqLength: 64, vocabSize: 1000,
                             paddedVocab: 1024, firstDenseLayers: 1, norm: .rmsNorm, activation: .swiglu, linearBias: false,
                             tiedEmbeddings: false, numExperts: 8, topK: 2, expertFFNHidden: 64,
                             expertActivation: .swiglu, expertBias: false, numSharedExperts: 1, sharedExpertFFNHidden: 64)
    let model = MoETransformer(config: config, options: MoEOptions(seed: 4242), backend: backend)
    model.dropout = DropoutRates(hidden: 0.1, attention: attentionDropout)
    var random = CheckRandom(seed: 99)
    let t = 4 * config.seqLength
    let tokens = random.ints(t, below: config.vocabSize)
    let targets = random.ints(t, below: config.vocabSize)
    let groups = model.parameters.groups
    let moments = groups.map { (backend.makeTensor([$0.count]), backend.makeTensor([$0.count])) }
    var losses: [Float] = []
    var allocations: [Int] = []
    for step in 1...steps {
        model.zeroGrads()
        model.dropoutStream = DropoutStream(step: step, microStep: 0)
        let loss = try model.forward(tokens: tokens, targets: targets)
        try model.backward()
        model.parameters.settleGradients()
        for (group, (m, v)) in zip(groups, moments) {
            for run in group.decayRuns(in: 0..<group.count) {
                let (offset, shape) = (run.elements.lowerBound, [run.elements.count])
                backend.adamwUpdate(param: group.value.view(offset: offset, shape: shape),
                                    grad: group.grad.view(offset: offset, shape: shape),
                                    m: m.view(offset: offset, shape: shape), v: v.view(offset: offset, shape: shape),
                                    step: step, lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: run.decay ? 0.1 : 0,
                                    computeCopy: group.compute?.view(offset: offset, shape: shape))
            }
        }
        losses.append(loss.total)
        allocations.append(systemAllocations())
    }
    return (losses, allocations)
}

/// The tiny model 20 steps with computeDType bf16 on the device (a CUDA backend built with bf16
/// compute, or with --cpu-only a bf16-emulating CPU backend) against the bf16-emulating CPU backend
/// and the fp32 CPU backend; two device runs must be bit-identical. Returns failed checks.
func bf16TrainingCheck(cuda: CUDABackend?, cpuThreads: Int, say: (String) -> Void) -> [String] {
    let steps = 20
    do {
        let device: Backend = cuda == nil ? CPUBackend(threads: 2, computeDType: .bfloat16) : try CUDABackend(computeDType: .bfloat16)
        let emulated = try trainLosses(backend: CPUBackend(threads: cpuThreads, computeDType: .bfloat16), steps: steps).losses
        let fp32 = try trainLosses(backend: CPUBackend(threads: cpuThreads), steps: steps).losses
        let got = try trainLosses(backend: device, steps: steps).losses
        let again = try trainLosses(backend: device, steps: steps).losses
        func worst(_ a: [Float], _ b: [Float]) -> Double {
            var w = 0.0
            for (x, y) in zip(a, b) {
                let e = x.isFinite && y.isFinite ? abs(Double(x) - Double(y)) / abs(Double(y)) : .nan
                w = e.isNaN || w.isNaN ? .nan : max(w, e)
            }
            return w
        }
        let (vsEmulated, vsFp32, emulatedVsFp32) = (worst(got, emulated), worst(got, fp32), worst(emulated, fp32))
        let identical = zip(got, again).allSatisfy { $0.bitPattern == $1.bitPattern }
        say(String(format: "bf16 training 20 steps: device %.5f → %.5f, cpu bf16 emulation %.5f → %.5f, cpu fp32 %.5f → %.5f",
                   got[0], got[steps - 1], emulated[0], emulated[steps - 1], fp32[0], fp32[steps - 1]))
        var failed: [String] = []
        let okEmulated = vsEmulated <= bf16TrainingTolerance && identical
        say("\(okEmulated ? "ok  " : "FAIL") bf16 training vs bf16-emulating CPU: worst per-step relative loss difference "
            + "\(format(vsEmulated)) (≤ \(format(bf16TrainingTolerance))); two device runs \(identical ? "bit-identical" : "DIFFER")")
        if !okEmulated { failed.append("bf16 training vs emulation") }
        let okFp32 = vsFp32 <= bf16VersusFp32Tolerance
        say("\(okFp32 ? "ok  " : "FAIL") bf16 training vs fp32 CPU: worst per-step relative loss difference \(format(vsFp32)) "
            + "(≤ \(format(bf16VersusFp32Tolerance))); cpu bf16 emulation vs fp32: \(format(emulatedVsFp32))")
        if !okFp32 { failed.append("bf16 training vs fp32") }
        return failed
    } catch {
        say("FAIL bf16 training: \(error)")
        return ["bf16 training"]
    }
}
