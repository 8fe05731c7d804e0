import Foundation
import XMoECompute

// Routing and permutation (DESIGN item 4) on both backends. Indices and counts must match exactly
// (an int output's error is the fraction of differing elements, and every case here has fewer than
// 1e5 of them, so one difference fails); scores, weights and gradients to fp32 rounding. Names start
// with "route" so `--only route` runs them alone.

private func spec(_ name: String, _ shape: [Int], _ fill: Fill = .normal(scale: 1)) -> TensorSpec {
    TensorSpec(name: name, shape: shape, fill: fill)
}

/// Values drawn from a few levels: many exact ties, so the tie rules are exercised.
private func tied(_ count: Int, levels: Int, _ random: inout CheckRandom) -> [Float] {
    (0..<count).map { _ in Float(Int(random.next() % UInt64(levels))) * 0.5 - 1 }
}

/// The kept rows of a plan, as the CPU backend computes it (to size the tensors of a case).
private func cpuPlan(expert: [Int32], weight: [Float], experts: Int, capacity: Int?) -> (kept: [Int32], rowOfSlot: [Int32]) {
    let cpu = CPUBackend()
    let (e, w) = (cpu.makeTensor([expert.count], dtype: .int32), cpu.makeTensor([weight.count]))
    cpu.upload(expert, to: e); cpu.upload(weight, to: w)
    let (kept, rows) = (cpu.makeTensor([experts], dtype: .int32), cpu.makeTensor([expert.count], dtype: .int32))
    cpu.permutePlan(expert: e, weight: w, experts: experts, capacity: capacity, kept: kept, rowOfSlot: rows)
    return (cpu.downloadInts(kept), cpu.downloadInts(rows))
}

