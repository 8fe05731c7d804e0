import Testing
import XMoECompute
import XMoEModel
@testable import XMoEComputeCUDA

/// The device allocator's rule against a real model's allocation pattern, on the CPU: the tiny
/// MoE of xmoe-gpu-check's training check (dropout on, AdamW on views into the flat groups) trains
/// on the CPU backend behind a `ProfilingBackend` whose hooks replay every tensor's allocation and
/// free through `BlockCache`, as `DeviceAllocator` would on the GPU (tensors die at the same points:
/// ARC frees them deterministically). The promise xmoe-gpu-check checks on the device: no system
/// allocation after step 2.
@Suite struct AllocationPatternTests {
    /// Replays allocations and frees: a freed storage is noticed before the next Backend call (a
    /// tensor that dies between calls gives its block back before the next request).
    final class Replay: @unchecked Sendable {
        struct Block { weak var storage: AnyObject?; let address: UInt; let sizeClass: Int }
        var cache = BlockCache()
        var live: [Block] = []
        var nextAddress: UInt = 0x10_0000

        func collect() {
            var kept: [Block] = []
            for block in live {
                if block.storage == nil { cache.give(address: block.address, sizeClass: block.sizeClass) } else { kept.append(block) }
            }
            live = kept
        }

        func made(_ tensor: Tensor) {
            collect()
            let size = BlockCache.sizeClass(tensor.count * 4)
            if let cached = cache.take(sizeClass: size) {
                live.append(Block(storage: tensor.storage, address: cached.address, sizeClass: cached.sizeClass))
            } else {
                cache.recordSystemAllocation(sizeClass: size)
                live.append(Block(storage: tensor.storage, address: nextAddress, sizeClass: size))
                nextAddress += UInt(size)
            }
        }
    }

    @Test func tinyTrainingAllocatesNothingAfterTheSecondStep() throws {
        let replay = Replay()
        let cpu = CPUBackend(threads: 1)
        let backend = ProfilingBackend(inner: cpu, synchronize: {})
        backend.willCall = { _ in replay.collect() }
        backend.didMakeTensor = { replay.made($0) }
        let config = ModelConfig(layers: 2, hidden: 64, heads: 4, ffnHidden: 192, seqLength: 64, vocabSize: 1000,
                                 paddedVocab: 1024, firstDenseLayers: 1, norm: .rmsNorm, activation: .swiglu, linearBias: false,
                                 tiedEmbeddings: false, numExperts: 8, topK: 2, expertFFNHidden: 64,
                                 expertActivation: .swiglu, expertBias: false, numSharedExperts: 1, sharedExpertFFNHidden: 64)
        let model = MoETransformer(config: config, options: MoEOptions(seed: 4242), backend: backend)
        model.dropout = DropoutRates(hidden: 0.1, attention: 0.1)
        let t = 4 * config.seqLength
        let tokens = (0..<t).map { Int32(($0 * 7919 + 13) % config.vocabSize) }
        let targets = (0..<t).map { Int32(($0 * 104_729 + 5) % config.vocabSize) }
        let groups = model.parameters.groups
        let moments = groups.map { (backend.makeTensor([$0.count]), backend.makeTensor([$0.count])) }
        var allocations: [Int] = []
        for step in 1...5 {
            model.zeroGrads()
            model.dropoutStream = DropoutStream(step: step, microStep: 0)
            _ = try model.forward(tokens: tokens, targets: targets)
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
            replay.collect()
            allocations.append(replay.cache.systemAllocations)
        }
        let afterSecond = allocations[1], afterLast = allocations[4]
        #expect(afterSecond == afterLast, "system allocations after steps 1–5: \(allocations)")
        let inUse = replay.cache.bytesInUse, liveBytes = replay.live.map(\.sizeClass).reduce(0, +)
        #expect(inUse == liveBytes)
    }
}
