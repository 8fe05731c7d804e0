import Foundation
import XMoEModel

/// An independent float64 forward of the whole model: plain loops over [Double], parameters looked
/// up by their global names (experts one by one, `layers.01.moe.experts.002.w_in`). Shares no code
/// with XMoEModel beyond reading its config and options.
struct ReferenceModel {
    struct Output {
        var lm: Double
        var aux: Double
        var z: Double
        var total: Double
        /// Per MoE layer: chosen expert of every slot, routed and kept counts per expert.
        var choices: [[Int]]
        var routed: [[Int]]
        var kept: [[Int]]
    }

    let c: ModelConfig
    let o: MoEOptions
    var params: [String: [Double]]
    /// sigmoid_bias selection bias per layer index.
    var expertBias: [Int: [Double]] = [:]
    /// Applied to both inputs of every linear map's and the LM head's product (not the router's),
    /// and to each routed expert's output row (one rank: the unpermute reads the second GEMM's
    /// output in its dtype): bf16 rounding reproduces a model that computes those GEMMs in bf16.
    var gemmInputRounding: ((Double) -> Double)?

    func rounded(_ v: [Double]) -> [Double] { gemmInputRounding.map { v.map($0) } ?? v }

    func p(_ name: String) -> [Double] {
        guard let v = params[name] else { fatalError("reference: no parameter \(name)") }
        return v
    }

    func has(_ name: String) -> Bool { params[name] != nil }

    func forward(tokens: [Int32], targets: [Int32], seqLen s: Int) -> Output {
        let h = c.hidden, t = tokens.count
        let emb = p("embedding.weight")
        var x = [Double](repeating: 0, count: t * h)
        for i in 0..<t { for j in 0..<h { x[i * h + j] = emb[Int(tokens[i]) * h + j] } }
        var out = Output(lm: 0, aux: 0, z: 0, total: 0, choices: [], routed: [], kept: [])
        for layer in 0..<c.layers {
            let pre = "layers.\(String(format: "%02d", layer))"
            let a = attention(norm(x, "\(pre).attn_norm", t), "\(pre).attn", t, s)
            for i in 0..<x.count { x[i] += a[i] }
            let n = norm(x, "\(pre).ffn_norm", t)
            let f: [Double]
            if layer < c.firstDenseLayers {
                f = mlp(n, "\(pre).ffn", t, ffn: c.ffnHidden, act: c.activation, bias: c.linearBias)
            } else {
                f = moe(n, "\(pre).moe", layer: layer, t, &out)
            }
            for i in 0..<x.count { x[i] += f[i] }
        }
        let n = norm(x, "final_norm", t)
        let v = c.paddedVocab
        var logits = [Double](repeating: 0, count: t * v)
        if c.tiedEmbeddings {
            let (n, emb) = (rounded(n), rounded(emb))
            for i in 0..<t { for w in 0..<v { var acc = 0.0; for j in 0..<h { acc += n[i * h + j] * emb[w * h + j] }; logits[i * v + w] = acc } }
        } else {
            logits = matmul(rounded(n), rounded(p("lm_head.w")), t, h, v)
        }
        var loss = 0.0, counted = 0
        for i in 0..<t where targets[i] >= 0 {
            let row = Array(logits[(i * v)..<(i * v + v)])
            loss += logSumExp(row) - row[Int(targets[i])]
            counted += 1
        }
        out.lm = loss / Double(max(counted, 1))
        out.total = out.lm + Double(o.auxLossCoeff) * out.aux + Double(o.zLossCoeff) * out.z
        return out
    }

    func norm(_ x: [Double], _ name: String, _ t: Int) -> [Double] {
        let h = c.hidden, w = p("\(name).weight")
        let eps = Double(o.normEps)
        var y = x
        for i in 0..<t {
            let row = Array(x[(i * h)..<(i * h + h)])
            if c.norm == .layerNorm {
                let b = p("\(name).bias")
                let mean = row.reduce(0, +) / Double(h)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(h)
                for j in 0..<h { y[i * h + j] = (row[j] - mean) / (variance + eps).squareRoot() * w[j] + b[j] }
            } else {
                let ms = row.map { $0 * $0 }.reduce(0, +) / Double(h)
                for j in 0..<h { y[i * h + j] = row[j] / (ms + eps).squareRoot() * w[j] }
            }
        }
        return y
    }

