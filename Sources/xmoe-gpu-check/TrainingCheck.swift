import XMoECompute
import XMoEModel

/// The stated tolerance between CPU and GPU per-step losses of the fp32 tiny model: both compute in
/// fp32, so 20 steps of AdamW keep them within this relative difference.
let trainingLossTolerance = 1e-3

/// A tiny MoE (the quickstart's shape, a small vocabulary, hidden and attention dropout 0.1): trains
/// `steps` steps of AdamW on fixed random tokens and returns the total loss of each step.
/// `systemAllocations` reads the backend's count of system allocations (cudaMalloc calls); the
/// count after each step comes back in `allocations`.
///
/// The update is the Optimizer's one-rank path written out (XMoETrain's Optimizer would link MPI and
/// HDF5 into this binary): one AdamW pass per weight-decay run of each flat parameter group, on views
/// at non-zero offsets into the group's value, gradient and moment buffers.
func trainLosses(backend: Backend, steps: Int, attentionDropout: Double = 0.1, systemAllocations: () -> Int = { 0 }) throws
    -> (losses: [Float], allocations: [Int]) {
    let config = ModelConfig(layers: 2, hidden: 64, heads: 4, ffnHidden: 192, seqLength: 64, vocabSize: 1000,
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
        for (group, (m, v)) in zip(groups, moments) {
            for run in group.decayRuns(in: 0..<group.count) {
                let (offset, shape) = (run.elements.lowerBound, [run.elements.count])
                backend.adamwUpdate(param: group.value.view(offset: offset, shape: shape),
                                    grad: group.grad.view(offset: offset, shape: shape),
                                    m: m.view(offset: offset, shape: shape), v: v.view(offset: offset, shape: shape),
                                    step: step, lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: run.decay ? 0.1 : 0)
            }
        }
        losses.append(loss.total)
        allocations.append(systemAllocations())
    }
    return (losses, allocations)
}
