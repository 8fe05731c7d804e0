import XMoECompute

/// Parameters that reduce over the same process group, stored in one flat buffer each for values
/// and gradients (DESIGN item 3): `dense` (replicated over data parallelism: embeddings, attention,
/// norms, routers, shared experts) and `experts` (routed experts, replicated over expert-data
/// parallelism). Every parameter's `value`/`grad` is a view at `offsets[i]`, in registration order,
/// so gradient reduction, ZeRO shards and the optimizer work on contiguous element ranges.
/// A backend computing in bf16 also gets `compute`, a bf16 copy of `value` with the same views
/// (DESIGN item 3), refreshed by one `convert` per group.
public final class ParameterGroup {
    public enum Kind: String, Sendable, CaseIterable {
        case dense, experts
    }

    public let kind: Kind
    public let parameters: [Parameter]
    /// Element offset of each parameter in the flat buffers.
    public let offsets: [Int]
    /// Flat [count] buffers.
    public let value: Tensor
    public let grad: Tensor
    /// Flat bf16 compute copy of `value` when the backend's computeDType is bf16, else nil.
    public let compute: Tensor?

    public var count: Int { value.count }

    init(kind: Kind, parameters: [Parameter], backend: Backend) {
        self.kind = kind
        self.parameters = parameters
        var offsets: [Int] = [], next = 0
        for p in parameters {
            offsets.append(next)
            next += p.value.count
        }
        self.offsets = offsets
        value = backend.makeTensor([next])
        grad = backend.makeTensor([next])
        compute = backend.computeDType == .float32 ? nil : backend.makeTensor([next], dtype: backend.computeDType)
        for (p, offset) in zip(parameters, offsets) {
            let view = value.view(offset: offset, shape: p.value.shape)
            backend.copy(from: p.value, to: view)
            p.value = view
            p.grad = grad.view(offset: offset, shape: p.grad.shape)
            p.compute = compute?.view(offset: offset, shape: p.value.shape)
        }
        refreshCompute(backend)
    }

    /// compute = value rounded (one convert of the whole group); nothing in fp32.
    public func refreshCompute(_ backend: Backend) {
        if let compute { backend.convert(value, to: compute) }
    }

    /// The element range of parameter `i` in the flat buffers.
    public func elements(of i: Int) -> Range<Int> { offsets[i]..<(offsets[i] + parameters[i].value.count) }

    /// Maximal runs of `range` whose parameters share one weight-decay flag, in order: AdamW runs one
    /// update per run (it is element-wise, so splitting the range changes no result).
    public func decayRuns(in range: Range<Int>) -> [(elements: Range<Int>, decay: Bool)] {
        var runs: [(elements: Range<Int>, decay: Bool)] = []
        for (i, p) in parameters.enumerated() {
            let part = elements(of: i).clamped(to: range)
            guard !part.isEmpty else { continue }
            if let last = runs.last, last.decay == p.weightDecay, last.elements.upperBound == part.lowerBound {
                runs[runs.count - 1].elements = last.elements.lowerBound..<part.upperBound
            } else {
                runs.append((part, p.weightDecay))
            }
        }
        return runs
    }
}
