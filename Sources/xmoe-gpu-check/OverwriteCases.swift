import XMoECompute
import XMoEComputeCUDA

private func t(_ name: String, _ shape: [Int], _ fill: Fill = .normal(scale: 1)) -> TensorSpec {
    TensorSpec(name: name, shape: shape, fill: fill)
}

/// The backward ops' `overwrite…` flags (the model's first writers of `makeOutput` buffers): the
/// output starts as random values (not poison: a kernel that still adds must fail on a finite
/// difference, not only on NaN), and must end as the CPU's write, every element of it.
func overwriteCases() -> [OpCase] {
    var cases: [OpCase] = []
    for shape in [[1, 1], [37, 129], [1000, 1003]] {
        let (r, f) = (shape[0], shape[1])
        cases.append(OpCase(name: "overwrite geluBackward \(shape)",
                            tensors: [t("x", shape, .normal(scale: 3)), t("d", shape), t("dx", shape, .normal(scale: 5))],
                            outputs: ["dx"], tolerance: fp32Tolerance) { be, x in
            be.geluBackward(x: x["x"]!, dOut: x["d"]!, dX: x["dx"]!, overwrite: true)
        })
        cases.append(OpCase(name: "geluBackward into bf16 \(shape)",
                            tensors: [t("x", shape, .normal(scale: 3)), t("d", shape), t("dx", shape, .poison)],
                            outputs: ["dx"], tolerance: 4e-3) { be, x in
            let dx16 = be.makeOutput(shape, dtype: .bfloat16)
            be.geluBackward(x: x["x"]!, dOut: x["d"]!, dX: dx16, overwrite: true)
            be.convert(dx16, to: x["dx"]!)
        })
        cases.append(OpCase(name: "sumRows over bf16 \(shape)",
                            tensors: [t("x", shape), t("out", [f])], outputs: ["out"], tolerance: fp32Tolerance) { be, x in
            let x16 = be.makeOutput(shape, dtype: .bfloat16)
            be.convert(x["x"]!, to: x16)
            be.sumRows(x16, rows: 0..<r, into: x["out"]!, outOffset: 0)
        })
        cases.append(OpCase(name: "geluBackward all bf16 \(shape)",
                            tensors: [t("x", shape, .normal(scale: 3)), t("d", shape), t("dx", shape, .poison)],
                            outputs: ["dx"], tolerance: 4e-3) { be, x in
            let x16 = be.makeOutput(shape, dtype: .bfloat16), d16 = be.makeOutput(shape, dtype: .bfloat16)
            let dx16 = be.makeOutput(shape, dtype: .bfloat16)
            be.convert(x["x"]!, to: x16)
            be.convert(x["d"]!, to: d16)
            be.geluBackward(x: x16, dOut: d16, dX: dx16, overwrite: true)
            be.convert(dx16, to: x["dx"]!)
        })
        cases.append(OpCase(name: "gelu fwd+bwd from bf16 x \(shape)",
                            tensors: [t("x", shape, .normal(scale: 3)), t("d", shape), t("y", shape, .poison), t("dx", shape, .poison)],
                            outputs: ["y", "dx"], tolerance: 4e-3) { be, x in
            let x16 = be.makeOutput(shape, dtype: .bfloat16), y16 = be.makeOutput(shape, dtype: .bfloat16)
            let dx16 = be.makeOutput(shape, dtype: .bfloat16)
            be.convert(x["x"]!, to: x16)
            be.geluForward(x16, out: y16)
            be.geluBackward(x: x16, dOut: x["d"]!, dX: dx16, overwrite: true)
            be.convert(y16, to: x["y"]!)
            be.convert(dx16, to: x["dx"]!)
        })
        cases.append(OpCase(name: "overwrite swigluBackward \(shape)",
                            tensors: [t("gu", [r, 2 * f], .normal(scale: 2)), t("d", shape), t("dgu", [r, 2 * f], .normal(scale: 5))],
                            outputs: ["dgu"], tolerance: fp32Tolerance) { be, x in
            be.swigluBackward(gateUp: x["gu"]!, dOut: x["d"]!, dGateUp: x["dgu"]!, overwrite: true)
        })
    }
    for shape in [[1, 5], [300, 257], [2600, 2048]] {
        let (r, h) = (shape[0], shape[1])
        cases.append(OpCase(name: "overwrite layerNormBackward dX \(shape)",
                            tensors: [t("x", shape, .normal(scale: 2)), t("w", [h]), t("b", [h]), t("out", shape, .poison),
                                      t("mean", [r], .poison), t("rstd", [r], .poison), t("d", shape), t("dx", shape, .normal(scale: 5)),
                                      t("dw", [h]), t("db", [h])],
                            outputs: ["dx", "dw", "db"], tolerance: fp32Tolerance) { be, x in
            be.layerNormForward(x: x["x"]!, weight: x["w"]!, bias: x["b"]!, eps: 1e-5, out: x["out"]!, mean: x["mean"]!, rstd: x["rstd"]!)
            be.layerNormBackward(dOut: x["d"]!, x: x["x"]!, weight: x["w"]!, mean: x["mean"]!, rstd: x["rstd"]!,
                                 dX: x["dx"]!, dWeight: x["dw"]!, dBias: x["db"]!, overwriteDX: true)
        })
        cases.append(OpCase(name: "overwrite rmsNormBackward dX \(shape)",
                            tensors: [t("x", shape, .normal(scale: 2)), t("w", [h]), t("out", shape, .poison), t("rstd", [r], .poison),
                                      t("d", shape), t("dx", shape, .normal(scale: 5)), t("dw", [h])],
                            outputs: ["dx", "dw"], tolerance: fp32Tolerance) { be, x in
            be.rmsNormForward(x: x["x"]!, weight: x["w"]!, eps: 1e-6, out: x["out"]!, rstd: x["rstd"]!)
            be.rmsNormBackward(dOut: x["d"]!, x: x["x"]!, weight: x["w"]!, rstd: x["rstd"]!, dX: x["dx"]!, dWeight: x["dw"]!,
                               overwriteDX: true)
        })
    }
    for (batch, seq, heads, d) in [(1, 1, 1, 2), (2, 7, 3, 4), (2, 130, 2, 16)] {
        let shape = [batch * seq, 3 * heads * d]
        cases.append(OpCase(name: "overwrite ropeBackward b\(batch) s\(seq) n\(heads) d\(d)",
                            tensors: [t("d", shape), t("dqkv", shape, .normal(scale: 5))],
                            outputs: ["dqkv"], tolerance: fp32Tolerance) { be, x in
            be.ropeBackward(dOut: x["d"]!, heads: heads, seqLen: seq, theta: 10_000, dQkv: x["dqkv"]!, overwrite: true)
        })
    }
    for rows in [1, 130] {
        cases.append(OpCase(name: "overwrite linearBackward dX rows \(rows)",
                            tensors: [t("x", [rows, 70]), t("w", [70, 33]), t("d", [rows, 33]), t("dx", [rows, 70], .normal(scale: 5)),
                                      t("dw", [70, 33]), t("db", [33])],
                            outputs: ["dx", "dw", "db"], tolerance: fp32GemmTolerance) { be, x in
            be.linearBackward(x: x["x"]!, w: x["w"]!, dOut: x["d"]!, dX: x["dx"]!, dW: x["dw"]!, dB: x["db"]!, overwriteDX: true)
        })
    }
    // Flash attention's backward: the fp32 kernels (any width on an fp32 backend) and the
    // tensor-core ones (called directly), every element of dQkv written.
    for (batch, seq, heads, d) in [(3, 1, 2, 16), (2, 37, 3, 16), (2, 130, 2, 128)] {
        let (rows, h) = (batch * seq, heads * d)
        cases.append(OpCase(name: "overwrite flash attention bwd b\(batch) s\(seq) n\(heads) d\(d)",
                            tensors: [t("qkv", [rows, 3 * h]), t("out", [rows, h], .poison), t("lse", [batch * heads, seq], .poison),
                                      t("d", [rows, h]), t("dqkv", [rows, 3 * h], .normal(scale: 5))],
                            outputs: ["dqkv"], tolerance: fp32GemmTolerance) { be, x in
            be.flashAttentionForward(qkv: x["qkv"]!, heads: heads, seqLen: seq, out: x["out"]!, logSumExp: x["lse"]!)
            be.flashAttentionBackward(dOut: x["d"]!, qkv: x["qkv"]!, out: x["out"]!, logSumExp: x["lse"]!, heads: heads,
                                      seqLen: seq, dQkv: x["dqkv"]!, overwrite: true)
        })
    }
    for (batch, seq, heads, d) in [(3, 1, 2, 64), (2, 37, 3, 64), (2, 129, 2, 128), (1, 2048, 1, 128)] {
        let (rows, h) = (batch * seq, heads * d)
        cases.append(OpCase(name: "overwrite tensor-core flash attention bwd b\(batch) s\(seq) n\(heads) d\(d)",
                            tensors: [t("qkv", [rows, 3 * h]), t("out", [rows, h], .poison), t("lse", [batch * heads, seq], .poison),
                                      t("d", [rows, h]), t("dqkv", [rows, 3 * h], .normal(scale: 5))],
                            outputs: ["dqkv"], tolerance: tensorCoreFlashTolerance) { be, x in
            if let gpu = be as? CUDABackend {
                gpu.tensorCoreFlashAttentionForward(qkv: x["qkv"]!, heads: heads, seqLen: seq, out: x["out"]!, logSumExp: x["lse"]!)
                gpu.tensorCoreFlashAttentionBackward(dOut: x["d"]!, qkv: x["qkv"]!, out: x["out"]!, logSumExp: x["lse"]!, heads: heads,
                                                     seqLen: seq, dQkv: x["dqkv"]!, overwrite: true)
            } else {
                be.flashAttentionForward(qkv: x["qkv"]!, heads: heads, seqLen: seq, out: x["out"]!, logSumExp: x["lse"]!)
                be.flashAttentionBackward(dOut: x["d"]!, qkv: x["qkv"]!, out: x["out"]!, logSumExp: x["lse"]!, heads: heads,
                                          seqLen: seq, dQkv: x["dqkv"]!, overwrite: true)
            }
        })
    }
    return cases
}

