import XMoECompute

/// The optimizer's whole-buffer reductions (`sumOfSquares`, `allFinite`): sizes below one block,
/// past the largest grid (so threads stride), views at an offset, and NaN/±Inf at the first, a
/// middle and the last element. The scalar each returns is written into a one-element output.
func reductionCases() -> [OpCase] {
    var cases: [OpCase] = []
    // Both sides add squares in Double (different orders), so only the final fp32 rounding differs.
    for n in [1, 1000, 262_147, 3_000_017] {
        cases.append(OpCase(name: "sumOfSquares [\(n)] at offset 5",
                            tensors: [TensorSpec(name: "x", shape: [n + 5], fill: .normal(scale: 3)),
                                      TensorSpec(name: "out", shape: [1], fill: .poison)],
                            outputs: ["out"], tolerance: 1e-6) { be, x in
            let sum = be.sumOfSquares(x["x"]!.view(offset: 5, shape: [n]))
            be.upload([Float(sum)], to: x["out"]!)
        })
    }
    let n = 1_000_003
    let placements: [(String, Int?, Float)] = [
        ("finite", nil, 0), ("NaN last", n - 1, .nan), ("+Inf first", 0, .infinity),
        ("-Inf middle", n / 2, -.infinity), ("NaN before the view", -1, .nan),
    ]
    for (label, index, bad) in placements {
        var values = (0..<(n + 1)).map { Float(($0 % 17) - 8) * 1e30 }
        // The view starts at element 1: index −1 poisons element 0, outside it.
        if let index { values[index + 1] = bad }
        cases.append(OpCase(name: "allFinite [\(n)] \(label)",
                            tensors: [TensorSpec(name: "x", shape: [n + 1], fill: .values(values)),
                                      TensorSpec(name: "out", shape: [1], fill: .poison)],
                            outputs: ["out"], tolerance: 0) { be, x in
            be.upload([Float(be.allFinite(x["x"]!.view(offset: 1, shape: [n])) ? 1 : 0)], to: x["out"]!)
        })
    }
    cases.append(OpCase(name: "allFinite [1] NaN", tensors: [TensorSpec(name: "x", shape: [1], fill: .values([.nan])),
                                                             TensorSpec(name: "out", shape: [1], fill: .poison)],
                        outputs: ["out"], tolerance: 0) { be, x in
        be.upload([Float(be.allFinite(x["x"]!) ? 1 : 0)], to: x["out"]!)
    })
    return cases
}
