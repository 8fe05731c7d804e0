import Foundation
import Testing
@testable import XMoECompute

/// `routeForward/Backward` of the CPU backend against float64 references written out here, and
/// against finite differences.
@Suite struct RouteOpTests {
    struct Outputs { let scores: [Float]; let expert: [Int32]; let weight: [Float]; let routed: [Int32]; let losses: [Float] }

    func route(_ be: CPUBackend, _ logits: [Float], t: Int, e: Int, k: Int, gating: RouteGating, bias: [Float]? = nil) -> Outputs {
        let l = be.tensor([t, e], logits), s = be.makeTensor([t, e]), x = be.makeTensor([t * k], dtype: .int32)
        let w = be.makeTensor([t * k]), r = be.makeTensor([e], dtype: .int32), out = be.makeTensor([2])
        be.routeForward(logits: l, bias: bias.map { be.tensor([e], $0) }, gating: gating, topK: k, scores: s, expert: x, weight: w,
                        routed: r, losses: out)
        return Outputs(scores: be.downloadFloats(s), expert: be.downloadInts(x), weight: be.downloadFloats(w),
                       routed: be.downloadInts(r), losses: be.downloadFloats(out))
    }

    /// Float64 routing of one token: chosen ids (ties: lower id) and weights.
    func reference(_ l: [Double], k: Int, gating: RouteGating, bias: [Double]) -> (scores: [Double], chosen: [Int], weights: [Double], balance: [Double]) {
        let m = l.max()!, lse = m + log(l.map { exp($0 - m) }.reduce(0, +))
        let scores = gating == .sigmoidBias ? l.map { 1 / (1 + exp(-$0)) } : l.map { exp($0 - lse) }
        let sum = scores.reduce(0, +)
        let balance = gating == .sigmoidBias ? scores.map { $0 / sum } : scores
        let selection = (0..<l.count).map { gating == .sigmoidBias ? scores[$0] + bias[$0] : (gating == .topKLogits ? l[$0] : scores[$0]) }
        let chosen = Array((0..<l.count).sorted { selection[$0] != selection[$1] ? selection[$0] > selection[$1] : $0 < $1 }.prefix(k))
        let chosenSum = chosen.map { scores[$0] }.reduce(0, +)
        let weights = chosen.map { j -> Double in
            switch gating {
            case .softmaxTopK: scores[j]
            case .softmaxTopKRenorm, .sigmoidBias: scores[j] / chosenSum
            case .topKLogits: l[j]
            }
        }
        return (scores, chosen, weights, balance)
    }

    @Test(arguments: RouteGating.allCases)
    func forwardMatchesFloat64(gating: RouteGating) {
        let (t, e, k) = (9, 7, 3)
        var random = TestRandom(seed: 41)
        let logits = random.floats(t * e, scale: 2), bias = random.floats(e, scale: 0.2)
        let out = route(CPUBackend(), logits, t: t, e: e, k: k, gating: gating, bias: bias)
        var balanceSum = [Double](repeating: 0, count: e), routed = [Int32](repeating: 0, count: e), z = 0.0
        var expert: [Int32] = [], weight: [Double] = [], scores: [Double] = []
        for token in 0..<t {
            let l = logits[(token * e)..<(token * e + e)].map(Double.init)
            let r = reference(l, k: k, gating: gating, bias: bias.map(Double.init))
            scores += r.scores; expert += r.chosen.map { Int32($0) }; weight += r.weights
            for j in 0..<e { balanceSum[j] += r.balance[j] }
            for j in r.chosen { routed[j] += 1 }
            let m = l.max()!, lse = m + log(l.map { exp($0 - m) }.reduce(0, +))
            z += lse * lse
        }
        let aux = Double(e) / Double(k) * (0..<e).map { balanceSum[$0] / Double(t) * Double(routed[$0]) / Double(t) }.reduce(0, +)
        let sameExperts = out.expert == expert, sameCounts = out.routed == routed
        #expect(sameExperts)
        #expect(sameCounts)
        expectClose(out.scores, scores, atol: 1e-6, rtol: 1e-5, "scores")
        expectClose(out.weight, weight, atol: 1e-6, rtol: 1e-5, "weights")
        expectClose(out.losses, [aux, z / Double(t)], atol: 1e-6, rtol: 1e-5, "aux, z")
    }

