import XMoECompute

/// Which slots are kept and in what order: rows of the padding-free buffer x_BH, grouped by global
/// expert (ascending), slots in increasing order inside an expert.
///
/// The model's plans come from the backend's `permutePlan` and live in its memory (the inverse map
/// rowOfSlot_TK and the token of each row); only counts_E is read back, because the all-to-all
/// splits and the grouped GEMM's offsets need it on the host. Host plans (`init(routing:capacity:)`)
/// list the slots themselves, for tests and references.
public struct PermutePlan: Sendable {
    /// Tokens routed (T); slot s belongs to token s / topK.
    public let tokens: Int
    public let topK: Int
    /// Kept rows per global expert.
    public let counts_E: [Int]
    /// The per-expert capacity this plan was cut to (from this rank's T), nil when dropless.
    public let capacity: Int?
    /// Host plans: the slot (t·K + j) that row b of x_BH carries.
    public let slot_B: [Int]?
    /// Backend plans: int32 [T·K], the row of x_BH each slot went to (−1: dropped).
    public let rowOfSlot_TK: Tensor?
    /// Backend plans: int32 [B], the token each kept row carries (what the permuting gather reads,
    /// and what a deduplicating dispatcher groups by).
    public let tokenOfRow_B: Tensor?

    /// Builds a host plan. With a capacity, an over-full expert keeps its `capacity` highest-weight
    /// slots (equal weights: lower slot index first); without, every slot is kept.
    public init(routing r: Routing, capacity: Int?) {
        tokens = r.tokens
        topK = r.topK
        self.capacity = capacity
        var byExpert = [[Int]](repeating: [], count: r.experts)
        for (slot, e) in r.expert_TK.enumerated() { byExpert[e].append(slot) }
        if let capacity {
            for e in 0..<r.experts where byExpert[e].count > capacity {
                let ranked = byExpert[e].sorted { a, b in
                    r.weight_TK[a] != r.weight_TK[b] ? r.weight_TK[a] > r.weight_TK[b] : a < b
                }
                byExpert[e] = ranked.prefix(capacity).sorted()
            }
        }
        slot_B = byExpert.flatMap { $0 }
        counts_E = byExpert.map(\.count)
        (rowOfSlot_TK, tokenOfRow_B) = (nil, nil)
    }

    /// Plans the routing `r` on its backend (the same rule as the host plan). Reads back counts_E:
    /// the one wait for the device in routing.
    init(_ backend: Backend, routing r: DeviceRouting, capacity: Int?) {
        tokens = r.tokens
        topK = r.topK
        self.capacity = capacity
        let kept_E = backend.makeTensor([r.experts], dtype: .int32), rowOfSlot = backend.makeTensor([r.tokens * r.topK], dtype: .int32)
        backend.permutePlan(expert: r.expert_TK, weight: r.weight_TK, experts: r.experts, capacity: capacity,
                            kept: kept_E, rowOfSlot: rowOfSlot)
        counts_E = backend.downloadInts(kept_E).map { Int($0) }
        let kept = counts_E.reduce(0, +)
        let bound = capacity.map { min(r.tokens * r.topK, $0 * r.experts) } ?? r.tokens * r.topK
        let tokenOfRow = backend.makeTensor([max(bound, kept)], dtype: .int32).view(offset: 0, shape: [kept])
        backend.permuteTokens(rowOfSlot: rowOfSlot, topK: r.topK, tokenOfRow: tokenOfRow)
        slot_B = nil
        (rowOfSlot_TK, tokenOfRow_B) = (rowOfSlot, tokenOfRow)
    }

    public var rows: Int { counts_E.reduce(0, +) }
    /// The most rows any plan of this shape can keep: T·K, or capacity × experts when that is less.
    /// Tensors of `rows` rows are carved from blocks of this many, so their size does not change
    /// from step to step (`Backend.makeOutput(rows:bound:columns:)`).
    public var rowBound: Int { max(rows, capacity.map { min(tokens * topK, $0 * counts_E.count) } ?? tokens * topK) }
    /// Slots routed but dropped for capacity.
    public var dropped: Int { tokens * topK - rows }
    /// Host plans: the token each kept row carries.
    public var token_B: [Int]? { slot_B?.map { $0 / topK } }
}

/// The permute stage: x_BH[b] = x_TH[token of row b] (backward: each token sums its rows' gradients,
/// a gather over the inverse map).
final class Permute {
    let backend: Backend
    private var plan: PermutePlan?

    init(backend: Backend) { self.backend = backend }

    /// With `dtype` bf16 (the experts' GEMM input, when no all-to-all needs fp32 rows) x_BH comes out
    /// in bf16: the T token rows are rounded once and their bits gathered, instead of gathering K·T
    /// fp32 rows and rounding those (the same values; a third of the bytes moved).
    func forward(_ x_TH: Tensor, plan: PermutePlan, dtype: DType = .float32) -> Tensor {
        guard let tokenOfRow = plan.tokenOfRow_B else { fatalError("Permute: a host plan was given; the model plans on its backend") }
        self.plan = plan
        if dtype.byteSize == 2, x_TH.dtype == .float32, x_TH.columns % 2 == 0 {
            let x16_TH = backend.converted(x_TH, to: dtype)
            let x16_BH = backend.makeOutput(rows: plan.rows, bound: plan.rowBound, columns: x_TH.columns, dtype: dtype)
            backend.gatherRows(asWords(x16_TH), index: tokenOfRow, into: asWords(x16_BH))
            return x16_BH
        }
        let x_BH = backend.makeOutput(rows: plan.rows, bound: plan.rowBound, columns: x_TH.columns)
        backend.gatherRows(x_TH, index: tokenOfRow, into: x_BH)
        return x_BH
    }

    /// A 2-byte [R, C] tensor's bits as fp32 [R, C/2]: the gather copies rows whole and never
    /// reads them as numbers.
    private func asWords(_ t: Tensor) -> Tensor {
        Tensor(shape: [t.rows, t.columns / 2], dtype: .float32, storage: t.storage, byteOffset: t.byteOffset)
    }

    /// dX_TH += each token's rows' gradients (with `overwrite`, dX_TH = them: a dX_TH from `makeOutput`).
    func backward(_ dX_BH: Tensor, dX_TH: Tensor, overwrite: Bool = false) {
        guard let plan, let rowOfSlot = plan.rowOfSlot_TK else { fatalError("Permute: backward before forward") }
        backend.unpermute(dX_BH, rowOfSlot: rowOfSlot, weight: nil, topK: plan.topK, into: dX_TH, overwrite: overwrite)
    }
}
