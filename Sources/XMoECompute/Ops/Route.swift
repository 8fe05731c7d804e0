import Foundation

/// How the router turns a token's E logits into K choices and combine weights. The raw values are
/// the CUDA kernels' `gating` argument.
///
/// aux = E/K · Σ_e me_e · ce_e (X-MoE's `l_aux`, 1 when balanced): me_e the mean over tokens of the
/// balance scores (softmax probabilities; `.sigmoidBias`: the sigmoids normalised per token),
/// ce_e = routed_e / T. z = mean_t logsumexp(logits_t)².
public enum RouteGating: Int32, Sendable, CaseIterable {
    /// softmax → top-k of the probabilities, no renormalisation.
    case softmaxTopK = 0
    /// softmax → top-k → the kept probabilities renormalised to sum to 1.
    case softmaxTopKRenorm = 1
    /// top-k of the raw logits, which are also the combine weights.
    case topKLogits = 2
    /// choose by sigmoid(logit) + bias_e, weigh by the chosen sigmoids renormalised.
    case sigmoidBias = 3
}

/// The most experts a token may choose (the GPU kernel keeps its choices in registers).
public let maxRouteTopK = 16

/// Indices of the k largest of `scores`, largest first; on equal scores the lower index wins
/// (a fixed rule, so routing never depends on sort stability or thread timing).
public func topKIndices(_ scores: ArraySlice<Float>, _ k: Int) -> [Int] {
    precondition(k <= scores.count, "topK: k = \(k) > \(scores.count) candidates")
    let base = scores.startIndex
    var chosen: [Int] = []
    chosen.reserveCapacity(k)
    for _ in 0..<k {
        var best = -1
        for e in 0..<scores.count where !chosen.contains(e) {
            if best < 0 || scores[base + e] > scores[base + best] { best = e }
        }
        chosen.append(best)
    }
    return chosen
}

func logSumExp<C: Collection<Float>>(_ values: C) -> Float {
    let m = values.max() ?? 0
    var sum: Float = 0
    for v in values { sum += expf(v - m) }
    return m + logf(sum)
}

// The CPU implementation is the host routing the model ran before routing became a backend op, kept
// operation for operation (so CPU training stays bit-identical): per token in fp32, statistics
// accumulated in Double in token order.
extension CPUBackend {
    public func routeForward(
        logits: Tensor, bias: Tensor?, gating: RouteGating, topK k: Int,
        scores: Tensor, expert: Tensor, weight: Tensor, routed: Tensor, losses: Tensor
    ) {
        let (t, e) = (logits.rows, logits.columns)
        precondition(k >= 1 && k <= min(e, maxRouteTopK), "routeForward: topK \(k) for \(e) experts (at most \(maxRouteTopK))")
        expectShape(scores, logits.shape, "routeForward scores")
        expectCount(expert, t * k, "routeForward expert"); expectCount(weight, t * k, "routeForward weight")
        expectCount(routed, e, "routeForward routed"); expectCount(losses, 2, "routeForward losses")
        if gating == .sigmoidBias { precondition(bias?.count == e, "routeForward: sigmoid_bias needs a bias of \(e) values") }
        let (pl, ps, pe, pw, pr) = (logits.floats, scores.floats, expert.ints, weight.floats, routed.ints)
        let expertBias = gating == .sigmoidBias ? Array(bias!.floats) : []
        var balance_TE = [Float](repeating: 0, count: t * e)
        var zSum: Double = 0
        for token in 0..<t {
            let row = token * e
            let lse = logSumExp(pl[row..<(row + e)])
            zSum += Double(lse) * Double(lse)
            let selection: [Float]
            if gating == .sigmoidBias {
                var sum: Float = 0
                for j in 0..<e { ps[row + j] = 1 / (1 + expf(-pl[row + j])); sum += ps[row + j] }
                for j in 0..<e { balance_TE[row + j] = ps[row + j] / sum }
                selection = (0..<e).map { ps[row + $0] + expertBias[$0] }
            } else {
                for j in 0..<e { ps[row + j] = expf(pl[row + j] - lse) }
                for j in 0..<e { balance_TE[row + j] = ps[row + j] }
                selection = gating == .topKLogits ? Array(pl[row..<(row + e)]) : Array(ps[row..<(row + e)])
            }
            let chosen = topKIndices(selection[...], k)
            var chosenSum: Float = 0
            for idx in chosen { chosenSum += ps[row + idx] }
            for (j, idx) in chosen.enumerated() {
                pe[token * k + j] = Int32(idx)
                switch gating {
                case .softmaxTopK: pw[token * k + j] = ps[row + idx]
                case .softmaxTopKRenorm, .sigmoidBias: pw[token * k + j] = ps[row + idx] / chosenSum
                case .topKLogits: pw[token * k + j] = pl[row + idx]
                }
            }
        }
        var meanBalance_E = [Double](repeating: 0, count: e), routed_E = [Double](repeating: 0, count: e)
        for token in 0..<t { for j in 0..<e { meanBalance_E[j] += Double(balance_TE[token * e + j]) } }
        for j in 0..<e { pr[j] = 0 }
        for idx in pe { routed_E[Int(idx)] += 1; pr[Int(idx)] += 1 }
        var aux: Double = 0
        for j in 0..<e { aux += (meanBalance_E[j] / Double(t)) * (routed_E[j] / Double(t)) }
        aux *= Double(e) / Double(k)
        losses.floats[0] = Float(aux)
        losses.floats[1] = Float(zSum / Double(t))
    }