    @Test func equalScoresGoToTheLowerExpertId() {
        // Token 0: all equal; token 1: experts 1 and 3 tie for first, 0 and 2 tie for last.
        let out = route(CPUBackend(), [0, 0, 0, 0, -1, 2, -1, 2], t: 2, e: 4, k: 3, gating: .softmaxTopK)
        let expected: [Int32] = [0, 1, 2, 1, 3, 0]
        #expect(out.expert == expected)
        let counts: [Int32] = [2, 2, 1, 1]
        #expect(out.routed == counts)
    }

    /// The backward against central differences of L = Σ dW·weight + a·aux + c·z, in float64 around fp32.
    @Test(arguments: RouteGating.allCases)
    func backwardMatchesFiniteDifferences(gating: RouteGating) {
        let (t, e, k) = (5, 6, 2)
        let (auxCoeff, zCoeff) = (Float(0.3), Float(0.2))
        var random = TestRandom(seed: 43)
        let logits = random.floats(t * e, scale: 1.5), bias = random.floats(e, scale: 0.1), dWeight = random.floats(t * k)
        let be = CPUBackend()
        func loss(_ l: [Float]) -> (Double, [Int32]) {
            let out = route(be, l, t: t, e: e, k: k, gating: gating, bias: bias)
            let dot = zip(dWeight, out.weight).map { Double($0) * Double($1) }.reduce(0, +)
            return (dot + Double(auxCoeff) * Double(out.losses[0]) + Double(zCoeff) * Double(out.losses[1]), out.expert)
        }
        let out = route(be, logits, t: t, e: e, k: k, gating: gating, bias: bias)
        let dLogits = be.makeTensor([t, e])
        be.routeBackward(logits: be.tensor([t, e], logits), scores: be.tensor([t, e], out.scores), expert: be.intTensor([t * k], out.expert),
                         weight: be.tensor([t * k], out.weight), routed: be.intTensor([e], out.routed), dWeight: be.tensor([t * k], dWeight),
                         gating: gating, auxCoeff: auxCoeff, zCoeff: zCoeff, dLogits: dLogits)
        let analytic = be.downloadFloats(dLogits)
        // The aux loss's routed counts are piecewise constant: its gradient treats them as constants,
        // as a step whose choices do not change (checked: they do not, at this step size).
        let h: Float = 1e-2
        var numeric: [Double] = []
        for i in 0..<(t * e) {
            var plus = logits, minus = logits
            plus[i] += h; minus[i] -= h
            let (lp, ep) = loss(plus), (lm, em) = loss(minus)
            let sameChoices = ep == out.expert && em == out.expert
            #expect(sameChoices, "choices changed at logit \(i)")
            numeric.append((lp - lm) / Double(plus[i] - minus[i]))
        }
        expectClose(analytic, numeric, atol: 2e-3, rtol: 2e-2, "dLogits \(gating)")
    }
}

/// `permutePlan`, `permuteTokens`, `unpermute(+Backward)` of the CPU backend on hand-worked plans and
/// float64 sums.
@Suite struct PermuteOpTests {
    func plan(_ expert: [Int32], _ weight: [Float], experts: Int, capacity: Int?) -> (kept: [Int32], rowOfSlot: [Int32]) {
        let be = CPUBackend()
        let kept = be.makeTensor([experts], dtype: .int32), rows = be.makeTensor([expert.count], dtype: .int32)
        be.permutePlan(expert: be.intTensor([expert.count], expert), weight: be.tensor([weight.count], weight), experts: experts,
                       capacity: capacity, kept: kept, rowOfSlot: rows)
        return (be.downloadInts(kept), be.downloadInts(rows))
    }

