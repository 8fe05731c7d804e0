import Foundation
import XMoECompute

/// fp32 thresholds, stated: the two backends differ only in summation order and in ulps of expf,
/// tanhf and the like, so their relative difference stays far under these.
let fp32Tolerance = 1e-5
/// GEMMs with long inner dimensions (cuBLAS blocks the k-sum differently from OpenBLAS).
let fp32GemmTolerance = 2e-5

private func t(_ name: String, _ shape: [Int], _ fill: Fill = .normal(scale: 1)) -> TensorSpec {
    TensorSpec(name: name, shape: shape, fill: fill)
}

/// Every op of the Backend protocol, forward and backward, on awkward shapes: single rows and
/// tokens, sizes that divide no tile, zero-row experts, repeated scatter targets.
func opCases(random: inout CheckRandom) -> [OpCase] {
    var cases: [OpCase] = []

    // MARK: memory
    cases.append(OpCase(name: "fill+zero+copy [3,1001]", tensors: [t("a", [3, 1001]), t("b", [3, 1001], .poison), t("z", [5, 7])],
                        outputs: ["a", "b", "z"], tolerance: 0) { be, x in
        be.copy(from: x["a"]!, to: x["b"]!); be.fill(x["a"]!, value: 0.375); be.zero(x["z"]!)
    })

    // MARK: gemm (every transpose, offsets, leading dimensions wider than the matrix, k = 0)
    for (m, n, k) in [(1, 1, 1), (37, 129, 65), (256, 300, 513), (5, 6, 0)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2
            let aRows = ta ? k : m, bRows = tb ? n : k
            cases.append(OpCase(name: "gemm \(ta ? "T" : "N")\(tb ? "T" : "N") m\(m) n\(n) k\(k)",
                                tensors: [t("a", [aRows * lda + 4]), t("b", [bRows * ldb + 2]), t("c", [m * ldc + 1])],
                                outputs: ["c"], tolerance: fp32GemmTolerance) { be, x in
                be.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.7, a: x["a"]!, aOffset: 4, lda: lda,
                        b: x["b"]!, bOffset: 2, ldb: ldb, beta: 0.3, c: x["c"]!, cOffset: 1, ldc: ldc)
            })
        }
    }
    cases.append(OpCase(name: "batchedGemm NT 3×(9×10×11)", tensors: [t("a", [3 * 99 + 5]), t("b", [3 * 110 + 5]), t("c", [3 * 90])],
                        outputs: ["c"], tolerance: fp32GemmTolerance) { be, x in
        be.batchedGemm(transA: false, transB: true, m: 9, n: 10, k: 11, alpha: 1.5, a: x["a"]!, aOffset: 5, lda: 11, strideA: 99,
                       b: x["b"]!, bOffset: 5, ldb: 11, strideB: 110, beta: 0.5, c: x["c"]!, cOffset: 0, ldc: 10, strideC: 90, batchCount: 3)
    })

    // MARK: grouped GEMM (experts): zero-row experts, one-row experts, a lone busy expert
    for counts in [[0, 7, 1, 0, 20], [0, 0, 1, 0], [130, 0, 257]] {
        let rows = counts.reduce(0, +), g = counts.count
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        for (k, n) in [(33, 17), (64, 96)] {
            for transB in [false, true] {
                cases.append(OpCase(name: "groupedGemm\(transB ? " transB" : "") counts \(counts) k\(k) n\(n)",
                                    tensors: [t("a", [rows, k]), t("w", [g, k, n]), t("c", [rows, n])],
                                    outputs: ["c"], tolerance: fp32GemmTolerance) { be, x in
                    be.groupedGemm(transB: transB, k: k, n: n, alpha: 1, a: x["a"]!, w: x["w"]!, beta: 1, c: x["c"]!,
                                   rowOffsets: offsets, rowCounts: counts)
                })
            }
            cases.append(OpCase(name: "groupedGemmWeightGrad counts \(counts) k\(k) n\(n)",
                                tensors: [t("a", [rows, k]), t("dc", [rows, n]), t("dw", [g, k, n])],
                                outputs: ["dw"], tolerance: fp32GemmTolerance) { be, x in
                be.groupedGemmWeightGrad(k: k, n: n, a: x["a"]!, dC: x["dc"]!, dW: x["dw"]!, rowOffsets: offsets, rowCounts: counts)
            })
        }
        cases.append(OpCase(name: "groupedLinear fwd+bwd (bias) counts \(counts)",
                            tensors: [t("x", [rows, 24]), t("w", [g, 24, 40]), t("b", [g, 40]), t("out", [rows, 40], .poison),
                                      t("dout", [rows, 40]), t("dx", [rows, 24]), t("dw", [g, 24, 40]), t("db", [g, 40])],
                            outputs: ["out", "dx", "dw", "db"], tolerance: fp32GemmTolerance) { be, x in
            be.groupedLinearForward(x: x["x"]!, w: x["w"]!, b: x["b"]!, rowOffsets: offsets, rowCounts: counts, out: x["out"]!)
            be.groupedLinearBackward(x: x["x"]!, w: x["w"]!, dOut: x["dout"]!, rowOffsets: offsets, rowCounts: counts,
                                     dX: x["dx"]!, dW: x["dw"]!, dB: x["db"]!)
        })
        // Into bf16 (the experts' second GEMM where the unpermute reads its rows): bf16 operands made
        // inside the case, so both backends multiply the same values; the fp32 sums, bias included,
        // rounded once. k 24, n 40 go to the sm_90a kernel (bias and rounding in its epilogue); k 33,
        // n 17 to the product, bias pass and convert.
        for (k, n) in [(24, 40), (33, 17)] {
            cases.append(OpCase(name: "groupedLinearForward into bf16 (bias) k\(k) n\(n) counts \(counts)",
                                tensors: [t("x", [rows, k]), t("w", [g, k, n]), t("b", [g, n]), t("out", [rows, n], .poison)],
                                outputs: ["out"], tolerance: bf16Tolerance) { be, x in
                let out16 = be.makeOutput([rows, n], dtype: .bfloat16)
                be.groupedLinearForward(x: be.converted(x["x"]!, to: .bfloat16), w: be.converted(x["w"]!, to: .bfloat16), b: x["b"]!,
                                        rowOffsets: offsets, rowCounts: counts, out: out16)
                be.convert(out16, to: x["out"]!)
            })
        }
    }
    for rows in [1, 77] {
        cases.append(OpCase(name: "linear fwd+bwd (bias) rows \(rows)",
                            tensors: [t("x", [rows, 50]), t("w", [50, 70]), t("b", [70]), t("out", [rows, 70], .poison),
                                      t("dout", [rows, 70]), t("dx", [rows, 50]), t("dw", [50, 70]), t("db", [70])],
                            outputs: ["out", "dx", "dw", "db"], tolerance: fp32GemmTolerance) { be, x in
            be.linearForward(x: x["x"]!, w: x["w"]!, b: x["b"]!, out: x["out"]!)
            be.linearBackward(x: x["x"]!, w: x["w"]!, dOut: x["dout"]!, dX: x["dx"]!, dW: x["dw"]!, dB: x["db"]!)
        })
    }

    // MARK: element-wise (17M elements exercise the grid-stride loop past 65535 blocks)
    for count in [1, 1003, 17_000_001] {
        cases.append(OpCase(name: "add+scale+axpy n\(count)", tensors: [t("a", [count]), t("b", [count]), t("out", [count], .poison), t("y", [count])],
                            outputs: ["out", "y"], tolerance: fp32Tolerance) { be, x in
            be.add(x["a"]!, x["b"]!, out: x["out"]!); be.scale(x["out"]!, by: -1.25); be.axpy(alpha: 0.5, x: x["a"]!, y: x["y"]!)
        })
    }
    cases.append(OpCase(name: "addBias+sumRows rows 3..<40 of [41,131]", tensors: [t("o", [41, 131]), t("bias", [400]), t("s", [300])],
                        outputs: ["o", "s"], tolerance: fp32Tolerance) { be, x in
        be.addBias(x["o"]!, bias: x["bias"]!, biasOffset: 7, rows: 3..<40)
        be.sumRows(x["o"]!, rows: 2..<41, into: x["s"]!, outOffset: 11)
    })
    // Segments out of order, one empty, one of a single row, one long (every row lane busy); 131
    // columns leave a partial block of 32. Then the bias-gradient shape of a dense layer (8192 rows).
    let segmentOffsets = [900, 0, 5, 6, 3100], segmentCounts = [2200, 5, 0, 1, 900]
    cases.append(OpCase(name: "addSegmentBias+sumRowSegments segments \(segmentCounts) of [4000,131]",
                        tensors: [t("o", [4000, 131]), t("bias", [5, 131]), t("s", [5, 131])],
                        outputs: ["o", "s"], tolerance: fp32Tolerance) { be, x in
        be.addSegmentBias(x["o"]!, bias: x["bias"]!, rowOffsets: segmentOffsets, rowCounts: segmentCounts)
        be.sumRowSegments(x["o"]!, rowOffsets: segmentOffsets, rowCounts: segmentCounts, into: x["s"]!)
    })
    // Widths a multiple of 4 (the float4 bias kernels), bias at an aligned offset; 600 and 1000 rows
    // give the column sums two and three row chunks, the last one short.
    cases.append(OpCase(name: "addBias+sumRows float4 rows 1..<600 of [600,256]", tensors: [t("o", [600, 256]), t("bias", [260]), t("s", [256])],
                        outputs: ["o", "s"], tolerance: fp32Tolerance) { be, x in
        be.addBias(x["o"]!, bias: x["bias"]!, biasOffset: 4, rows: 1..<600)
        be.sumRows(x["o"]!, rows: 0..<600, into: x["s"]!, outOffset: 0)
    })
    cases.append(OpCase(name: "addSegmentBias+sumRowSegments float4 segments \(segmentCounts) of [4000,128]",
                        tensors: [t("o", [4000, 128]), t("bias", [5, 128]), t("s", [5, 128])],
                        outputs: ["o", "s"], tolerance: fp32Tolerance) { be, x in
        be.addSegmentBias(x["o"]!, bias: x["bias"]!, rowOffsets: segmentOffsets, rowCounts: segmentCounts)
        be.sumRowSegments(x["o"]!, rowOffsets: segmentOffsets, rowCounts: segmentCounts, into: x["s"]!)
    })
    // bf16 rows (the experts' output gradient in bf16), summed in fp32: exact inputs, the same sums.
    cases.append(OpCase(name: "sumRowSegments bf16 segments \(segmentCounts) of [4000,131]",
                        tensors: [t("o", [4000, 131]), t("s", [5, 131])], outputs: ["s"], tolerance: fp32Tolerance) { be, x in
        let o16 = be.converted(x["o"]!, to: .bfloat16)
        be.sumRowSegments(o16, rowOffsets: segmentOffsets, rowCounts: segmentCounts, into: x["s"]!)
    })
    cases.append(OpCase(name: "sumRows rows 0..<8192 of [8192,2048]", tensors: [t("x", [8192, 2048]), t("s", [2048])],
                        outputs: ["s"], tolerance: fp32Tolerance) { be, x in
        be.sumRows(x["x"]!, rows: 0..<8192, into: x["s"]!, outOffset: 0)
    })

    // MARK: activations
    for shape in [[1, 1], [37, 129], [1000, 1003]] {
        let (r, f) = (shape[0], shape[1])
        cases.append(OpCase(name: "gelu+silu fwd+bwd \(shape)",
                            tensors: [t("x", shape, .normal(scale: 3)), t("g", shape, .poison), t("s", shape, .poison), t("d", shape),
                                      t("dxg", shape), t("dxs", shape)],
                            outputs: ["g", "s", "dxg", "dxs"], tolerance: fp32Tolerance) { be, x in
            be.geluForward(x["x"]!, out: x["g"]!); be.geluBackward(x: x["x"]!, dOut: x["d"]!, dX: x["dxg"]!)
            be.siluForward(x["x"]!, out: x["s"]!); be.siluBackward(x: x["x"]!, dOut: x["d"]!, dX: x["dxs"]!)
        })
        // Into bf16 (the experts' path): the same GELU rounded once; fp32 results a rounding apart
        // land on neighbouring bf16 values now and then, 2⁻⁸ relative.
        cases.append(OpCase(name: "gelu fwd into bf16 \(shape)", tensors: [t("x", shape, .normal(scale: 3)), t("g", shape, .poison)],
                            outputs: ["g"], tolerance: 8e-3) { be, x in
            let g16 = be.makeTensor(shape, dtype: .bfloat16)
            be.geluForward(x["x"]!, out: g16)
            be.convert(g16, to: x["g"]!)
        })
        cases.append(OpCase(name: "swiglu fwd+bwd \(shape)",
                            tensors: [t("gu", [r, 2 * f], .normal(scale: 2)), t("out", shape, .poison), t("d", shape), t("dgu", [r, 2 * f])],
                            outputs: ["out", "dgu"], tolerance: fp32Tolerance) { be, x in
            be.swigluForward(gateUp: x["gu"]!, out: x["out"]!)
            be.swigluBackward(gateUp: x["gu"]!, dOut: x["d"]!, dGateUp: x["dgu"]!)
        })
    }

    // MARK: dropout (a product with the caller's mask: bit-identical to the CPU, tolerance 0)
    for (shape, p) in [([1, 1], 0.5), ([37, 129], 0.1), ([1000, 1003], 0.3)] {
        let count = shape.reduce(1, *), keep = Float(1 / (1 - p))
        let mask = (0..<count).map { _ in random.uniform() < p ? Float(0) : keep }
        cases.append(OpCase(name: "dropout fwd (copy and in place)+bwd \(shape) p \(p)",
                            tensors: [t("x", shape), t("mask", shape, .values(mask)), t("out", shape, .poison), t("inplace", shape),
                                      t("d", shape), t("dx", shape)],
                            outputs: ["out", "inplace", "dx"], tolerance: 0) { be, x in
            be.dropoutForward(x["x"]!, mask: x["mask"]!, out: x["out"]!)
            be.dropoutForward(x["inplace"]!, mask: x["mask"]!, out: x["inplace"]!)
            be.dropoutBackward(dOut: x["d"]!, mask: x["mask"]!, dX: x["dx"]!)
        })
    }

    // MARK: views at non-zero offsets into one buffer (as flat parameter groups hold parameters):
    // every address must honour the view's byte offset, and nothing outside the views may change
    // (the whole buffer is compared, and its untouched stretches must equal their inputs).
    do {
        let (r, h) = (7, 33), n = r * h
        let offsets = (x: 5, w: 5 + n + 3, out: 5 + n + 3 + h + 1, d: 2 * n + h + 20, dx: 3 * n + h + 31, mask: 4 * n + h + 40)
        let total = 5 * n + h + 47
        let maskValues = (0..<n).map { _ in random.uniform() < 0.25 ? Float(0) : Float(1 / 0.75) }
        cases.append(OpCase(name: "views at offsets: add, scale, axpy, dropout, rmsNorm, softmax, copy, gemm, adamw",
                            tensors: [t("buf", [total]), t("rstd", [r], .poison), t("m", [n + 9], .uniform(-0.1, 0.1)),
                                      t("v", [n + 9], .uniform(0, 0.01)), t("maskbuf", [n + 2], .values([0, 0] + maskValues))],
                            outputs: ["buf", "rstd", "m", "v"], tolerance: fp32Tolerance) { be, x in
            let buf = x["buf"]!
            let xv = buf.view(offset: offsets.x, shape: [r, h]), w = buf.view(offset: offsets.w, shape: [h])
            let out = buf.view(offset: offsets.out, shape: [r, h]), d = buf.view(offset: offsets.d, shape: [r, h])
            let dx = buf.view(offset: offsets.dx, shape: [r, h]), mask = x["maskbuf"]!.view(offset: 2, shape: [r, h])
            be.rmsNormForward(x: xv, weight: w, eps: 1e-6, out: out, rstd: x["rstd"]!)
            be.dropoutForward(out, mask: mask, out: out)
            be.add(out, d, out: out)
            be.axpy(alpha: 0.5, x: d, y: dx)
            be.dropoutBackward(dOut: d, mask: mask, dX: dx)
            be.softmaxForward(logits: dx.reshaped([r, h]), probs: d)
            be.scale(buf.view(offset: offsets.mask, shape: [h + 2]), by: 3)
            be.copy(from: xv.view(offset: h, shape: [h]), to: buf.view(offset: offsets.mask + h + 3, shape: [h]))
            // A view of a view: offsets add up.
            let tail = buf.view(offset: offsets.d, shape: [total - offsets.d])
            be.gemm(transA: false, transB: true, m: r, n: 3, k: h, alpha: 1, a: xv, aOffset: 0, lda: h,
                    b: tail, bOffset: n, ldb: h, beta: 1, c: tail.view(offset: 2 * n, shape: [r * 3]), cOffset: 0, ldc: 3)
            be.adamwUpdate(param: buf.view(offset: offsets.out, shape: [n]), grad: buf.view(offset: offsets.dx, shape: [n]),
                           m: x["m"]!.view(offset: 9, shape: [n]), v: x["v"]!.view(offset: 9, shape: [n]), step: 3,
                           lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
        })
    }

    // MARK: softmax and norms
    for shape in [[1, 1], [7, 1000], [3, 50304]] {
        cases.append(OpCase(name: "softmax fwd+bwd \(shape)",
                            tensors: [t("x", shape, .normal(scale: 4)), t("p", shape, .poison), t("dp", shape), t("dx", shape)],
                            outputs: ["p", "dx"], tolerance: fp32Tolerance, exact: exactSoftmax(cols: shape[1])) { be, x in
            be.softmaxForward(logits: x["x"]!, probs: x["p"]!)
            be.softmaxBackward(probs: x["p"]!, dProbs: x["dp"]!, dLogits: x["dx"]!)
        })
    }
    for shape in [[1, 5], [300, 257], [33, 2048], [1000, 300], [2600, 2048]] {
        let (r, h) = (shape[0], shape[1])
        cases.append(OpCase(name: "layerNorm fwd+bwd \(shape)",
                            tensors: [t("x", shape, .normal(scale: 2)), t("w", [h]), t("b", [h]), t("out", shape, .poison),
                                      t("mean", [r], .poison), t("rstd", [r], .poison), t("d", shape), t("dx", shape), t("dw", [h]), t("db", [h])],
                            outputs: ["out", "mean", "rstd", "dx", "dw", "db"], tolerance: fp32Tolerance) { be, x in
            be.layerNormForward(x: x["x"]!, weight: x["w"]!, bias: x["b"]!, eps: 1e-5, out: x["out"]!, mean: x["mean"]!, rstd: x["rstd"]!)
            be.layerNormBackward(dOut: x["d"]!, x: x["x"]!, weight: x["w"]!, mean: x["mean"]!, rstd: x["rstd"]!,
                                 dX: x["dx"]!, dWeight: x["dw"]!, dBias: x["db"]!)
        })
        cases.append(OpCase(name: "rmsNorm fwd+bwd \(shape)",
                            tensors: [t("x", shape, .normal(scale: 2)), t("w", [h]), t("out", shape, .poison), t("rstd", [r], .poison),
                                      t("d", shape), t("dx", shape), t("dw", [h])],
                            outputs: ["out", "rstd", "dx", "dw"], tolerance: fp32Tolerance) { be, x in
            be.rmsNormForward(x: x["x"]!, weight: x["w"]!, eps: 1e-6, out: x["out"]!, rstd: x["rstd"]!)
            be.rmsNormBackward(dOut: x["d"]!, x: x["x"]!, weight: x["w"]!, rstd: x["rstd"]!, dX: x["dx"]!, dWeight: x["dw"]!)
        })
    }

    // MARK: RoPE and attention (seq 1 = a single token; 130 divides no tile)
    for (batch, seq, heads, d) in [(1, 1, 1, 2), (2, 7, 3, 4), (2, 130, 2, 16)] {
        let rows = batch * seq, h = heads * d
        cases.append(OpCase(name: "rope fwd (copy and in place)+bwd b\(batch) s\(seq) n\(heads) d\(d)",
                            tensors: [t("qkv", [rows, 3 * h]), t("inplace", [rows, 3 * h]), t("out", [rows, 3 * h], .poison),
                                      t("d", [rows, 3 * h]), t("dqkv", [rows, 3 * h])],
                            outputs: ["out", "inplace", "dqkv"], tolerance: fp32Tolerance) { be, x in
            be.ropeForward(qkv: x["qkv"]!, heads: heads, seqLen: seq, theta: 10_000, out: x["out"]!)
            be.ropeForward(qkv: x["inplace"]!, heads: heads, seqLen: seq, theta: 10_000, out: x["inplace"]!)
            be.ropeBackward(dOut: x["d"]!, heads: heads, seqLen: seq, theta: 10_000, dQkv: x["dqkv"]!)
        })
        cases.append(OpCase(name: "attention fwd+bwd b\(batch) s\(seq) n\(heads) d\(d)",
                            tensors: [t("qkv", [rows, 3 * h]), t("out", [rows, h], .poison), t("p", [batch * heads * seq * seq], .poison),
                                      t("d", [rows, h]), t("dqkv", [rows, 3 * h])],
                            outputs: ["out", "p", "dqkv"], tolerance: fp32Tolerance) { be, x in
            be.attentionForward(qkv: x["qkv"]!, heads: heads, seqLen: seq, out: x["out"]!, probs: x["p"]!)
            be.attentionBackward(dOut: x["d"]!, qkv: x["qkv"]!, probs: x["p"]!, heads: heads, seqLen: seq, dQkv: x["dqkv"]!)
        })
    }

    // MARK: routing data movement, sort, embedding
    for (srcRows, n, h) in [(1, 1, 1), (10, 37, 129), (300, 1800, 64), (5000, 2500, 33)] {
        let index = random.ints(n, below: srcRows)
        cases.append(OpCase(name: "gatherRows fwd+bwd src\(srcRows) n\(n) h\(h)",
                            tensors: [t("src", [srcRows, h]), t("index", [n], .ints(index)), t("dst", [n, h], .poison),
                                      t("ddst", [n, h]), t("dsrc", [srcRows, h])],
                            outputs: ["dst", "dsrc"], tolerance: fp32Tolerance) { be, x in
            be.gatherRows(x["src"]!, index: x["index"]!, into: x["dst"]!)
            be.gatherRowsBackward(dDst: x["ddst"]!, index: x["index"]!, dSrc: x["dsrc"]!)
        })
        cases.append(OpCase(name: "scatterAddRows fwd+bwd dst\(srcRows) n\(n) h\(h)",
                            tensors: [t("src", [n, h]), t("index", [n], .ints(index)), t("w", [n]), t("dst", [srcRows, h]),
                                      t("ddst", [srcRows, h]), t("dsrc", [n, h]), t("dw", [n])],
                            outputs: ["dst", "dsrc", "dw"], tolerance: fp32Tolerance) { be, x in
            be.scatterAddRows(x["src"]!, index: x["index"]!, weight: x["w"]!, into: x["dst"]!)
            be.scatterAddRowsBackward(dDst: x["ddst"]!, src: x["src"]!, index: x["index"]!, weight: x["w"]!,
                                      dSrc: x["dsrc"]!, dWeight: x["dw"]!)
        })
    }
    for (n, keyCount, limit) in [(1, 1, 1), (1000, 8, 5), (49_152, 64, 64), (3000, 8192, 8192)] {
        let keys = random.ints(n, below: limit)
        cases.append(OpCase(name: "stableArgsort n\(n) keys \(keyCount) (used \(limit))",
                            tensors: [t("keys", [n], .ints(keys)), t("order", [n], .ints([Int32](repeating: -7, count: n))),
                                      t("counts", [keyCount], .ints([Int32](repeating: -7, count: keyCount)))],
                            outputs: ["order", "counts"], tolerance: 0) { be, x in
            be.stableArgsort(keys: x["keys"]!, keyCount: keyCount, order: x["order"]!, counts: x["counts"]!)
        })
    }
    let tokens = random.ints(30, below: 50)
    cases.append(OpCase(name: "embedding fwd+bwd V50 H16 T30",
                        tensors: [t("tokens", [30], .ints(tokens)), t("table", [50, 16]), t("out", [30, 16], .poison),
                                  t("d", [30, 16]), t("dtable", [50, 16])],
                        outputs: ["out", "dtable"], tolerance: fp32Tolerance) { be, x in
        be.embeddingForward(tokens: x["tokens"]!, table: x["table"]!, out: x["out"]!)
        be.embeddingBackward(tokens: x["tokens"]!, dOut: x["d"]!, dTable: x["dtable"]!)
    })

    // MARK: loss and optimizer
    for (rows, v) in [(1, 3), (5, 50304)] {
        var targets = random.ints(rows, below: v)
        if rows > 1 { targets[1] = -1 }
        cases.append(OpCase(name: "crossEntropy fwd+bwd rows \(rows) V\(v)\(rows > 1 ? " (one ignored target)" : "")",
                            tensors: [t("logits", [rows, v], .normal(scale: 3)), t("targets", [rows], .ints(targets)),
                                      t("p", [rows, v], .poison), t("loss", [rows], .poison), t("dloss", [rows]), t("dlogits", [rows, v])],
                            outputs: ["p", "loss", "dlogits"], tolerance: fp32Tolerance, exact: exactCrossEntropy(v: v)) { be, x in
            be.crossEntropyForward(logits: x["logits"]!, targets: x["targets"]!, probs: x["p"]!, losses: x["loss"]!)
            be.crossEntropyBackward(probs: x["p"]!, targets: x["targets"]!, dLosses: x["dloss"]!, dLogits: x["dlogits"]!)
        })
    }
    // n 1 and 100 003: the scalar kernel; 1 000 000 (aligned, a multiple of 4): the float4 kernel.
    for n in [1, 100_003, 1_000_000] {
        cases.append(OpCase(name: "adamw n\(n) (3 steps)",
                            tensors: [t("p", [n]), t("g", [n]), t("m", [n], .normal(scale: 0.1)), t("v", [n], .uniform(0, 0.01))],
                            outputs: ["p", "m", "v"], tolerance: fp32Tolerance) { be, x in
            for step in 1...3 {
                be.adamwUpdate(param: x["p"]!, grad: x["g"]!, m: x["m"]!, v: x["v"]!, step: step,
                               lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
            }
        })
        // The fused bf16 refresh: the copy, widened back to fp32, is the updated p rounded.
        cases.append(OpCase(name: "adamw n\(n) with bf16 compute copy (3 steps)",
                            tensors: [t("p", [n]), t("g", [n]), t("m", [n], .normal(scale: 0.1)), t("v", [n], .uniform(0, 0.01)),
                                      t("copy", [n], .poison)],
                            outputs: ["p", "m", "v", "copy"], tolerance: fp32Tolerance) { be, x in
            let copy = be.makeTensor([n], dtype: .bfloat16)
            for step in 1...3 {
                be.adamwUpdate(param: x["p"]!, grad: x["g"]!, m: x["m"]!, v: x["v"]!, step: step,
                               lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, computeCopy: copy)
            }
            be.convert(copy, to: x["copy"]!)
        })
    }
    return cases
}

/// Softmax and its backward in float64 (rows of `cols`), from the case's inputs x, dp, dx.
private func exactSoftmax(cols: Int) -> ([String: Either]) -> [String: [Double]] {
    { values in
        let x = values["x"]!.doubles, dp = values["dp"]!.doubles
        var dx = values["dx"]!.doubles
        var p = x
        for r in 0..<(x.count / cols) {
            let row = r * cols..<(r + 1) * cols
            let m = x[row].max()!
            let sum = row.reduce(0.0) { $0 + exp(x[$1] - m) }
            for j in row { p[j] = exp(x[j] - m) / sum }
            let dot = row.reduce(0.0) { $0 + p[$1] * dp[$1] }
            for j in row { dx[j] += p[j] * (dp[j] - dot) }
        }
        return ["p": p, "dx": dx]
    }
}

/// Cross-entropy forward and backward in float64 (rows of `v` logits; target < 0 ignored).
private func exactCrossEntropy(v: Int) -> ([String: Either]) -> [String: [Double]] {
    { values in
        let x = values["logits"]!.doubles, targets = values["targets"]!.doubles.map(Int.init), dLoss = values["dloss"]!.doubles
        var p = x, loss = [Double](repeating: 0, count: targets.count), dl = values["dlogits"]!.doubles
        for r in 0..<targets.count {
            let row = r * v..<(r + 1) * v
            let m = x[row].max()!
            let sum = row.reduce(0.0) { $0 + exp(x[$1] - m) }
            for j in row { p[j] = exp(x[j] - m) / sum }
            guard targets[r] >= 0 else { continue }
            loss[r] = log(sum) + m - x[r * v + targets[r]]
            for j in row { dl[j] += dLoss[r] * p[j] }
            dl[r * v + targets[r]] -= dLoss[r]
        }
        return ["p": p, "loss": loss, "dlogits": dl]
    }
}
