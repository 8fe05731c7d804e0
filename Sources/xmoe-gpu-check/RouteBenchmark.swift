import Foundation
import XMoECompute
import XMoEComputeCUDA

/// Routing and permutation at the X-MoE Small shape (T = 8192 tokens, 64 experts, top-6, H 2048):
/// each op alone (synchronised repeats), the forward chain with its one read-back (counts_E), and
/// the path it replaces (download the logits, route on the host, upload the plan).
extension Benchmark {
    func routing() -> [String] {
        var lines: [String] = []
        var random = CheckRandom(seed: 11)
        let (t, e, k, h) = (8192, 64, 6, 2048)
        let n = t * k
        let logits = randomTensor([t, e], &random), bias = gpu.makeTensor([e]), scores = gpu.makeTensor([t, e])
        let expert = gpu.makeTensor([n], dtype: .int32), weight = gpu.makeTensor([n]), routed = gpu.makeTensor([e], dtype: .int32)
        let losses = gpu.makeTensor([2]), dWeight = randomTensor([n], &random), dLogits = gpu.makeTensor([t, e])
        func ms(_ seconds: Double) -> String { String(format: "%.3f ms", seconds * 1e3) }
        func route(_ gating: RouteGating) {
            gpu.routeForward(logits: logits, bias: bias, gating: gating, topK: k, scores: scores, expert: expert, weight: weight,
                             routed: routed, losses: losses)
        }
        for gating in [RouteGating.softmaxTopK, .sigmoidBias] {
            let forward = seconds(repeats: 20) { route(gating) }
            let backward = seconds(repeats: 20) {
                gpu.routeBackward(logits: logits, scores: scores, expert: expert, weight: weight, routed: routed, dWeight: dWeight,
                                  gating: gating, auxCoeff: 0.01, zCoeff: 0.001, dLogits: dLogits)
            }
            lines.append("routeForward \(gating) T\(t) E\(e) K\(k): \(ms(forward)); routeBackward: \(ms(backward))")
        }
        route(.softmaxTopK)
        let (kept, rowOfSlot) = (gpu.makeTensor([e], dtype: .int32), gpu.makeTensor([n], dtype: .int32))
        for capacity in [nil, Int((1.25 * Double(n) / Double(e)).rounded(.up))] as [Int?] {
            let plan = seconds(repeats: 20) {
                gpu.permutePlan(expert: expert, weight: weight, experts: e, capacity: capacity, kept: kept, rowOfSlot: rowOfSlot)
            }
            lines.append("permutePlan \(n) slots, capacity \(capacity.map(String.init) ?? "none"): \(ms(plan))")
        }
        gpu.permutePlan(expert: expert, weight: weight, experts: e, capacity: nil, kept: kept, rowOfSlot: rowOfSlot)
        let rows = gpu.downloadInts(kept).reduce(0) { $0 + Int($1) }
        let token = gpu.makeTensor([rows], dtype: .int32)
        let tokens = seconds(repeats: 20) { gpu.permuteTokens(rowOfSlot: rowOfSlot, topK: k, tokenOfRow: token) }
        let x = randomTensor([t, h], &random), xB = gpu.makeTensor([rows, h]), y = gpu.makeTensor([t, h])
        let dXB = gpu.makeTensor([rows, h]), dW = gpu.makeTensor([n])
        let gather = seconds(repeats: 10) { gpu.gatherRows(x, index: token, into: xB) }
        let unpermute = seconds(repeats: 10) { gpu.unpermute(xB, rowOfSlot: rowOfSlot, weight: weight, topK: k, into: y) }
        let unpermuteBackward = seconds(repeats: 10) {
            gpu.unpermuteBackward(dDst: y, src: xB, rowOfSlot: rowOfSlot, weight: weight, topK: k, dSrc: dXB, dWeight: dW)
        }
        let permuteBackward = seconds(repeats: 10) { gpu.unpermute(dXB, rowOfSlot: rowOfSlot, weight: nil, topK: k, into: y) }
        let oldScatter = seconds(repeats: 10) { gpu.scatterAddRows(xB, index: token, weight: weight, into: y) }
        let oldGatherBackward = seconds(repeats: 10) { gpu.gatherRowsBackward(dDst: dXB, index: token, dSrc: y) }
        let bytes = Double(rows * h * 4 + t * h * 4)
        lines.append("permuteTokens: \(ms(tokens)); gatherRows (permute) \(rows)×\(h): \(ms(gather))")
        lines.append("unpermute (weighted gather-sum) → \(t)×\(h): \(ms(unpermute)), \(String(format: "%.2f", bytes / unpermute / 1e12)) TB/s; "
                     + "unpermuteBackward: \(ms(unpermuteBackward)); unpermute unweighted (permute backward): \(ms(permuteBackward))")
        lines.append("replaced: scatterAddRows (sort + segment sum): \(ms(oldScatter)); gatherRowsBackward: \(ms(oldGatherBackward))")
        // The whole routing forward with its one read-back, against the host routing it replaces.
        let chain = seconds(repeats: 10) {
            route(.softmaxTopK)
            gpu.permutePlan(expert: expert, weight: weight, experts: e, capacity: nil, kept: kept, rowOfSlot: rowOfSlot)
            _ = gpu.downloadInts(kept)
            gpu.permuteTokens(rowOfSlot: rowOfSlot, topK: k, tokenOfRow: token)
        }
        let cpu = CPUBackend()
        let hostLogits = cpu.makeTensor([t, e]), hostScores = cpu.makeTensor([t, e])
        let (hE, hW, hR, hL) = (cpu.makeTensor([n], dtype: .int32), cpu.makeTensor([n]), cpu.makeTensor([e], dtype: .int32), cpu.makeTensor([2]))
        let (hK, hRows) = (cpu.makeTensor([e], dtype: .int32), cpu.makeTensor([n], dtype: .int32))
        let host = seconds(repeats: 3) {
            cpu.upload(gpu.downloadFloats(logits), to: hostLogits)
            cpu.routeForward(logits: hostLogits, bias: nil, gating: .softmaxTopK, topK: k, scores: hostScores, expert: hE, weight: hW,
                             routed: hR, losses: hL)
            cpu.permutePlan(expert: hE, weight: hW, experts: e, capacity: nil, kept: hK, rowOfSlot: hRows)
            gpu.upload(cpu.downloadInts(hRows), to: rowOfSlot)
        }
        lines.append("routing forward chain on the device (route, plan, read counts_E, tokens): \(ms(chain)); "
                     + "the host path it replaces (download logits, route and plan on the CPU, upload): \(ms(host))")
        return lines
    }
}
