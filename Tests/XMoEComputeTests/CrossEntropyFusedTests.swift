import Foundation
import Testing
@testable import XMoECompute

/// The fused chunk op against a float64 softmax cross-entropy, and against the two-op path it replaces.
@Suite struct CrossEntropyFusedTests {
    let backend = CPUBackend()

    /// Rows 2..<5 of 6 (a chunk inside the batch), one ignored target, logits with a wide range.
    @Test func chunkMatchesFloat64LossAndGradient() {
        var random = TestRandom(seed: 72)
        let (vocab, offset, scale) = (7, 2, Float(0.25))
        let targets: [Int32] = [1, 4, 6, -1, 0, 3]
        let chunkTargets = Array(targets[offset..<(offset + 3)])
        let logits = random.floats(3 * vocab, scale: 8)
        let logitsT = backend.tensor([3, vocab], logits)
        let losses = backend.tensor([targets.count], [Float](repeating: 9, count: targets.count))
        backend.crossEntropyFused(logits: logitsT, targets: backend.intTensor([targets.count], targets),
                                  rowOffset: offset, scale: scale, losses: losses)

        var wantLoss = [Double](repeating: 9, count: targets.count)  // rows outside the chunk stay untouched
        let chunkLoss = referenceCrossEntropy(logits.doubles, targets: chunkTargets, vocab: vocab)
        for r in 0..<3 { wantLoss[offset + r] = chunkLoss[r] }
        var wantGrad = [Double](repeating: 0, count: 3 * vocab)
        for r in 0..<3 where chunkTargets[r] >= 0 {
            let row = logits.doubles[(r * vocab)..<((r + 1) * vocab)]
            let m = row.max()!, sum = row.reduce(0) { $0 + exp($1 - m) }
            for j in 0..<vocab {
                let onehot: Double = j == Int(chunkTargets[r]) ? 1 : 0
                wantGrad[r * vocab + j] = Double(scale) * (exp(row[row.startIndex + j] - m) / sum - onehot)
            }
        }
        expectClose(backend.downloadFloats(losses), wantLoss, atol: 1e-5, rtol: 1e-5, "losses")
        expectClose(backend.downloadFloats(logitsT), wantGrad, atol: 1e-7, rtol: 1e-5, "dLogits in place of the logits")
    }

    /// The CPU op keeps the roundings of crossEntropyForward + crossEntropyBackward (dLosses = scale),
    /// so the chunked model loss changes no bit of the CPU results.
    @Test func equalsForwardThenBackwardBitForBit() {
        var random = TestRandom(seed: 73)
        let (rows, vocab, scale) = (5, 33, Float(1) / 3)
        let targets: [Int32] = [32, -1, 0, 17, 5]
        let logits = random.floats(rows * vocab, scale: 4)
        let targetsT = backend.intTensor([rows], targets)
        let (probs, oldLosses, dLogits) = (backend.makeTensor([rows, vocab]), backend.makeTensor([rows]), backend.makeTensor([rows, vocab]))
        backend.crossEntropyForward(logits: backend.tensor([rows, vocab], logits), targets: targetsT, probs: probs, losses: oldLosses)
        backend.crossEntropyBackward(probs: probs, targets: targetsT, dLosses: backend.tensor([rows], [Float](repeating: scale, count: rows)),
                                     dLogits: dLogits)
        let fused = backend.tensor([rows, vocab], logits), losses = backend.makeTensor([rows])
        backend.crossEntropyFused(logits: fused, targets: targetsT, rowOffset: 0, scale: scale, losses: losses)
        let (gotLoss, wantLoss) = (backend.downloadFloats(losses), backend.downloadFloats(oldLosses))
        let (gotGrad, wantGrad) = (backend.downloadFloats(fused), backend.downloadFloats(dLogits))
        #expect(gotLoss == wantLoss)
        #expect(gotGrad == wantGrad)
    }
}
