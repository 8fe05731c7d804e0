import Testing
@testable import XMoECompute

/// Round-to-nearest-even to bf16 defined on real numbers (float64, exact for every fp32 input):
/// the two bf16 neighbours of x are found by value, the nearer one wins, a tie goes to the one
/// with an even last mantissa bit; past the largest finite bf16 by half an ulp or more it is ∞.
/// Shares no bit tricks with `BFloat16.bits`.
func referenceBFloat16(_ x: Float) -> Float {
    if x.isNaN { return .nan }
    if x.isInfinite || x == 0 { return x }
    let v = Double(x).magnitude
    // bf16 magnitudes: e in [-133, 127]; spacing 2^(e-7) in [2^e, 2^(e+1)), subnormals spacing 2^-133.
    let e = max(Int(v.exponent), -126)
    let spacing = Double(sign: .plus, exponent: e - 7, significand: 1)
    let lowerSteps = (v / spacing).rounded(.down)
    let lower = lowerSteps * spacing, upper = lower + spacing
    let pick: Double
    if v - lower < upper - v { pick = lower } else if v - lower > upper - v { pick = upper } else {
        pick = lowerSteps.truncatingRemainder(dividingBy: 2) == 0 ? lower : upper
    }
    let largest = Double(sign: .plus, exponent: 127, significand: 1 + 127.0 / 128)
    let magnitude = pick > largest ? Double.infinity : pick
    return Float(x < 0 ? -magnitude : magnitude)
}

@Suite struct BFloat16Tests {
    @Test func roundingMatchesFloat64DefinitionOnRandomPatterns() {
        var random = TestRandom(seed: 11)
        var mismatches: [UInt32] = []
        for _ in 0..<200_000 {
            let bits = UInt32(truncatingIfNeeded: random.next())
            let x = Float(bitPattern: bits)
            if x.isNaN { continue }
            let got = roundToBFloat16(x), want = referenceBFloat16(x)
            if got.bitPattern != want.bitPattern { mismatches.append(bits) }
        }
        let count = mismatches.count
        #expect(count == 0, "first mismatching patterns: \(mismatches.prefix(5).map { String($0, radix: 16) })")
    }

    @Test func tiesSubnormalsInfinitiesAndNaN() {
        let ulp = Float(1) / 128  // bf16 spacing in [1, 2)
        let tiny = Float(bitPattern: 0x0000_8000)  // half the smallest bf16 subnormal step (2^-134)
        let cases: [(Float, String)] = [
            (1 + ulp / 2, "tie down to even"), (1 + 3 * ulp / 2, "tie up to even"), (-(1 + 3 * ulp / 2), "negative tie"),
            (1 + ulp / 2 + ulp / 64, "just above a tie"), (Float(bitPattern: 0x0001_8000), "subnormal tie up"),
            (Float(bitPattern: 0x0000_8000), "subnormal tie to zero"), (Float(bitPattern: 0x0000_8001), "above subnormal tie"),
            (tiny / 2, "below half the smallest step"), (Float.leastNormalMagnitude, "smallest normal"),
            (Float(bitPattern: 0x007f_ffff), "largest subnormal rounds to the smallest normal"),
            (.greatestFiniteMagnitude, "overflow to infinity"), (Float(bitPattern: 0x7f7f_7fff), "just below the overflow tie"),
            (Float(bitPattern: 0x7f7f_8000), "overflow tie goes to infinity"), (.infinity, "inf"), (-.infinity, "-inf"),
            (0, "zero"), (-0.0, "negative zero"),
        ]
        for (x, what) in cases {
            let got = roundToBFloat16(x).bitPattern, want = referenceBFloat16(x).bitPattern
            #expect(got == want, "\(what): bf16(\(x)) = \(String(got, radix: 16)), expected \(String(want, radix: 16))")
        }
        let negativeZero = roundToBFloat16(-0.0)
        #expect(negativeZero.sign == .minus)
        // A NaN whose low payload bits would carry into the exponent stays a NaN (quiet), sign kept.
        for bits: UInt32 in [0x7fc0_0000, 0x7f80_0001, 0x7fff_ffff, 0xff80_0001, 0xffc0_1234] {
            let r = roundToBFloat16(Float(bitPattern: bits))
            let quiet = r.bitPattern & 0x0040_0000 != 0
            #expect(r.isNaN && quiet && (r.sign == .minus) == (bits >> 31 == 1), "NaN \(String(bits, radix: 16))")
        }
    }

    @Test func cpuTensorsStoreRoundedPatternsAndConvertBothWays() {
        let backend = CPUBackend(threads: 2)
        var random = TestRandom(seed: 12)
        let values = random.floats(1000, scale: 100) + [.nan, .infinity, -.infinity, 0, Float(bitPattern: 0x0001_8000)]
        let n = values.count
        let x = backend.tensor([n], values)
        let y = backend.makeTensor([n], dtype: .bfloat16)
        backend.convert(x, to: y)
        let patterns = Array(y.halves), uploaded = backend.makeTensor([n], dtype: .bfloat16)
        backend.upload(values, to: uploaded)
        let uploadedPatterns = Array(uploaded.halves)
        #expect(uploadedPatterns == patterns, "upload rounds as convert does")
        let back = backend.makeTensor([n])
        backend.convert(y, to: back)
        let widened = backend.downloadFloats(back), downloaded = backend.downloadFloats(y)
        var wrong = 0
        for i in 0..<n {
            let want = referenceBFloat16(values[i])
            if want.isNaN ? !(widened[i].isNaN && downloaded[i].isNaN) : (widened[i].bitPattern != want.bitPattern || downloaded[i] != widened[i]) {
                wrong += 1
            }
            if UInt16(truncatingIfNeeded: widened[i].bitPattern >> 16) != patterns[i] || widened[i].bitPattern & 0xffff != 0 { wrong += 1 }
        }
        #expect(wrong == 0)
        // Views and byte offsets are in 2-byte elements.
        let view = y.view(offset: 3, shape: [2])
        let viewValues = backend.downloadFloats(view)
        #expect(viewValues == [widened[3], widened[4]])
        #expect(y.byteCount == 2 * n)
    }

