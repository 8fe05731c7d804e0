import Dispatch
import XMoECompute

/// How a parameter starts.
public enum ParameterInit: Sendable, Equatable {
    /// Normal(0, std²), drawn from `CounterRNG(seed, purpose: global name)` element by element.
    case normal(std: Double)
    case constant(Float)
}

/// The named parameters of one rank's shard, in registration order (stable: optimizer state and
/// checkpoints line up with it). `seal()` (the model calls it once built) moves them into flat
/// per-group buffers (`groups`: dense, then experts); each parameter becomes a view there.
public final class ParameterStore {
    public let backend: Backend
    public let seed: UInt64
    public private(set) var parameters: [Parameter] = []
    private var index: [String: Int] = [:]
    private var sealedGroups: [ParameterGroup]?

    public init(backend: Backend, seed: UInt64) {
        self.backend = backend
        self.seed = seed
    }

    /// Registers and initialises a parameter. For stacked experts, `name` holds `*` for the id,
    /// dim 0 of `shape` is `experts.count`, and each slice is drawn from its own global name.
    @discardableResult
    public func add(_ name: String, shape: [Int], initial: ParameterInit, weightDecay: Bool,
                    experts: Range<Int>? = nil, firstGradientOverwrites: Bool = false) -> Parameter {
        precondition(sealedGroups == nil, "parameter \(name) registered after the store was sealed")
        precondition(index[name] == nil, "parameter \(name) registered twice")
        precondition(experts == nil || shape.first == experts!.count, "\(name): stacked shape \(shape) vs experts \(experts!)")
        let p = Parameter(name: name, value: backend.makeTensor(shape), grad: backend.makeTensor(shape),
                          weightDecay: weightDecay, experts: experts, firstGradientOverwrites: firstGradientOverwrites)
        var values = [Float](repeating: 0, count: p.value.count)
        for slice in p.slices {
            switch initial {
            case .constant(let c):
                for i in slice.elements { values[i] = c }
            case .normal(let std):
                // Element n depends on n alone, so chunks in parallel give the same values; a
                // billion-parameter model (the GPU step benchmark) starts in seconds, not a minute.
                let rng = CounterRNG(seed: seed, purpose: slice.name)
                let start = slice.elements.lowerBound, count = slice.elements.count, chunk = 1 << 16
                values.withUnsafeMutableBufferPointer { out in
                    nonisolated(unsafe) let out = out
                    DispatchQueue.concurrentPerform(iterations: (count + chunk - 1) / chunk) { c in
                        for n in c * chunk..<min(count, (c + 1) * chunk) { out[start + n] = Float(std * rng.normal(UInt64(n))) }
                    }
                }
            }
        }
        backend.upload(values, to: p.value)
        index[name] = parameters.count
        parameters.append(p)
        return p
    }

    public subscript(name: String) -> Parameter? { index[name].map { parameters[$0] } }

    /// Re-derives every group's bf16 compute copy from the fp32 masters (one convert per group; a
    /// no-op when the backend computes in fp32). Call it whenever the masters change: after each
    /// optimizer step and after loading or restoring weights (sealing does it once).
    public func refreshComputeCopy() {
        for g in groups { g.refreshCompute(backend) }
    }

    /// Gradients accumulate (every backward adds), so a step starts here. A parameter whose first
    /// backward overwrites (`Parameter.firstGradientOverwrites`) is only marked pending; the rest of
    /// each flat buffer is cleared in maximal runs.
    public func zeroGrads() {
        for g in groups {
            var runStart: Int?
            for (i, p) in g.parameters.enumerated() {
                let range = g.elements(of: i)
                if p.firstGradientOverwrites {
                    p.gradPendingZero = true
                    if let start = runStart { backend.zero(g.grad.view(offset: start, shape: [range.lowerBound - start])) }
                    runStart = nil
                } else if runStart == nil {
                    runStart = range.lowerBound
                }
            }
            if let start = runStart, start < g.count { backend.zero(g.grad.view(offset: start, shape: [g.count - start])) }
        }
        gradientEpoch += 1
    }

    /// Clears every gradient still pending its zero (a parameter no backward wrote since zeroGrads).
    /// Call it before anything reads the gradients: reduction, norm, optimizer.
    public func settleGradients() {
        for p in parameters where p.gradPendingZero {
            backend.zero(p.grad)
            p.gradPendingZero = false
        }
    }

    /// How many times `zeroGrads` ran: the model's forward adds the LM head's gradient early and
    /// recomputes it in backward when the gradients were zeroed in between.
    public private(set) var gradientEpoch = 0

    /// Moves every parameter into its group's flat buffers (values copied bit for bit); idempotent.
    /// No parameter can be added afterwards.
    public func seal() {
        guard sealedGroups == nil else { return }
        sealedGroups = ParameterGroup.Kind.allCases.map { kind in
            ParameterGroup(kind: kind, parameters: parameters.filter { ($0.experts != nil) == (kind == .experts) },
                           backend: backend)
        }
    }

    /// The flat groups, dense first then experts (sealing the store on first use).
    public var groups: [ParameterGroup] {
        seal()
        return sealedGroups!
    }

    public func group(_ kind: ParameterGroup.Kind) -> ParameterGroup { groups.first { $0.kind == kind }! }

    /// Every globally named slice: (global name, parameter, element range in it).
    public var namedSlices: [(name: String, parameter: Parameter, elements: Range<Int>)] {
        parameters.flatMap { p in p.slices.map { ($0.name, p, $0.elements) } }
    }

    public var elementCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}
