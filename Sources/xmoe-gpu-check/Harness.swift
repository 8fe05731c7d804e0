import Foundation
import XMoECompute

/// How a check tensor starts: random normal values, given ints, or NaN poison (for outputs an op
/// must overwrite completely: a missed element stays NaN and fails the check).
enum Fill {
    case normal(scale: Float)
    case uniform(Float, Float)
    case ints([Int32])
    /// Given floats (e.g. a dropout mask of 0 and 1/(1−p)).
    case values([Float])
    case poison
}

struct TensorSpec {
    let name: String
    let shape: [Int]
    let fill: Fill
    var dtype: DType { if case .ints = fill { return .int32 } else { return .float32 } }
}

/// One op (or a forward/backward pair) run on both backends from the same inputs.
struct OpCase {
    let name: String
    let tensors: [TensorSpec]
    /// Tensors compared after `run` (outputs, and gradients the op accumulates into).
    let outputs: [String]
    /// Largest accepted ‖gpu − cpu‖ / ‖cpu‖ per output.
    let tolerance: Double
    /// For long reductions, where the CPU's sequential fp32 sum is itself the less accurate side:
    /// float64 values of some outputs computed from the inputs; those outputs are judged against
    /// these (both backends' errors are printed).
    var exact: (([String: Either]) -> [String: [Double]])? = nil
    let run: (Backend, [String: Tensor]) -> Void
}

struct Verdict {
    let name: String
    let worstError: Double
    let tolerance: Double
    let deterministic: Bool
    let note: String
    var passed: Bool { worstError.isFinite && worstError <= tolerance && deterministic }
}

/// SplitMix64 with Box–Muller: reproducible inputs from a printed seed.
struct CheckRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
    mutating func ints(_ count: Int, below limit: Int) -> [Int32] { (0..<count).map { _ in Int32(next() % UInt64(limit)) } }
}

struct CaseRunner {
    let cpu: Backend
    let gpu: Backend
    var seed: UInt64

    /// Runs `c` on the CPU once and on the GPU twice (fresh tensors each time) and compares.
    mutating func check(_ c: OpCase) -> Verdict {
        var random = CheckRandom(seed: seed)
        seed &+= 1
        var hostValues: [String: Either] = [:]
        for spec in c.tensors {
            let count = spec.shape.reduce(1, *)
            switch spec.fill {
            case .normal(let scale): hostValues[spec.name] = .floats((0..<count).map { _ in Float(random.normal()) * scale })
            case .uniform(let lo, let hi): hostValues[spec.name] = .floats((0..<count).map { _ in lo + (hi - lo) * Float(random.uniform()) })
            case .ints(let values):
                precondition(values.count == count, "\(c.name): \(spec.name) has \(values.count) ints for shape \(spec.shape)")
                hostValues[spec.name] = .ints(values)
            case .values(let values):
                precondition(values.count == count, "\(c.name): \(spec.name) has \(values.count) floats for shape \(spec.shape)")
                hostValues[spec.name] = .floats(values)
            case .poison: hostValues[spec.name] = .floats([Float](repeating: .nan, count: count))
            }
        }
        let reference = execute(c, on: cpu, hostValues)
        let first = execute(c, on: gpu, hostValues)
        let second = execute(c, on: gpu, hostValues)
        var worst = 0.0
        var notes: [String] = []
        var deterministic = true
        let exact = c.exact?(hostValues) ?? [:]
        for name in c.outputs {
            var error = relativeError(first[name]!, reference[name]!)
            if let truth = exact[name] {
                error = relativeError(first[name]!, truth)
                notes.append("\(name): gpu \(format(error)), cpu \(format(relativeError(reference[name]!, truth))) vs float64")
            }
            if !(error <= c.tolerance) && exact[name] == nil { notes.append("\(name) \(format(error))") }
            worst = error.isNaN || worst.isNaN ? .nan : max(worst, error)
            if first[name]! != second[name]! {
                deterministic = false
                notes.append("\(name) differs between two GPU runs")
            }
        }
        return Verdict(name: c.name, worstError: worst, tolerance: c.tolerance, deterministic: deterministic,
                       note: notes.joined(separator: "; "))
    }

    private func execute(_ c: OpCase, on backend: Backend, _ values: [String: Either]) -> [String: Either] {
        var tensors: [String: Tensor] = [:]
        for spec in c.tensors {
            let t = backend.makeTensor(spec.shape, dtype: spec.dtype)
            switch values[spec.name]! {
            case .floats(let f): backend.upload(f, to: t)
            case .ints(let i): backend.upload(i, to: t)
            }
            tensors[spec.name] = t
        }
        c.run(backend, tensors)
        var out: [String: Either] = [:]
        for name in c.outputs {
            let t = tensors[name]!
            out[name] = t.dtype == .int32 ? .ints(backend.downloadInts(t)) : .floats(backend.downloadFloats(t))
        }
        return out
    }
}

enum Either: Equatable {
    case floats([Float])
    case ints([Int32])

    /// Bitwise equality (NaN payloads included), for the determinism check.
    static func == (a: Either, b: Either) -> Bool {
        switch (a, b) {
        case let (.floats(x), .floats(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern }
        case let (.ints(x), .ints(y)): return x == y
        default: return false
        }
    }
}

/// ‖gpu − cpu‖₂ / ‖cpu‖₂ in Double (the absolute norm when the reference is zero); NaN if either
/// side holds a NaN or infinity. Ints: 0 when equal, else the fraction of differing elements.
func relativeError(_ gpu: Either, _ cpu: Either) -> Double {
    switch (gpu, cpu) {
    case let (.floats(g), .floats(c)):
        precondition(g.count == c.count)
        var diff = 0.0, norm = 0.0
        for i in 0..<g.count {
            if !g[i].isFinite || !c[i].isFinite { return .nan }
            let d = Double(g[i]) - Double(c[i])
            diff += d * d
            norm += Double(c[i]) * Double(c[i])
        }
        return norm > 0 ? (diff / norm).squareRoot() : diff.squareRoot()
    case let (.ints(g), .ints(c)):
        let wrong = zip(g, c).filter { $0 != $1 }.count
        return g.count == c.count ? Double(wrong) / Double(max(c.count, 1)) : .nan
    default:
        return .nan
    }
}

/// ‖gpu − exact‖₂ / ‖exact‖₂ against float64 values.
func relativeError(_ gpu: Either, _ exact: [Double]) -> Double {
    guard case let .floats(g) = gpu, g.count == exact.count else { return .nan }
    var diff = 0.0, norm = 0.0
    for i in 0..<g.count {
        if !g[i].isFinite { return .nan }
        diff += (Double(g[i]) - exact[i]) * (Double(g[i]) - exact[i])
        norm += exact[i] * exact[i]
    }
    return norm > 0 ? (diff / norm).squareRoot() : diff.squareRoot()
}

extension Either {
    var doubles: [Double] {
        switch self {
        case .floats(let f): return f.map(Double.init)
        case .ints(let i): return i.map(Double.init)
        }
    }
}

func format(_ x: Double) -> String { x.isNaN ? "NaN" : String(format: "%.2e", x) }
