import Foundation
import Testing
@testable import XMoECompute

func referenceCrossEntropy(_ logits: [Double], targets: [Int32], vocab: Int) -> [Double] {
    targets.enumerated().map { t, target in
        if target < 0 { return 0 }
        let row = logits[(t * vocab)..<((t + 1) * vocab)]
        let m = row.max()!
        return log(row.reduce(0) { $0 + exp($1 - m) }) + m - logits[t * vocab + Int(target)]
    }
}

@Suite struct LossAndOptimizerTests {
    let backend = CPUBackend()

    @Test func crossEntropyForwardAndBackward() {
        var random = TestRandom(seed: 70)
        let vocab = 6
        let targets: [Int32] = [3, 0, -1, 5]  // -1: ignored position
        let logits = random.floats(targets.count * vocab, scale: 5), dLosses = random.floats(targets.count)
        let (logitsT, targetsT) = (backend.tensor([targets.count, vocab], logits), backend.intTensor([targets.count], targets))
        let (probs, losses) = (backend.makeTensor([targets.count, vocab]), backend.makeTensor([targets.count]))
        backend.crossEntropyForward(logits: logitsT, targets: targetsT, probs: probs, losses: losses)
        let f = { (x: [Double]) in referenceCrossEntropy(x, targets: targets, vocab: vocab) }
        expectClose(backend.downloadFloats(losses), f(logits.doubles), atol: 1e-5, rtol: 1e-5, "losses")
        expectClose(backend.downloadFloats(probs), referenceSoftmax(logits.doubles, cols: vocab), atol: 1e-6, rtol: 1e-5, "probs")

        let dLogits = backend.makeTensor([targets.count, vocab])
        backend.crossEntropyBackward(probs: probs, targets: targetsT, dLosses: backend.tensor([targets.count], dLosses), dLogits: dLogits)
        expectClose(backend.downloadFloats(dLogits), numericalGradient(of: f, at: logits.doubles, upstream: dLosses.doubles),
                    atol: gradATol, rtol: gradRTol, "dLogits")
    }

    @Test func adamwMatchesFloat64StepsWithBiasCorrection() {
        var random = TestRandom(seed: 71)
        let n = 7
        let (lr, beta1, beta2, eps, wd) = (0.01, 0.9, 0.95, 1e-8, 0.1)
        var p = random.floats(n).doubles, m = [Double](repeating: 0, count: n), v = m
        let param = backend.tensor([n], p.map(Float.init))
        let (mT, vT) = (backend.makeTensor([n]), backend.makeTensor([n]))
        for step in 1...3 {
            let g = random.floats(n)
            backend.adamwUpdate(param: param, grad: backend.tensor([n], g), m: mT, v: vT, step: step,
                                lr: Float(lr), beta1: Float(beta1), beta2: Float(beta2), eps: Float(eps), weightDecay: Float(wd))
            for i in 0..<n {
                m[i] = beta1 * m[i] + (1 - beta1) * Double(g[i])
                v[i] = beta2 * v[i] + (1 - beta2) * Double(g[i]) * Double(g[i])
                let mHat = m[i] / (1 - pow(beta1, Double(step))), vHat = v[i] / (1 - pow(beta2, Double(step)))
                p[i] -= lr * (mHat / (vHat.squareRoot() + eps) + wd * p[i])
            }
        }
        expectClose(backend.downloadFloats(param), p, atol: 1e-6, rtol: 1e-5, "params after 3 steps")
        expectClose(backend.downloadFloats(mT), m, atol: 1e-6, rtol: 1e-5, "first moment")
        expectClose(backend.downloadFloats(vT), v, atol: 1e-7, rtol: 1e-5, "second moment")
    }
}
