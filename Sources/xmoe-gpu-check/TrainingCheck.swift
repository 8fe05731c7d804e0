import XMoECompute
import XMoEModel

/// The stated tolerance between CPU and GPU per-step losses of the fp32 tiny model: both compute in
/// fp32, so 20 steps of AdamW keep them within this relative difference.
let trainingLossTolerance = 1e-3

/// A tiny MoE (the quickstart's shape, a small vocabulary): trains `steps` steps of AdamW on fixed
/// random tokens and returns the total loss of each step.
/// `systemAllocations` reads the backend's count of system allocations (cudaMalloc calls); the
/// count after each step comes back in `allocations`.
func trainLosses(backend: Backend, steps: Int, systemAllocations: () -> Int = { 0 }) throws
    -> (losses: [Float], allocations: [Int]) {
    let config = ModelConfig(layers: 2, hidden: 64, heads: 4, ffnHidden: 192, seqLength: 64, vocabSize: 1000,
                             paddedVocab: 1024, firstDenseLayers: 1, norm: .rmsNorm, activation: .swiglu, linearBias: false,
                             tiedEmbeddings: false, numExperts: 8, topK: 2, expertFFNHidden: 64,
                             expertActivation: .swiglu, expertBias: false, numSharedExperts: 1, sharedExpertFFNHidden: 64)
    let model = MoETransformer(config: config, options: MoEOptions(seed: 4242), backend: backend)
    var random = CheckRandom(seed: 99)
    let t = 4 * config.seqLength
    let tokens = random.ints(t, below: config.vocabSize)
    let targets = random.ints(t, below: config.vocabSize)
    let moments = model.parameters.parameters.map { (backend.makeTensor($0.value.shape), backend.makeTensor($0.value.shape)) }
    var losses: [Float] = []
    var allocations: [Int] = []
    for step in 1...steps {
        model.zeroGrads()
        let loss = try model.forward(tokens: tokens, targets: targets)
        model.backward()
        for (i, p) in model.parameters.parameters.enumerated() {
            backend.adamwUpdate(param: p.value, grad: p.grad, m: moments[i].0, v: moments[i].1, step: step,
                                lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
        }
        losses.append(loss.total)
        allocations.append(systemAllocations())
    }
    return (losses, allocations)
}
