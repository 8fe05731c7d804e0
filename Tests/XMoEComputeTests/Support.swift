import Testing
@testable import XMoECompute

/// Reproducible test inputs (SplitMix64), independent of the code under test.
struct TestRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-scale, scale).
    mutating func uniform(_ scale: Double = 1) -> Double {
        (Double(next() >> 11) / Double(1 << 53) * 2 - 1) * scale
    }

    /// fp32-representable values, so the float64 reference sees exactly the fp32 inputs.
    mutating func floats(_ count: Int, scale: Double = 1) -> [Float] {
        (0..<count).map { _ in Float(uniform(scale)) }
    }

    mutating func int(below n: Int) -> Int { Int(next() % UInt64(n)) }
}

extension CPUBackend {
    func tensor(_ shape: [Int], _ values: [Float]) -> Tensor {
        let t = makeTensor(shape)
        upload(values, to: t)
        return t
    }

    func intTensor(_ shape: [Int], _ values: [Int32]) -> Tensor {
        let t = makeTensor(shape, dtype: .int32)
        upload(values, to: t)
        return t
    }
}

extension Array where Element == Float {
    var doubles: [Double] { map(Double.init) }
}

/// Expects |actual − expected| ≤ atol + rtol·|expected| element-wise, naming the first failure.
func expectClose(
    _ actual: [Float], _ expected: [Double], atol: Double, rtol: Double, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    for i in 0..<min(actual.count, expected.count) {
        let error = abs(Double(actual[i]) - expected[i])
        if !(error <= atol + rtol * abs(expected[i])) {
            Issue.record("\(what)[\(i)] = \(actual[i]), expected \(expected[i]) (error \(error))", sourceLocation: sourceLocation)
            return
        }
    }
}

/// Central finite differences (float64) of L(x) = Σ upstream · forward(x) with respect to x.
func numericalGradient(
    of forward: ([Double]) -> [Double], at x: [Double], upstream: [Double], step: Double = 1e-6
) -> [Double] {
    var x = x
    return (0..<x.count).map { i in
        let saved = x[i]
        x[i] = saved + step
        let plus = zip(forward(x), upstream).reduce(0) { $0 + $1.0 * $1.1 }
        x[i] = saved - step
        let minus = zip(forward(x), upstream).reduce(0) { $0 + $1.0 * $1.1 }
        x[i] = saved
        return (plus - minus) / (2 * step)
    }
}

/// Tolerances for fp32 analytic gradients against float64 finite differences on tiny shapes.
let gradATol = 2e-4
let gradRTol = 2e-3
