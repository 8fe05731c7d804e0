import Foundation
import XMoECompute

/// The chunked LM loss op (`crossEntropyFused`) on both backends: one row, rows whose vocabulary is
/// no multiple of the block (256 threads), a chunk in the middle of the batch (its losses land at
/// the offset, the other losses stay untouched), ignored targets, a chunk of only ignored rows.
/// Loss and gradient (written over the logits) are judged against float64. Names start with
/// "crossEntropyFused" so `--only crossEntropyFused` runs them alone.
func crossEntropyChunkCases(random: inout CheckRandom) -> [OpCase] {
    let shapes: [(rows: Int, v: Int, offset: Int, total: Int, ignored: [Int])] = [
        (1, 3, 0, 1, []), (1, 50304, 2, 4, []), (7, 1000, 3, 12, [1, 6]), (5, 50304, 0, 5, [1]),
        (3, 257, 1, 4, [0, 1, 2]), (64, 50304, 64, 200, [5, 63]),
    ]
    var cases: [OpCase] = shapes.map { s in
        var targets = random.ints(s.total, below: s.v)
        for i in s.ignored { targets[s.offset + i] = -1 }
        let scale = Float(1) / Float(max(s.total - s.ignored.count, 1))
        return OpCase(name: "crossEntropyFused rows \(s.rows) of \(s.total) from \(s.offset) V\(s.v) ignored \(s.ignored)",
                      tensors: [TensorSpec(name: "logits", shape: [s.rows, s.v], fill: .normal(scale: 3)),
                                TensorSpec(name: "targets", shape: [s.total], fill: .ints(targets)),
                                TensorSpec(name: "loss", shape: [s.total], fill: .normal(scale: 1))],
                      outputs: ["logits", "loss"], tolerance: s.v <= 3 ? tinyVocabularyTolerance : fp32Tolerance,
                      exact: exactFused(rows: s.rows, v: s.v, offset: s.offset, scale: scale)) { be, x in
            be.crossEntropyFused(logits: x["logits"]!, targets: x["targets"]!, rowOffset: s.offset, scale: scale, losses: x["loss"]!)
        }
    }
    // The gradient into its own tensor: fp32 (judged against float64 like the in-place one) and bf16
    // (widened back; against the CPU's convert of its fp32 gradient, within bf16 rounding: 2⁻⁸).
    for s in shapes where s.v > 3 {
        var targets = random.ints(s.total, below: s.v)
        for i in s.ignored { targets[s.offset + i] = -1 }
        let scale = Float(1) / Float(max(s.total - s.ignored.count, 1))
        for dtype in [DType.float32, .bfloat16] {
            let exact = exactFused(rows: s.rows, v: s.v, offset: s.offset, scale: scale)
            cases.append(OpCase(name: "crossEntropyFused rows \(s.rows) V\(s.v) ignored \(s.ignored), gradient \(dtype)",
                                tensors: [TensorSpec(name: "logits", shape: [s.rows, s.v], fill: .normal(scale: 3)),
                                          TensorSpec(name: "targets", shape: [s.total], fill: .ints(targets)),
                                          TensorSpec(name: "loss", shape: [s.total], fill: .normal(scale: 1)),
                                          TensorSpec(name: "grad", shape: [s.rows, s.v], fill: .poison)],
                                outputs: ["loss", "grad"], tolerance: dtype == .float32 ? fp32Tolerance : 8e-3,
                                exact: dtype == .float32 ? { values in
                                    let e = exact(values)
                                    return ["loss": e["loss"]!, "grad": e["logits"]!]
                                } : nil) { be, x in
                let gradient = dtype == .float32 ? x["grad"]! : be.makeTensor([s.rows, s.v], dtype: dtype)
                be.crossEntropyFused(logits: x["logits"]!, targets: x["targets"]!, rowOffset: s.offset, scale: scale,
                                     losses: x["loss"]!, gradient: gradient)
                if dtype != .float32 { be.convert(gradient, to: x["grad"]!) }
            })
        }
    }
    return cases
}

/// One row over 3 logits: its loss lse − x_t can cancel to near 0 when the target's logit
/// dominates, and fp32's rounding of lse (~6e-8 · |lse|) is then 1e-5 … 1e-4 of the loss on the
/// CPU as on the GPU (seed 2026 drew 3.7e-5 on both). A wrong kernel is off by O(1).
private let tinyVocabularyTolerance = 2e-4

private func exactFused(rows: Int, v: Int, offset: Int, scale: Float) -> ([String: Either]) -> [String: [Double]] {
    { values in
        let x = values["logits"]!.doubles, targets = values["targets"]!.doubles.map(Int.init)
        var loss = values["loss"]!.doubles, dl = [Double](repeating: 0, count: rows * v)
        for r in 0..<rows {
            let (row, target) = (r * v..<(r + 1) * v, targets[offset + r])
            loss[offset + r] = 0
            guard target >= 0 else { continue }
            let m = x[row].max()!
            let sum = row.reduce(0.0) { $0 + exp(x[$1] - m) }
            loss[offset + r] = log(sum) + m - x[r * v + target]
            for j in row { dl[j] = Double(scale) * exp(x[j] - m) / sum }
            dl[r * v + target] -= Double(scale)
        }
        return ["logits": dl, "loss": loss]
    }
}
