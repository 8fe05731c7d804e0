import Synchronization
import Testing
@testable import XMoECompute

/// Runs every op at sizes large enough that a 2-thread backend really splits rows and columns,
/// and returns all outputs, so runs with different thread counts can be compared bit for bit.
func runEveryOp(_ backend: CPUBackend) -> [[Float]] {
    var random = TestRandom(seed: 99)
    let (t, h, f, heads, seqLen, vocab, experts) = (64, 128, 256, 4, 32, 96, 4)
    let x = backend.tensor([t, h], random.floats(t * h, scale: 2))
    let dOutTH = backend.tensor([t, h], random.floats(t * h))
    var results: [[Float]] = []
    func keep(_ tensors: Tensor...) { results += tensors.map { backend.downloadFloats($0) } }

    // Norms.
    let (w, b) = (backend.tensor([h], random.floats(h)), backend.tensor([h], random.floats(h)))
    let (ln, mean, rstd, dX, dW, dB) = (backend.makeTensor([t, h]), backend.makeTensor([t]), backend.makeTensor([t]),
                                        backend.makeTensor([t, h]), backend.makeTensor([h]), backend.makeTensor([h]))
    backend.layerNormForward(x: x, weight: w, bias: b, eps: 1e-5, out: ln, mean: mean, rstd: rstd)
    backend.layerNormBackward(dOut: dOutTH, x: x, weight: w, mean: mean, rstd: rstd, dX: dX, dWeight: dW, dBias: dB)
    backend.rmsNormForward(x: x, weight: w, eps: 1e-6, out: ln, rstd: rstd)
    backend.rmsNormBackward(dOut: dOutTH, x: x, weight: w, rstd: rstd, dX: dX, dWeight: dW)
    keep(ln, dX, dW, dB)

    // Linear + activations.
    let w1 = backend.tensor([h, 2 * f], random.floats(h * 2 * f, scale: 0.1))
    let gateUp = backend.makeTensor([t, 2 * f]), act = backend.makeTensor([t, f]), dGateUp = backend.makeTensor([t, 2 * f])
    let dAct = backend.tensor([t, f], random.floats(t * f))
    backend.linearForward(x: x, w: w1, b: nil, out: gateUp)
    backend.swigluForward(gateUp: gateUp, out: act)
    backend.swigluBackward(gateUp: gateUp, dOut: dAct, dGateUp: dGateUp)
    let gelu = backend.makeTensor([t, 2 * f])
    backend.geluForward(gateUp, out: gelu)
    backend.geluBackward(x: gateUp, dOut: gelu, dX: dGateUp)
    backend.siluBackward(x: gateUp, dOut: gelu, dX: dGateUp)
    let dW1 = backend.makeTensor([h, 2 * f]), dXLinear = backend.makeTensor([t, h]), dB1 = backend.makeTensor([2 * f])
    backend.linearBackward(x: x, w: w1, dOut: dGateUp, dX: dXLinear, dW: dW1, dB: dB1)
    keep(gateUp, act, gelu, dGateUp, dW1, dXLinear, dB1)

    // Attention.
    let qkv = backend.tensor([t, 3 * h], random.floats(t * 3 * h))
    let (roped, attn, probs) = (backend.makeTensor([t, 3 * h]), backend.makeTensor([t, h]),
                                backend.makeTensor([t / seqLen * heads, seqLen, seqLen]))
    backend.ropeForward(qkv: qkv, heads: heads, seqLen: seqLen, theta: 10_000, out: roped)
    backend.attentionForward(qkv: roped, heads: heads, seqLen: seqLen, out: attn, probs: probs)
    let (dRoped, dQkv) = (backend.makeTensor([t, 3 * h]), backend.makeTensor([t, 3 * h]))
    backend.attentionBackward(dOut: dOutTH, qkv: roped, probs: probs, heads: heads, seqLen: seqLen, dQkv: dRoped)
    backend.ropeBackward(dOut: dRoped, heads: heads, seqLen: seqLen, theta: 10_000, dQkv: dQkv)
    keep(attn, probs, dQkv)

    // Routing: sort slots by expert, gather, scatter back with weights.
    let slots = t * 2
    let experts_S = backend.intTensor([slots], (0..<slots).map { _ in Int32(random.int(below: experts)) })
    let (order, counts) = (backend.makeTensor([slots], dtype: .int32), backend.makeTensor([experts], dtype: .int32))
    backend.stableArgsort(keys: experts_S, keyCount: experts, order: order, counts: counts)
    let tokenOfSlot = backend.intTensor([slots], backend.downloadInts(order).map { $0 / 2 })
    let (xB, weights) = (backend.makeTensor([slots, h]), backend.tensor([slots], random.floats(slots)))
    backend.gatherRows(x, index: tokenOfSlot, into: xB)
    let combined = backend.makeTensor([t, h])
    backend.scatterAddRows(xB, index: tokenOfSlot, weight: weights, into: combined)
    let (dXB, dWeights, dXGather) = (backend.makeTensor([slots, h]), backend.makeTensor([slots]), backend.makeTensor([t, h]))
    backend.scatterAddRowsBackward(dDst: dOutTH, src: xB, index: tokenOfSlot, weight: weights, dSrc: dXB, dWeight: dWeights)
    backend.gatherRowsBackward(dDst: dXB, index: tokenOfSlot, dSrc: dXGather)
    keep(combined, dXB, dWeights, dXGather)

    // Embedding, softmax, loss, optimizer, element-wise.
    let tokens = backend.intTensor([t], (0..<t).map { _ in Int32(random.int(below: 8)) })  // many repeats
    let table = backend.tensor([vocab, h], random.floats(vocab * h)), dTable = backend.makeTensor([vocab, h])
    backend.embeddingForward(tokens: tokens, table: table, out: ln)
    backend.embeddingBackward(tokens: tokens, dOut: dOutTH, dTable: dTable)
    let logits = backend.makeTensor([t, vocab])
    backend.linearForward(x: ln, w: backend.tensor([h, vocab], random.floats(h * vocab, scale: 0.2)), b: nil, out: logits)
    let (ceProbs, losses, dLogits) = (backend.makeTensor([t, vocab]), backend.makeTensor([t]), backend.makeTensor([t, vocab]))
    backend.crossEntropyForward(logits: logits, targets: tokens, probs: ceProbs, losses: losses)
    backend.fill(dB, value: 1 / Float(t))
    backend.crossEntropyBackward(probs: ceProbs, targets: tokens, dLosses: backend.tensor([t], [Float](repeating: 1 / Float(t), count: t)), dLogits: dLogits)
    backend.softmaxForward(logits: logits, probs: ceProbs)
    backend.softmaxBackward(probs: ceProbs, dProbs: dLogits, dLogits: logits)
    let big = backend.tensor([512, 256], random.floats(512 * 256)), other = backend.tensor([512, 256], random.floats(512 * 256))
    let (m, v, sum) = (backend.makeTensor([512, 256]), backend.makeTensor([512, 256]), backend.makeTensor([512, 256]))
    backend.add(big, other, out: sum)
    backend.axpy(alpha: 0.3, x: big, y: sum)
    backend.scale(sum, by: 1.7)
    backend.sumRows(big, rows: 0..<512, into: dW1, outOffset: 0)
    backend.addBias(big, bias: dW1, biasOffset: 5, rows: 0..<512)
    backend.adamwUpdate(param: big, grad: sum, m: m, v: v, step: 1, lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
    keep(dTable, losses, dLogits, ceProbs, logits, sum, dW1, big, m, v)

    // Gemms with several row blocks (m > 128), both plain and transposed A.
    let wBig = backend.tensor([256, 200], random.floats(256 * 200))
    let (yBig, dWBig, dBig) = (backend.makeTensor([512, 200]), backend.makeTensor([256, 200]), backend.makeTensor([512, 256]))
    backend.linearForward(x: big, w: wBig, b: nil, out: yBig)
    backend.linearBackward(x: big, w: wBig, dOut: yBig, dX: dBig, dW: dWBig, dB: nil)
    keep(yBig, dWBig, dBig)
    return results
}

@Suite struct DeterminismTests {
    @Test func oneAndTwoThreadsAgreeBitForBit() {
        let single = runEveryOp(CPUBackend(threads: 1))
        let double = runEveryOp(CPUBackend(threads: 2))
        #expect(single.count == double.count)
        for (i, (a, b)) in zip(single, double).enumerated() {
            let same = zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
            #expect(same && a.count == b.count, "output \(i) differs between 1 and 2 threads")
        }
    }

    @Test func parallelForTilesTheRangeIntoThreadChunks() {
        let backend = CPUBackend(threads: 3)
        let seen = Mutex<[Range<Int>]>([])
        backend.parallelFor(100, minPerChunk: 10) { r in seen.withLock { $0.append(r) } }
        let chunks = seen.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
        #expect(chunks.count == 3)
        #expect(chunks.first?.lowerBound == 0 && chunks.last?.upperBound == 100)
        #expect(zip(chunks, chunks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
    }
}
