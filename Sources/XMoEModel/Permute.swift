import XMoECompute

/// Which slots are kept and in what order: rows of the padding-free buffer x_BH, grouped by global
/// expert (ascending), slots in increasing order inside an expert.
public struct PermutePlan: Sendable {
    /// Tokens routed (T); slot s belongs to token s / topK.
    public let tokens: Int
    public let topK: Int
    /// Slot (t·K + j) that row b of x_BH carries.
    public let slot_B: [Int]
    /// Kept rows per global expert.
    public let counts_E: [Int]
    /// Slots routed but dropped for capacity.
    public let dropped: Int
    /// The per-expert capacity this plan was cut to (from this rank's T), nil when dropless.
    public let capacity: Int?

    /// Builds the plan. With a capacity, an over-full expert keeps its `capacity` highest-weight
    /// slots (equal weights: lower slot index first); without, every slot is kept.
    public init(routing r: Routing, capacity: Int?) {
        tokens = r.tokens
        topK = r.topK
        self.capacity = capacity
        var byExpert = [[Int]](repeating: [], count: r.experts)
        for (slot, e) in r.expert_TK.enumerated() { byExpert[e].append(slot) }
        var dropped = 0
        if let capacity {
            for e in 0..<r.experts where byExpert[e].count > capacity {
                let ranked = byExpert[e].sorted { a, b in
                    r.weight_TK[a] != r.weight_TK[b] ? r.weight_TK[a] > r.weight_TK[b] : a < b
                }
                dropped += byExpert[e].count - capacity
                byExpert[e] = ranked.prefix(capacity).sorted()
            }
        }
        slot_B = byExpert.flatMap { $0 }
        counts_E = byExpert.map(\.count)
        self.dropped = dropped
    }

    public var rows: Int { slot_B.count }
    /// The token each kept row carries (what a deduplicating dispatcher groups by).
    public var token_B: [Int] { slot_B.map { $0 / topK } }
}

/// The permute stage: x_BH[b] = x_TH[token of slot_B[b]] (backward: scatter-add back).
final class Permute {
    let backend: Backend
    private var token_B: Tensor?

    init(backend: Backend) { self.backend = backend }

    func forward(_ x_TH: Tensor, plan: PermutePlan) -> Tensor {
        let token_B = tokenIndex(backend, plan)
        self.token_B = token_B
        let x_BH = backend.makeTensor([plan.rows, x_TH.columns])
        backend.gatherRows(x_TH, index: token_B, into: x_BH)
        return x_BH
    }

    func backward(_ dX_BH: Tensor, dX_TH: Tensor) {
        guard let token_B else { fatalError("Permute: backward before forward") }
        backend.gatherRowsBackward(dDst: dX_BH, index: token_B, dSrc: dX_TH)
    }
}

/// Token of each kept row, as an int32 tensor for the gather/scatter ops.
func tokenIndex(_ backend: Backend, _ plan: PermutePlan) -> Tensor {
    let t = backend.makeTensor([plan.rows], dtype: .int32)
    backend.upload(plan.slot_B.map { Int32($0 / plan.topK) }, to: t)
    return t
}