    @Test func float16TensorsRoundTrip() {
        let backend = CPUBackend()
        let values: [Float] = [1, 1 + 1.0 / 2048, 65504, 70000, 6e-8, -2.5]
        let t = backend.makeTensor([values.count], dtype: .float16)
        backend.upload(values, to: t)
        let got = backend.downloadFloats(t)
        // binary16: 11 significant bits, largest finite 65504, smallest subnormal 2^-24.
        let want: [Float] = [1, 1, 65504, .infinity, Float(bitPattern: 0x3380_0000), -2.5]
        #expect(got == want)
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func bf16GemmIsFp32ArithmeticOnTheRoundedOperands(transA: Bool, transB: Bool) {
        let backend = CPUBackend(threads: 2, computeDType: .bfloat16)
        var random = TestRandom(seed: 13)
        let (m, n, k) = (150, 7, 33)  // m > the 128-row block: two blocks
        let lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3
        let aValues = random.floats(5 + (transA ? k : m) * lda), bValues = random.floats(4 + (transB ? n : k) * ldb)
        let cValues = random.floats(m * ldc)
        let a = backend.makeTensor([aValues.count], dtype: .bfloat16), b = backend.makeTensor([bValues.count], dtype: .bfloat16)
        backend.upload(aValues, to: a)
        backend.upload(bValues, to: b)
        let c = backend.tensor([cValues.count], cValues)
        backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, aOffset: 5, lda: lda,
                     b: b, bOffset: 4, ldb: ldb, beta: 2, c: c, cOffset: 0, ldc: ldc)
        let want = referenceGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5,
                                 a: aValues.map { Double(referenceBFloat16($0)) }, aOffset: 5, lda: lda,
                                 b: bValues.map { Double(referenceBFloat16($0)) }, bOffset: 4, ldb: ldb,
                                 beta: 2, c: cValues.map(Double.init), cOffset: 0, ldc: ldc)
        let got = backend.downloadFloats(c)
        var worst = 0.0
        for i in 0..<got.count { worst = max(worst, abs(Double(got[i]) - want[i])) }
        // fp32 accumulation of 33 products of magnitude ≤ 1: errors ~1e-6; unrounded operands would
        // be off by ~1e-2 (bf16 keeps 8 bits).
        #expect(worst < 2e-5, "worst abs error \(worst)")
    }

    @Test func bf16GroupedGemmAndWeightGradient() {
        let backend = CPUBackend(computeDType: .bfloat16)
        var random = TestRandom(seed: 14)
        let (k, n) = (9, 5), counts = [3, 0, 4], offsets = [0, 3, 3], rows = 7
        let xValues = random.floats(rows * k), wValues = random.floats(3 * k * n), dyValues = random.floats(rows * n)
        func bf16(_ v: [Float], _ shape: [Int]) -> Tensor {
            let t = backend.makeTensor(shape, dtype: .bfloat16)
            backend.upload(v, to: t)
            return t
        }
        let x = bf16(xValues, [rows, k]), w = bf16(wValues, [3, k, n]), dy = bf16(dyValues, [rows, n])
        let y = backend.makeTensor([rows, n]), dW = backend.makeTensor([3, k, n])
        backend.groupedGemm(transB: false, k: k, n: n, alpha: 1, a: x, w: w, beta: 0, c: y, rowOffsets: offsets, rowCounts: counts)
        backend.groupedGemmWeightGrad(k: k, n: n, a: x, dC: dy, dW: dW, rowOffsets: offsets, rowCounts: counts)
        let (xr, wr, dyr) = (xValues.map { Double(referenceBFloat16($0)) }, wValues.map { Double(referenceBFloat16($0)) },
                             dyValues.map { Double(referenceBFloat16($0)) })
        var wantY = [Double](repeating: 0, count: rows * n), wantDW = [Double](repeating: 0, count: 3 * k * n)
        for g in 0..<3 { for r in offsets[g]..<(offsets[g] + counts[g]) { for j in 0..<n { for p in 0..<k {
            wantY[r * n + j] += xr[r * k + p] * wr[g * k * n + p * n + j]
            wantDW[g * k * n + p * n + j] += xr[r * k + p] * dyr[r * n + j]
        } } } }
        let (gotY, gotDW) = (backend.downloadFloats(y), backend.downloadFloats(dW))
        let errY = zip(gotY, wantY).map { abs(Double($0) - $1) }.max() ?? 0
        let errDW = zip(gotDW, wantDW).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(errY < 1e-5 && errDW < 1e-5, "y \(errY), dW \(errDW)")
    }
}
