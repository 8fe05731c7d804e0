import Testing
@testable import XMoECompute

/// The `overwrite…` flags of the backward ops that the model uses as first writers of fresh
/// (`makeOutput`) buffers: the output starts as nonzero garbage, and must end exactly as the adding
/// form leaves a zeroed buffer (0 + a == a), so a form that still adds, or skips an element, fails.
/// Each case also runs through a `ProfilingBackend`, which must pass the flag on.
@Suite struct OverwriteModeTests {
    /// Runs `op` twice on fresh inputs from `seed`: adding into `output` zeroed, and overwriting
    /// `output` pre-filled with random values; then compares every tensor named in `compared`.
    private func check(
        _ what: String, seed: UInt64, shapes: [String: [Int]], output: String, compared: [String],
        ints: [String: [Int32]] = [:], _ op: (Backend, [String: Tensor], _ overwrite: Bool) -> Void
    ) {
        for profiled in [false, true] {
            let cpu = CPUBackend(threads: 2)
            let backend: Backend = profiled ? ProfilingBackend(inner: cpu, synchronize: {}) : cpu
            func inputs(garbage: Bool) -> [String: Tensor] {
                var random = TestRandom(seed: seed)
                var tensors: [String: Tensor] = [:]
                for name in shapes.keys.sorted() {
                    let shape = shapes[name]!, count = shape.reduce(1, *)
                    if let values = ints[name] {
                        tensors[name] = cpu.intTensor(shape, values)
                        continue
                    }
                    let values = random.floats(count, scale: 2)
                    // The output: zeros for the adding form, values far from the result for the overwrite.
                    tensors[name] = cpu.tensor(shape, name != output ? values : garbage ? values.map { 100 + $0 } : [Float](repeating: 0, count: count))
                }
                return tensors
            }
            let added = inputs(garbage: false), written = inputs(garbage: true)
            op(backend, added, false)
            op(backend, written, true)
            for name in compared {
                let a = cpu.downloadFloats(added[name]!), w = cpu.downloadFloats(written[name]!)
                let firstDifference = zip(a, w).enumerated().first { $0.element.0 != $0.element.1 }
                let message = "\(what)\(profiled ? " (profiled)" : ""): \(name)[\(firstDifference?.offset ?? -1)] "
                    + "overwritten \(firstDifference?.element.1 ?? 0), added into zeros \(firstDifference?.element.0 ?? 0)"
                #expect(firstDifference == nil, "\(message)")
            }
        }
    }

    @Test func geluAndSwigluBackward() {
        check("geluBackward", seed: 1, shapes: ["x": [5, 37], "d": [5, 37], "dx": [5, 37]], output: "dx", compared: ["dx"]) { be, x, o in
            be.geluBackward(x: x["x"]!, dOut: x["d"]!, dX: x["dx"]!, overwrite: o)
        }
        check("swigluBackward", seed: 2, shapes: ["gu": [5, 74], "d": [5, 37], "dgu": [5, 74]], output: "dgu", compared: ["dgu"]) { be, x, o in
            be.swigluBackward(gateUp: x["gu"]!, dOut: x["d"]!, dGateUp: x["dgu"]!, overwrite: o)
        }
    }

    @Test func normBackwards() {
        // rstd must be positive and mean consistent enough: take them from the forward.
        check("layerNormBackward", seed: 3, shapes: ["x": [6, 33], "w": [33], "b": [33], "d": [6, 33], "dx": [6, 33], "dw": [33], "db": [33]],
              output: "dx", compared: ["dx", "dw", "db"]) { be, x, o in
            let out = be.makeOutput([6, 33]), mean = be.makeOutput([6]), rstd = be.makeOutput([6])
            be.layerNormForward(x: x["x"]!, weight: x["w"]!, bias: x["b"]!, eps: 1e-5, out: out, mean: mean, rstd: rstd)
            be.layerNormBackward(dOut: x["d"]!, x: x["x"]!, weight: x["w"]!, mean: mean, rstd: rstd, dX: x["dx"]!, dWeight: x["dw"]!,
                                 dBias: x["db"]!, overwriteDX: o)
        }
        check("rmsNormBackward", seed: 4, shapes: ["x": [6, 33], "w": [33], "d": [6, 33], "dx": [6, 33], "dw": [33]],
              output: "dx", compared: ["dx", "dw"]) { be, x, o in
            let out = be.makeOutput([6, 33]), rstd = be.makeOutput([6])
            be.rmsNormForward(x: x["x"]!, weight: x["w"]!, eps: 1e-6, out: out, rstd: rstd)
            be.rmsNormBackward(dOut: x["d"]!, x: x["x"]!, weight: x["w"]!, rstd: rstd, dX: x["dx"]!, dWeight: x["dw"]!, overwriteDX: o)
        }
    }