/// `groupedGemm` into a bf16 c (beta 0: written, rounded once), both ways: through the sm_90a
/// kernel's bf16 epilogue (k and n multiples of 8) and through fp32 and a convert (the others).
func groupedGemmIntoBF16Cases() -> [OpCase] {
    var cases: [OpCase] = []
    for (counts, k, n) in [([0, 7, 1, 0, 20], 72, 40), ([33, 65, 0, 129, 1], 200, 136), ([5, 0, 9], 33, 17)] {
        let rows = counts.reduce(0, +), e = counts.count
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        for transB in [true, false] {
            cases.append(OpCase(name: "groupedGemm into bf16\(transB ? " transB" : "") k\(k) n\(n) counts \(counts)",
                                tensors: [t("a", [rows, k]), t("w", [e, k, n]), t("c", [rows, n], .poison)],
                                outputs: ["c"], tolerance: 4e-3) { be, x in
                let a16 = be.makeOutput([rows, k], dtype: .bfloat16), w16 = be.makeOutput([e, k, n], dtype: .bfloat16)
                let c16 = be.makeOutput([rows, n], dtype: .bfloat16)
                be.convert(x["a"]!, to: a16)
                be.convert(x["w"]!, to: w16)
                be.groupedGemm(transB: transB, k: k, n: n, alpha: 1, a: a16, w: w16, beta: 0, c: c16, rowOffsets: offsets, rowCounts: counts)
                be.convert(c16, to: x["c"]!)
            })
        }
    }
    return cases
}