    func matmul(_ x: [Double], _ w: [Double], _ rows: Int, _ i: Int, _ o: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * o)
        for r in 0..<rows { for k in 0..<i { let xv = x[r * i + k]; for j in 0..<o { y[r * o + j] += xv * w[k * o + j] } } }
        return y
    }

    func linear(_ x: [Double], _ w: String, _ b: String, _ rows: Int, _ i: Int, _ o: Int) -> [Double] {
        var y = matmul(rounded(x), rounded(p(w)), rows, i, o)
        if has(b) { let bias = p(b); for r in 0..<rows { for j in 0..<o { y[r * o + j] += bias[j] } } }
        return y
    }

    func attention(_ x: [Double], _ name: String, _ t: Int, _ s: Int) -> [Double] {
        let h = c.hidden, nh = c.heads, d = h / nh, half = d / 2
        var qkv = linear(x, "\(name).w_qkv", "\(name).b_qkv", t, h, 3 * h)
        for i in 0..<t {
            let pos = Double(i % s)
            for part in 0..<2 { for head in 0..<nh { for k in 0..<half {
                let angle = pos * pow(Double(o.ropeTheta), -2 * Double(k) / Double(d))
                let a = i * 3 * h + part * h + head * d + k
                let (x1, x2) = (qkv[a], qkv[a + half])
                qkv[a] = x1 * cos(angle) - x2 * sin(angle)
                qkv[a + half] = x1 * sin(angle) + x2 * cos(angle)
            } } }
        }
        var y = [Double](repeating: 0, count: t * h)
        for b in 0..<(t / s) { for head in 0..<nh { for qi in 0..<s {
            let q = (b * s + qi) * 3 * h + head * d
            var scores = [Double]()
            for kj in 0...qi {
                let k = (b * s + kj) * 3 * h + h + head * d
                var dot = 0.0
                for e in 0..<d { dot += qkv[q + e] * qkv[k + e] }
                scores.append(dot / Double(d).squareRoot())
            }
            let lse = logSumExp(scores)
            for kj in 0...qi {
                let weight = exp(scores[kj] - lse), v = (b * s + kj) * 3 * h + 2 * h + head * d
                for e in 0..<d { y[(b * s + qi) * h + head * d + e] += weight * qkv[v + e] }
            }
        } } }
        return linear(y, "\(name).w_o", "\(name).b_o", t, h, h)
    }

    /// `routed`: a routed expert, whose GELU input the model keeps in the GEMMs' dtype (rounded
    /// with `gemmInputRounding`, after the bias).
    func mlp(_ x: [Double], _ name: String, _ t: Int, ffn f: Int, act: ModelConfig.Activation, bias: Bool, routed: Bool = false) -> [Double] {
        let h = c.hidden
        let width = act == .swiglu ? 2 * f : f
        var pre = linear(x, "\(name).w_in", "\(name).b_in", t, h, width)
        if routed && act == .gelu { pre = rounded(pre) }
        var a = [Double](repeating: 0, count: t * f)
        for i in 0..<t { for j in 0..<f {
            if act == .gelu {
                let v = pre[i * f + j]
                a[i * f + j] = 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
            } else {
                let g = pre[i * width + j], u = pre[i * width + f + j]
                a[i * f + j] = g / (1 + exp(-g)) * u
            }
        } }
        return linear(a, "\(name).w_out", "\(name).b_out", t, f, h)
    }

    func moe(_ x: [Double], _ name: String, layer: Int, _ t: Int, _ out: inout Output) -> [Double] {
        let h = c.hidden, e = c.numExperts, k = c.topK
        let logits = matmul(x, p("\(name).router.w"), t, h, e)
        var choice = [Int](repeating: 0, count: t * k), weight = [Double](repeating: 0, count: t * k)
        var balanceMean = [Double](repeating: 0, count: e), z = 0.0
        for i in 0..<t {
            let l = Array(logits[(i * e)..<(i * e + e)])
            let lse = logSumExp(l)
            z += lse * lse
            let soft = l.map { exp($0 - lse) }
            let sig = l.map { 1 / (1 + exp(-$0)) }
            let sigSum = sig.reduce(0, +)
            let balance = o.gating == .sigmoidBias ? sig.map { $0 / sigSum } : soft
            for j in 0..<e { balanceMean[j] += balance[j] / Double(t) }
            let select: [Double]
            switch o.gating {
            case .softmaxTopK, .softmaxTopKRenorm: select = soft
            case .topKLogits: select = l
            case .sigmoidBias: select = (0..<e).map { sig[$0] + (expertBias[layer]?[$0] ?? 0) }
            }
            // Sort all experts by (score desc, id asc) and take the first K.
            let chosen = Array((0..<e).sorted { select[$0] != select[$1] ? select[$0] > select[$1] : $0 < $1 }.prefix(k))
            for (j, idx) in chosen.enumerated() {
                choice[i * k + j] = idx
                switch o.gating {
                case .softmaxTopK: weight[i * k + j] = soft[idx]
                case .softmaxTopKRenorm: weight[i * k + j] = soft[idx] / chosen.map { soft[$0] }.reduce(0, +)
                case .topKLogits: weight[i * k + j] = l[idx]
                case .sigmoidBias: weight[i * k + j] = sig[idx] / chosen.map { sig[$0] }.reduce(0, +)
                }
            }
        }
        var routed = [Int](repeating: 0, count: e)
        for idx in choice { routed[idx] += 1 }
        var aux = 0.0
        for j in 0..<e { aux += balanceMean[j] * Double(routed[j]) / Double(t) }
        out.aux += aux * Double(e) / Double(k)
        out.z += z / Double(t)
        // Dropping, re-derived: per expert keep the `cap` highest-weight slots, ties by lower slot.
        var keep = [Bool](repeating: true, count: t * k)
        if let cf = o.capacity.capacityFactor {
            let cap = max(o.capacity.minCapacity, Int(ceil(Double(t * k) * cf / Double(e))))
            for j in 0..<e {
                let slots = (0..<(t * k)).filter { choice[$0] == j }
                let ranked = slots.sorted { weight[$0] != weight[$1] ? weight[$0] > weight[$1] : $0 < $1 }
                for s in ranked.dropFirst(cap) { keep[s] = false }
            }
        }
        var kept = [Int](repeating: 0, count: e)
        var y = [Double](repeating: 0, count: t * h)
        for i in 0..<t { for j in 0..<k where keep[i * k + j] {
            let idx = choice[i * k + j]
            kept[idx] += 1
            let row = Array(x[(i * h)..<(i * h + h)])
            let eo = rounded(mlp(row, "\(name).experts.\(String(format: "%03d", idx))", 1, ffn: c.expertFFNHidden,
                                 act: c.expertActivation, bias: c.expertBias, routed: true))
            for q in 0..<h { y[i * h + q] += weight[i * k + j] * eo[q] }
        } }
        for sIdx in 0..<c.numSharedExperts {
            let sh = mlp(x, "\(name).shared.\(String(format: "%02d", sIdx))", t, ffn: c.sharedExpertFFNHidden,
                         act: c.expertActivation, bias: c.expertBias)
            for q in 0..<y.count { y[q] += sh[q] }
        }
        out.choices.append(choice)
        out.routed.append(routed)
        out.kept.append(kept)
        return y
    }

    func logSumExp(_ v: [Double]) -> Double {
        let m = v.max()!
        return m + log(v.map { exp($0 - m) }.reduce(0, +))
    }
}