    @Test func ropeBackward() {
        let (batch, seq, heads, d) = (2, 5, 3, 4), shape = [batch * seq, 3 * heads * d]
        check("ropeBackward", seed: 5, shapes: ["d": shape, "dqkv": shape], output: "dqkv", compared: ["dqkv"]) { be, x, o in
            be.ropeBackward(dOut: x["d"]!, heads: heads, seqLen: seq, theta: 10_000, dQkv: x["dqkv"]!, overwrite: o)
        }
    }

    @Test func flashAttentionBackward() {
        let (batch, seq, heads, d) = (2, 6, 2, 4)
        let (rows, h) = (batch * seq, heads * d)
        check("flashAttentionBackward", seed: 8, shapes: ["qkv": [rows, 3 * h], "d": [rows, h], "dqkv": [rows, 3 * h]],
              output: "dqkv", compared: ["dqkv"]) { be, x, o in
            let out = be.makeOutput([rows, h]), lse = be.makeOutput([batch * heads, seq])
            be.flashAttentionForward(qkv: x["qkv"]!, heads: heads, seqLen: seq, out: out, logSumExp: lse)
            be.flashAttentionBackward(dOut: x["d"]!, qkv: x["qkv"]!, out: out, logSumExp: lse, heads: heads, seqLen: seq,
                                      dQkv: x["dqkv"]!, overwrite: o)
        }
    }

    @Test func unpermuteWritesEveryToken() {
        // 4 tokens, K 2, 5 kept rows; token 2 keeps no slot (its row must become 0), token 3 one.
        let rowOfSlot: [Int32] = [3, 0, 4, 1, -1, -1, -1, 2]
        for weighted in [true, false] {
            check("unpermute\(weighted ? "" : " unweighted")", seed: 6, shapes: ["src": [5, 7], "w": [8], "rows": [8], "dst": [4, 7]],
                  output: "dst", compared: ["dst"], ints: ["rows": rowOfSlot]) { be, x, o in
                be.unpermute(x["src"]!, rowOfSlot: x["rows"]!, weight: weighted ? x["w"]! : nil, topK: 2, into: x["dst"]!, overwrite: o)
            }
        }
    }

    @Test func unpermuteBackwardWritesDSrc() {
        // Token 2 keeps no slot; every one of the 5 kept rows has one slot.
        let rowOfSlot: [Int32] = [3, 0, 4, 1, -1, -1, -1, 2]
        check("unpermuteBackward", seed: 9, shapes: ["dDst": [4, 7], "src": [5, 7], "w": [8], "rows": [8], "dSrc": [5, 7], "dw": [8]],
              output: "dSrc", compared: ["dSrc", "dw"], ints: ["rows": rowOfSlot]) { be, x, o in
            be.unpermuteBackward(dDst: x["dDst"]!, src: x["src"]!, rowOfSlot: x["rows"]!, weight: x["w"]!, topK: 2, dSrc: x["dSrc"]!,
                                 dWeight: x["dw"]!, overwriteDSrc: o)
        }
    }

    @Test func linearBackwardOverwritesDX() {
        check("linearBackward", seed: 7, shapes: ["x": [9, 13], "w": [13, 6], "d": [9, 6], "dx": [9, 13], "dw": [13, 6], "db": [6]],
              output: "dx", compared: ["dx", "dw", "db"]) { be, x, o in
            be.linearBackward(x: x["x"]!, w: x["w"]!, dOut: x["d"]!, dX: x["dx"]!, dW: x["dw"]!, dB: x["db"]!, overwriteDX: o)
        }
    }

    /// A bf16 dX holds exactly the fp32 result rounded as `convert` rounds (the experts' dPre).
    @Test func geluBackwardIntoBF16IsTheRoundedFloat32() {
        let cpu = CPUBackend(threads: 2)
        var random = TestRandom(seed: 91)
        let count = 4099
        let x = cpu.tensor([count], random.floats(count, scale: 3)), d = cpu.tensor([count], random.floats(count, scale: 2))
        let full = cpu.makeOutput([count]), half = cpu.makeOutput([count], dtype: .bfloat16), rounded = cpu.makeOutput([count])
        cpu.geluBackward(x: x, dOut: d, dX: full, overwrite: true)
        cpu.geluBackward(x: x, dOut: d, dX: half, overwrite: true)
        cpu.convert(half, to: rounded)
        let expected = cpu.downloadFloats(full).map { roundToBFloat16($0).bitPattern }
        let got = cpu.downloadFloats(rounded).map(\.bitPattern)
        #expect(got == expected)
    }

