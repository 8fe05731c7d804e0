import Foundation
import XMoECompute

/// The route stage: logits_TE = x_TH · Wg (no bias), then the gating variant picks K experts per
/// token and their combine weights; also the aux loss (on balance) and the router z-loss.
///
/// The per-token work is tiny (E values), so it runs on the host in fp32 over downloaded logits.
final class Router {
    let backend: Backend
    let gating: Gating
    let experts: Int
    let topK: Int
    let gate: Linear
    /// sigmoid_bias only: added to the scores for selection (not for weights); not trained by
    /// gradients — the trainer moves it toward balance (DeepSeek-V3's bias update).
    var expertBias: [Float]

    private var logits_TE: [Float] = []
    /// softmax(logits) (softmax variants) or sigmoid(logits) (sigmoid_bias).
    private var scores_TE: [Float] = []
    private var routing: Routing?

    init(_ store: ParameterStore, _ prefix: String, hidden: Int, experts: Int, topK: Int, gating: Gating, std: Double) {
        backend = store.backend
        self.gating = gating
        self.experts = experts
        self.topK = topK
        gate = Linear(store, prefix, inputs: hidden, outputs: experts, bias: false, std: std, lowPrecision: false)  // fp32 router (X-MoE §3.1)
        expertBias = [Float](repeating: 0, count: experts)
    }

    func forward(_ x_TH: Tensor) -> Routing {
        let (t, e, k) = (x_TH.rows, experts, topK)
        logits_TE = backend.downloadFloats(gate.forward(x_TH))
        scores_TE = [Float](repeating: 0, count: t * e)
        var expert_TK = [Int](repeating: 0, count: t * k), weight_TK = [Float](repeating: 0, count: t * k)
        var balance_TE = [Float](repeating: 0, count: t * e)
        var zSum: Double = 0
        for token in 0..<t {
            let row = token * e
            let logits = logits_TE[row..<(row + e)]
            let lse = logSumExp(logits)
            zSum += Double(lse) * Double(lse)
            let selection: [Float]
            if gating == .sigmoidBias {
                var sum: Float = 0
                for j in 0..<e { scores_TE[row + j] = 1 / (1 + expf(-logits_TE[row + j])); sum += scores_TE[row + j] }
                for j in 0..<e { balance_TE[row + j] = scores_TE[row + j] / sum }
                selection = (0..<e).map { scores_TE[row + $0] + expertBias[$0] }
            } else {
                for j in 0..<e { scores_TE[row + j] = expf(logits_TE[row + j] - lse) }
                for j in 0..<e { balance_TE[row + j] = scores_TE[row + j] }
                selection = gating == .topKLogits ? Array(logits) : Array(scores_TE[row..<(row + e)])
            }
            let chosen = topKIndices(selection[...], k)
            var chosenSum: Float = 0
            for idx in chosen { chosenSum += scores_TE[row + idx] }
            for (j, idx) in chosen.enumerated() {
                expert_TK[token * k + j] = idx
                switch gating {
                case .softmaxTopK: weight_TK[token * k + j] = scores_TE[row + idx]
                case .softmaxTopKRenorm, .sigmoidBias: weight_TK[token * k + j] = scores_TE[row + idx] / chosenSum
                case .topKLogits: weight_TK[token * k + j] = logits_TE[row + idx]
                }
            }
        }
        var meanBalance_E = [Double](repeating: 0, count: e), routed_E = [Double](repeating: 0, count: e)
        for token in 0..<t { for j in 0..<e { meanBalance_E[j] += Double(balance_TE[token * e + j]) } }
        for idx in expert_TK { routed_E[idx] += 1 }
        var aux: Double = 0
        for j in 0..<e { aux += (meanBalance_E[j] / Double(t)) * (routed_E[j] / Double(t)) }
        aux *= Double(e) / Double(k)
        let r = Routing(tokens: t, experts: e, topK: k, expert_TK: expert_TK, weight_TK: weight_TK,
                        auxLoss: Float(aux), zLoss: Float(zSum / Double(t)))
        routing = r
        return r
    }

    /// Gradient of (Σ_slots dWeight·weight + auxCoeff·aux + zCoeff·z) w.r.t. the logits, then
    /// through the gate: dX += dLogits · Wgᵀ, dWg += xᵀ · dLogits.
    func backward(dWeight_TK: [Float], auxCoeff: Float, zCoeff: Float, dX: Tensor) {
        guard let r = routing else { fatalError("Router: backward before forward") }
        let (t, e, k) = (r.tokens, experts, topK)
        let ce_E = r.routedPerExpert.map { Float($0) / Float(t) }
        let auxScale = auxCoeff * Float(e) / Float(k) / Float(t)
        var dLogits_TE = [Float](repeating: 0, count: t * e)
        for token in 0..<t {
            let row = token * e, slots = (token * k)..<(token * k + k)
            var dScores = [Float](repeating: 0, count: e)
            // The weights' part.
            var weightDot: Float = 0, chosenSum: Float = 0
            for s in slots { weightDot += dWeight_TK[s] * r.weight_TK[s]; chosenSum += scores_TE[row + r.expert_TK[s]] }
            for s in slots {
                let idx = r.expert_TK[s]
                switch gating {
                case .softmaxTopK: dScores[idx] += dWeight_TK[s]
                case .softmaxTopKRenorm, .sigmoidBias: dScores[idx] += (dWeight_TK[s] - weightDot) / chosenSum
                case .topKLogits: dLogits_TE[row + idx] += dWeight_TK[s]
                }
            }
            // The aux loss's part, through the balance scores (softmax, or sigmoids normalised).
            if gating == .sigmoidBias {
                var sum: Float = 0, dot: Float = 0
                for j in 0..<e { sum += scores_TE[row + j] }
                for j in 0..<e { dot += auxScale * ce_E[j] * scores_TE[row + j] / sum }
                for j in 0..<e { dScores[j] += (auxScale * ce_E[j] - dot) / sum }
                for j in 0..<e {
                    let s = scores_TE[row + j]
                    dLogits_TE[row + j] += dScores[j] * s * (1 - s)
                }
            } else {
                for j in 0..<e { dScores[j] += auxScale * ce_E[j] }
                var dot: Float = 0
                for j in 0..<e { dot += dScores[j] * scores_TE[row + j] }
                for j in 0..<e { dLogits_TE[row + j] += scores_TE[row + j] * (dScores[j] - dot) }
            }
            // z-loss: d/dl mean_t lse² = 2·lse·softmax / T.
            if zCoeff != 0 {
                let logits = logits_TE[row..<(row + e)]
                let lse = logSumExp(logits)
                for j in 0..<e { dLogits_TE[row + j] += zCoeff * 2 * lse * expf(logits_TE[row + j] - lse) / Float(t) }
            }
        }
        let dLogits = backend.makeTensor([t, e])
        backend.upload(dLogits_TE, to: dLogits)
        gate.backward(dLogits, dX: dX)
    }
}

func logSumExp(_ values: ArraySlice<Float>) -> Float {
    let m = values.max() ?? 0
    var sum: Float = 0
    for v in values { sum += expf(v - m) }
    return m + logf(sum)
}