    public func routeBackward(
        logits: Tensor, scores: Tensor, expert: Tensor, weight: Tensor, routed: Tensor, dWeight: Tensor,
        gating: RouteGating, auxCoeff: Float, zCoeff: Float, dLogits: Tensor
    ) {
        let (t, e) = (logits.rows, logits.columns), k = t == 0 ? 0 : expert.count / t
        expectShape(scores, logits.shape, "routeBackward scores"); expectShape(dLogits, logits.shape, "routeBackward dLogits")
        expectCount(weight, t * k, "routeBackward weight"); expectCount(dWeight, t * k, "routeBackward dWeight")
        expectCount(routed, e, "routeBackward routed")
        guard t > 0 else { return }
        let (pl, ps, pe, pw, pdw, pd) = (logits.floats, scores.floats, expert.ints, weight.floats, dWeight.floats, dLogits.floats)
        let ce_E = routed.ints.map { Float(Int($0)) / Float(t) }
        let auxScale = auxCoeff * Float(e) / Float(k) / Float(t)
        for i in 0..<(t * e) { pd[i] = 0 }
        for token in 0..<t {
            let row = token * e, slots = (token * k)..<(token * k + k)
            var dScores = [Float](repeating: 0, count: e)
            // The weights' part.
            var weightDot: Float = 0, chosenSum: Float = 0
            for s in slots { weightDot += pdw[s] * pw[s]; chosenSum += ps[row + Int(pe[s])] }
            for s in slots {
                let idx = Int(pe[s])
                switch gating {
                case .softmaxTopK: dScores[idx] += pdw[s]
                case .softmaxTopKRenorm, .sigmoidBias: dScores[idx] += (pdw[s] - weightDot) / chosenSum
                case .topKLogits: pd[row + idx] += pdw[s]
                }
            }
            // The aux loss's part, through the balance scores (softmax, or sigmoids normalised).
            if gating == .sigmoidBias {
                var sum: Float = 0, dot: Float = 0
                for j in 0..<e { sum += ps[row + j] }
                for j in 0..<e { dot += auxScale * ce_E[j] * ps[row + j] / sum }
                for j in 0..<e { dScores[j] += (auxScale * ce_E[j] - dot) / sum }
                for j in 0..<e {
                    let s = ps[row + j]
                    pd[row + j] += dScores[j] * s * (1 - s)
                }
            } else {
                for j in 0..<e { dScores[j] += auxScale * ce_E[j] }
                var dot: Float = 0
                for j in 0..<e { dot += dScores[j] * ps[row + j] }
                for j in 0..<e { pd[row + j] += ps[row + j] * (dScores[j] - dot) }
            }
            // z-loss: d/dl mean_t lse² = 2·lse·softmax / T.
            if zCoeff != 0 {
                let lse = logSumExp(pl[row..<(row + e)])
                for j in 0..<e { pd[row + j] += zCoeff * 2 * lse * expf(pl[row + j] - lse) / Float(t) }
            }
        }
    }
}