    /// A bf16 x (the experts' pre-activation): GELU and its backward see it widened exactly.
    @Test func geluFromBF16InputIsTheFloat32OpOnWidenedValues() {
        let cpu = CPUBackend(threads: 2)
        var random = TestRandom(seed: 92)
        let count = 3001
        let wide = cpu.tensor([count], random.floats(count, scale: 3).map(roundToBFloat16)), d = cpu.tensor([count], random.floats(count, scale: 2))
        let half = cpu.makeOutput([count], dtype: .bfloat16)
        cpu.convert(wide, to: half)
        let (y32, y16, dx32, dx16) = (cpu.makeOutput([count]), cpu.makeOutput([count], dtype: .bfloat16),
                                      cpu.makeOutput([count]), cpu.makeOutput([count], dtype: .bfloat16))
        cpu.geluForward(wide, out: y32)
        cpu.geluForward(half, out: y16)
        cpu.geluBackward(x: wide, dOut: d, dX: dx32, overwrite: true)
        cpu.geluBackward(x: half, dOut: d, dX: dx16, overwrite: true)
        let (a, b) = (cpu.makeOutput([count]), cpu.makeOutput([count]))
        cpu.convert(y16, to: a)
        cpu.convert(dx16, to: b)
        #expect(cpu.downloadFloats(a).map(\.bitPattern) == cpu.downloadFloats(y32).map { roundToBFloat16($0).bitPattern })
        #expect(cpu.downloadFloats(b).map(\.bitPattern) == cpu.downloadFloats(dx32).map { roundToBFloat16($0).bitPattern })
    }

    /// sumRows over bf16 rows: the fp32 sums of the widened values, rows range honoured.
    @Test func sumRowsOverBF16IsTheFloat32SumOfWidenedValues() {
        let cpu = CPUBackend(threads: 2)
        var random = TestRandom(seed: 93)
        let (rows, cols) = (37, 19)
        let wide = cpu.tensor([rows, cols], random.floats(rows * cols, scale: 2).map(roundToBFloat16))
        let half = cpu.makeOutput([rows, cols], dtype: .bfloat16)
        cpu.convert(wide, to: half)
        let start = random.floats(cols)
        let (a, b) = (cpu.tensor([cols], start), cpu.tensor([cols], start))
        cpu.sumRows(wide, rows: 3..<30, into: a, outOffset: 0)
        cpu.sumRows(half, rows: 3..<30, into: b, outOffset: 0)
        #expect(cpu.downloadFloats(b).map(\.bitPattern) == cpu.downloadFloats(a).map(\.bitPattern))
    }

    /// RoPE + flash attention's backward into a bf16 dQkv: the fp32 gradient rounded.
    @Test func flashRoPEBackwardIntoBF16IsTheRoundedFloat32() {
        let cpu = CPUBackend(threads: 2)
        var random = TestRandom(seed: 94)
        let (seq, heads, d) = (7, 2, 4), rows = 2 * seq, h = heads * d
        let qkv = cpu.tensor([rows, 3 * h], random.floats(rows * 3 * h)), dOut = cpu.tensor([rows, h], random.floats(rows * h))
        let out = cpu.makeOutput([rows, h]), lse = cpu.makeOutput([2 * heads, seq])
        let saved = cpu.flashAttentionRoPEForward(qkv: qkv, heads: heads, seqLen: seq, theta: 10_000, out: out, logSumExp: lse)
        let full = cpu.makeOutput([rows, 3 * h]), half = cpu.makeOutput([rows, 3 * h], dtype: .bfloat16), widened = cpu.makeOutput([rows, 3 * h])
        cpu.flashAttentionRoPEBackward(dOut: dOut, saved: saved, out: out, logSumExp: lse, heads: heads, seqLen: seq, theta: 10_000,
                                       dQkv: full, overwrite: true)
        cpu.flashAttentionRoPEBackward(dOut: dOut, saved: saved, out: out, logSumExp: lse, heads: heads, seqLen: seq, theta: 10_000,
                                       dQkv: half, overwrite: true)
        cpu.convert(half, to: widened)
        #expect(cpu.downloadFloats(widened).map(\.bitPattern) == cpu.downloadFloats(full).map { roundToBFloat16($0).bitPattern })
    }
}