    @Test func capacityKeepsHighestWeightsTiesByLowerSlot() {
        // 4 tokens, K = 2, E = 4 (expert 3 gets nothing). Expert 0 gets slots 0, 2, 4, 6 with weights
        // .5 .9 .5 .7: capacity 3 keeps .9 (slot 2), .7 (slot 6) and of the tied .5 the lower slot 0.
        let expert: [Int32] = [0, 1, 0, 2, 0, 1, 0, 2], weight: [Float] = [0.5, 0.5, 0.9, 0.1, 0.5, 0.5, 0.7, 0.3]
        let dropping = plan(expert, weight, experts: 4, capacity: 3)
        let keptDropping: [Int32] = [3, 2, 2, 0], rowsDropping: [Int32] = [0, 3, 1, 5, -1, 4, 2, 6]
        #expect(dropping.kept == keptDropping)
        #expect(dropping.rowOfSlot == rowsDropping)
        let dropless = plan(expert, weight, experts: 4, capacity: nil)
        let keptDropless: [Int32] = [4, 2, 2, 0], rowsDropless: [Int32] = [0, 4, 1, 6, 2, 5, 3, 7]
        #expect(dropless.kept == keptDropless)
        #expect(dropless.rowOfSlot == rowsDropless)
        let be = CPUBackend()
        let token = be.makeTensor([7], dtype: .int32)
        be.permuteTokens(rowOfSlot: be.intTensor([8], rowsDropping), topK: 2, tokenOfRow: token)
        let tokens: [Int32] = [0, 1, 3, 0, 2, 1, 3]
        #expect(be.downloadInts(token) == tokens)
    }

    @Test func unpermuteAndBackwardMatchFloat64() {
        // 3 tokens, K = 3, 7 kept rows (slots 4 and 8 dropped), h = 5.
        let (t, k, h) = (3, 3, 5)
        let rowOfSlot: [Int32] = [4, 0, 6, 1, -1, 5, 3, 2, -1]
        var random = TestRandom(seed: 47)
        let src = random.floats(7 * h), weight = random.floats(t * k), dst0 = random.floats(t * h), dOut = random.floats(t * h)
        let be = CPUBackend()
        let dst = be.tensor([t, h], dst0), plain = be.tensor([t, h], dst0)
        be.unpermute(be.tensor([7, h], src), rowOfSlot: be.intTensor([t * k], rowOfSlot), weight: be.tensor([t * k], weight), topK: k, into: dst)
        be.unpermute(be.tensor([7, h], src), rowOfSlot: be.intTensor([t * k], rowOfSlot), weight: nil, topK: k, into: plain)
        var expected = dst0.doubles, expectedPlain = dst0.doubles
        for s in 0..<(t * k) where rowOfSlot[s] >= 0 {
            for c in 0..<h {
                expected[(s / k) * h + c] += Double(weight[s]) * Double(src[Int(rowOfSlot[s]) * h + c])
                expectedPlain[(s / k) * h + c] += Double(src[Int(rowOfSlot[s]) * h + c])
            }
        }
        expectClose(be.downloadFloats(dst), expected, atol: 1e-6, rtol: 1e-5, "unpermute")
        expectClose(be.downloadFloats(plain), expectedPlain, atol: 1e-6, rtol: 1e-5, "unpermute without weights")

        let dSrc = be.makeTensor([7, h]), dWeight = be.makeTensor([t * k])
        be.unpermuteBackward(dDst: be.tensor([t, h], dOut), src: be.tensor([7, h], src), rowOfSlot: be.intTensor([t * k], rowOfSlot),
                             weight: be.tensor([t * k], weight), topK: k, dSrc: dSrc, dWeight: dWeight)
        var expectedDSrc = [Double](repeating: 0, count: 7 * h), expectedDWeight = [Double](repeating: 0, count: t * k)
        for s in 0..<(t * k) where rowOfSlot[s] >= 0 {
            let b = Int(rowOfSlot[s])
            for c in 0..<h {
                expectedDSrc[b * h + c] += Double(weight[s]) * Double(dOut[(s / k) * h + c])
                expectedDWeight[s] += Double(src[b * h + c]) * Double(dOut[(s / k) * h + c])
            }
        }
        expectClose(be.downloadFloats(dSrc), expectedDSrc, atol: 1e-6, rtol: 1e-5, "unpermute dSrc")
        expectClose(be.downloadFloats(dWeight), expectedDWeight, atol: 1e-6, rtol: 1e-5, "unpermute dWeight")
    }
}