func routeCases(random: inout CheckRandom) -> [OpCase] {
    var cases: [OpCase] = []
    let forwardOutputs = ["scores", "expert", "weight", "routed", "losses"]

    // MARK: route forward and backward, every gating rule
    for (t, e, k) in [(1, 4, 2), (37, 8, 2), (300, 64, 6)] {
        for gating in RouteGating.allCases {
            let shapes = "T\(t) E\(e) K\(k) \(gating)"
            let tensors = [spec("logits", [t, e]), spec("bias", [e], .normal(scale: 0.1)), spec("scores", [t, e], .poison),
                           spec("expert", [t * k], .ints(.init(repeating: -7, count: t * k))), spec("weight", [t * k], .poison),
                           spec("routed", [e], .ints(.init(repeating: -7, count: e))), spec("losses", [2], .poison)]
            cases.append(OpCase(name: "route forward \(shapes)", tensors: tensors, outputs: forwardOutputs, tolerance: fp32Tolerance) { be, x in
                be.routeForward(logits: x["logits"]!, bias: x["bias"]!, gating: gating, topK: k, scores: x["scores"]!, expert: x["expert"]!,
                                weight: x["weight"]!, routed: x["routed"]!, losses: x["losses"]!)
            })
            cases.append(OpCase(name: "route backward \(shapes)",
                                tensors: tensors + [spec("dWeight", [t * k]), spec("dLogits", [t, e], .poison)],
                                outputs: ["dLogits"], tolerance: fp32Tolerance) { be, x in
                be.routeForward(logits: x["logits"]!, bias: x["bias"]!, gating: gating, topK: k, scores: x["scores"]!, expert: x["expert"]!,
                                weight: x["weight"]!, routed: x["routed"]!, losses: x["losses"]!)
                be.routeBackward(logits: x["logits"]!, scores: x["scores"]!, expert: x["expert"]!, weight: x["weight"]!, routed: x["routed"]!,
                                 dWeight: x["dWeight"]!, gating: gating, auxCoeff: 0.01, zCoeff: 0.001, dLogits: x["dLogits"]!)
            })
        }
    }
    // Ties everywhere: logits from 5 levels, so equal scores are common; the lower expert id must win.
    for gating in RouteGating.allCases {
        let (t, e, k) = (64, 16, 4)
        cases.append(OpCase(name: "route forward ties T\(t) E\(e) K\(k) \(gating)",
                            tensors: [spec("logits", [t, e], .values(tied(t * e, levels: 5, &random))), spec("bias", [e], .values(.init(repeating: 0, count: e))),
                                      spec("scores", [t, e], .poison), spec("expert", [t * k], .ints(.init(repeating: -7, count: t * k))),
                                      spec("weight", [t * k], .poison), spec("routed", [e], .ints(.init(repeating: -7, count: e))),
                                      spec("losses", [2], .poison)],
                            outputs: forwardOutputs, tolerance: fp32Tolerance) { be, x in
            be.routeForward(logits: x["logits"]!, bias: x["bias"]!, gating: gating, topK: k, scores: x["scores"]!, expert: x["expert"]!,
                            weight: x["weight"]!, routed: x["routed"]!, losses: x["losses"]!)
        })
    }

    // MARK: permutation: the plan, the token of each row, unpermute forward and backward
    struct PermuteShape { let name: String; let t: Int; let k: Int; let e: Int; let expert: [Int32]; let weight: [Float]; let capacity: Int? }
    var shapes: [PermuteShape] = []
    for capacity in [nil, 3] as [Int?] {
        // Experts 10..<16 get no token; weights from 4 levels (ties in the capacity ranking).
        shapes.append(PermuteShape(name: "T50 K4 E16 zero-token experts", t: 50, k: 4, e: 16, expert: random.ints(200, below: 10),
                                   weight: tied(200, levels: 4, &random), capacity: capacity))
        shapes.append(PermuteShape(name: "all to one expert T40 K1 E8", t: 40, k: 1, e: 8, expert: .init(repeating: 5, count: 40),
                                   weight: tied(40, levels: 3, &random), capacity: capacity))
        shapes.append(PermuteShape(name: "one token K2 E4", t: 1, k: 2, e: 4, expert: [3, 1], weight: [0.25, 0.75], capacity: capacity))
        shapes.append(PermuteShape(name: "T1000 K6 E64", t: 1000, k: 6, e: 64, expert: random.ints(6000, below: 64),
                                   weight: (0..<6000).map { _ in Float(random.uniform()) }, capacity: capacity.map { $0 * 40 }))
    }
    for s in shapes {
        let n = s.t * s.k
        let (kept, rowOfSlot) = cpuPlan(expert: s.expert, weight: s.weight, experts: s.e, capacity: s.capacity)
        let rows = Int(kept.reduce(0, +))
        let name = "\(s.name) capacity \(s.capacity.map(String.init) ?? "none")"
        cases.append(OpCase(name: "route permutePlan+permuteTokens \(name)",
                            tensors: [spec("expert", [n], .ints(s.expert)), spec("weight", [n], .values(s.weight)),
                                      spec("kept", [s.e], .ints(.init(repeating: -7, count: s.e))), spec("rowOfSlot", [n], .ints(.init(repeating: -7, count: n))),
                                      spec("token", [rows], .ints(.init(repeating: -7, count: rows)))],
                            outputs: ["kept", "rowOfSlot", "token"], tolerance: 0) { be, x in
            be.permutePlan(expert: x["expert"]!, weight: x["weight"]!, experts: s.e, capacity: s.capacity, kept: x["kept"]!, rowOfSlot: x["rowOfSlot"]!)
            be.permuteTokens(rowOfSlot: x["rowOfSlot"]!, topK: s.k, tokenOfRow: x["token"]!)
        })
        for h in [1, 33, 300] {
            let tensors = [spec("rowOfSlot", [n], .ints(rowOfSlot)), spec("weight", [n], .values(s.weight)), spec("src", [rows, h]),
                           spec("dst", [s.t, h]), spec("dSrc", [rows, h]), spec("dWeight", [n])]
            cases.append(OpCase(name: "route unpermute(+bwd, +unweighted) \(name) h\(h)", tensors: tensors,
                                outputs: ["dst", "dSrc", "dWeight"], tolerance: fp32Tolerance) { be, x in
                be.unpermute(x["src"]!, rowOfSlot: x["rowOfSlot"]!, weight: x["weight"]!, topK: s.k, into: x["dst"]!)
                // The permute's backward: the same gather without weights, adding into dSrc's partner.
                be.unpermuteBackward(dDst: x["dst"]!, src: x["src"]!, rowOfSlot: x["rowOfSlot"]!, weight: x["weight"]!, topK: s.k,
                                     dSrc: x["dSrc"]!, dWeight: x["dWeight"]!)
                be.unpermute(x["dSrc"]!, rowOfSlot: x["rowOfSlot"]!, weight: nil, topK: s.k, into: x["dst"]!)
            })
        }
        // Overwriting (the model's y_TH and the permute's backward into fresh buffers): dst starts as
        // random values; tokens with no kept slot (capacity 3) must come out 0. 33 columns take the
        // scalar kernel, 300 the float4 one.
        for h in [33, 300] {
            let tensors = [spec("rowOfSlot", [n], .ints(rowOfSlot)), spec("weight", [n], .values(s.weight)), spec("src", [rows, h]),
                           spec("dst", [s.t, h], .normal(scale: 5)), spec("plain", [s.t, h], .normal(scale: 5))]
            cases.append(OpCase(name: "route unpermute overwrite(+unweighted) \(name) h\(h)", tensors: tensors,
                                outputs: ["dst", "plain"], tolerance: fp32Tolerance) { be, x in
                be.unpermute(x["src"]!, rowOfSlot: x["rowOfSlot"]!, weight: x["weight"]!, topK: s.k, into: x["dst"]!, overwrite: true)
                be.unpermute(x["src"]!, rowOfSlot: x["rowOfSlot"]!, weight: nil, topK: s.k, into: x["plain"]!, overwrite: true)
            })
        }
        // fp32 dSrc overwritten (the model's dY_BH when an all-to-all needs fp32 rows): dSrc starts as
        // random values, every kept row is written; dWeight still accumulates.
        for h in [33, 300] {
            let tensors = [spec("rowOfSlot", [n], .ints(rowOfSlot)), spec("weight", [n], .values(s.weight)), spec("src", [rows, h]),
                           spec("dDst", [s.t, h]), spec("dSrc", [rows, h], .normal(scale: 5)), spec("dWeight", [n])]
            cases.append(OpCase(name: "route unpermute bwd overwrite dSrc \(name) h\(h)", tensors: tensors,
                                outputs: ["dSrc", "dWeight"], tolerance: fp32Tolerance) { be, x in
                be.unpermuteBackward(dDst: x["dDst"]!, src: x["src"]!, rowOfSlot: x["rowOfSlot"]!, weight: x["weight"]!, topK: s.k,
                                     dSrc: x["dSrc"]!, dWeight: x["dWeight"]!, overwriteDSrc: true)
            })
        }
        // Into bf16 (the experts' output gradient): written, not added to; 300 columns take the
        // float4 kernel, 33 the fp32 one and a convert. dSrc starts as poison: every row is written.
        for h in [33, 300] {
            let tensors = [spec("rowOfSlot", [n], .ints(rowOfSlot)), spec("weight", [n], .values(s.weight)), spec("src", [rows, h]),
                           spec("dDst", [s.t, h]), spec("dSrc", [rows, h], .poison), spec("dWeight", [n])]
            cases.append(OpCase(name: "route unpermute bwd into bf16 \(name) h\(h)", tensors: tensors,
                                outputs: ["dSrc", "dWeight"], tolerance: 4e-3) { be, x in
                let dSrc16 = be.makeOutput([rows, h], dtype: .bfloat16)
                be.unpermuteBackward(dDst: x["dDst"]!, src: x["src"]!, rowOfSlot: x["rowOfSlot"]!, weight: x["weight"]!, topK: s.k,
                                     dSrc: dSrc16, dWeight: x["dWeight"]!)
                be.convert(dSrc16, to: x["dSrc"]!)
            })
        }
        // From a bf16 src (the experts' bf16 output, no all-to-all between): both backends read the
        // same rounded values (made by convert inside the case), so the sums match to fp32 rounding.
        // 300 columns take the quad kernels (8-byte bf16 loads), 33 the scalar ones; dst and the
        // fp32 dSrc start as random values (added to), `plain` and `dSrcW` are overwritten.
        for h in [33, 300] {
            let tensors = [spec("rowOfSlot", [n], .ints(rowOfSlot)), spec("weight", [n], .values(s.weight)), spec("src", [rows, h]),
                           spec("dst", [s.t, h], .normal(scale: 5)), spec("plain", [s.t, h], .normal(scale: 5))]
            cases.append(OpCase(name: "route unpermute bf16 src(+overwrite) \(name) h\(h)", tensors: tensors,
                                outputs: ["dst", "plain"], tolerance: fp32Tolerance) { be, x in
                let src16 = be.makeOutput([rows, h], dtype: .bfloat16)
                be.convert(x["src"]!, to: src16)
                be.unpermute(src16, rowOfSlot: x["rowOfSlot"]!, weight: x["weight"]!, topK: s.k, into: x["dst"]!)
                be.unpermute(src16, rowOfSlot: x["rowOfSlot"]!, weight: nil, topK: s.k, into: x["plain"]!, overwrite: true)
            })
        }
        for h in [33, 300] {
            let tensors = [spec("rowOfSlot", [n], .ints(rowOfSlot)), spec("weight", [n], .values(s.weight)), spec("src", [rows, h]),
                           spec("dDst", [s.t, h]), spec("dSrc", [rows, h], .normal(scale: 5)), spec("dSrcW", [rows, h], .normal(scale: 5)),
                           spec("dWeight", [n])]
            cases.append(OpCase(name: "route unpermute bwd bf16 src(+overwrite) \(name) h\(h)", tensors: tensors,
                                outputs: ["dSrc", "dSrcW", "dWeight"], tolerance: fp32Tolerance) { be, x in
                let src16 = be.makeOutput([rows, h], dtype: .bfloat16)
                be.convert(x["src"]!, to: src16)
                be.unpermuteBackward(dDst: x["dDst"]!, src: src16, rowOfSlot: x["rowOfSlot"]!, weight: x["weight"]!, topK: s.k,
                                     dSrc: x["dSrc"]!, dWeight: x["dWeight"]!)
                be.unpermuteBackward(dDst: x["dDst"]!, src: src16, rowOfSlot: x["rowOfSlot"]!, weight: x["weight"]!, topK: s.k,
                                     dSrc: x["dSrcW"]!, dWeight: x["dWeight"]!, overwriteDSrc: true)
            })
        }
        // bf16 src and bf16 dSrc: the model's rows both ways where no all-to-all stands between.
        for h in [33, 300] {
            let tensors = [spec("rowOfSlot", [n], .ints(rowOfSlot)), spec("weight", [n], .values(s.weight)), spec("src", [rows, h]),
                           spec("dDst", [s.t, h]), spec("dSrc", [rows, h], .poison), spec("dWeight", [n])]
            cases.append(OpCase(name: "route unpermute bwd bf16 src into bf16 \(name) h\(h)", tensors: tensors,
                                outputs: ["dSrc", "dWeight"], tolerance: 4e-3) { be, x in
                let src16 = be.makeOutput([rows, h], dtype: .bfloat16), dSrc16 = be.makeOutput([rows, h], dtype: .bfloat16)
                be.convert(x["src"]!, to: src16)
                be.unpermuteBackward(dDst: x["dDst"]!, src: src16, rowOfSlot: x["rowOfSlot"]!, weight: x["weight"]!, topK: s.k,
                                     dSrc: dSrc16, dWeight: x["dWeight"]!)
                be.convert(dSrc16, to: x["dSrc"]!)
            })
        }
    }
    return cases
}
