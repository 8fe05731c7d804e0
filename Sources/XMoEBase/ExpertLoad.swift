/// How evenly one MoE layer's router spread its token slots over the experts, and whether that is
/// unhealthy: an expert that gets almost nothing is *dead* (it stops learning, and its parameters are
/// wasted), one that gets far more than its share is *hot* (it is the straggler of expert parallelism
/// and, with a capacity limit, drops tokens).
public struct ExpertLoad: Sendable, Equatable {
    /// An expert under this fraction of the even share (total / E) is dead.
    public static let deadFraction = 0.1
    /// An expert over this multiple of the even share is hot.
    public static let hotMultiple = 2.0

    /// Slots routed to each expert (`counts_E`).
    public let counts_E: [Int]

    public init(counts_E: [Int]) { self.counts_E = counts_E }

    public var total: Int { counts_E.reduce(0, +) }

    /// total / E: what each expert would get under perfect balance.
    public var evenShare: Double { counts_E.isEmpty ? 0 : Double(total) / Double(counts_E.count) }

    /// max / mean of the counts (1 = perfectly even); nil when nothing was routed.
    public var imbalance: Double? {
        guard total > 0, let largest = counts_E.max() else { return nil }
        return Double(largest) / evenShare
    }

    /// Experts (0-based) under `deadFraction` of the even share; none when nothing was routed.
    public var deadExperts: [Int] {
        guard total > 0 else { return [] }
        return counts_E.indices.filter { Double(counts_E[$0]) < Self.deadFraction * evenShare }
    }

    /// Experts over `hotMultiple` × the even share.
    public var hotExperts: [Int] {
        guard total > 0 else { return [] }
        return counts_E.indices.filter { Double(counts_E[$0]) > Self.hotMultiple * evenShare }
    }

    /// "layer 1: expert 3 dead (2% of the even share); expert 5 hot (2.4× the even share)", or nil
    /// when the layer is healthy.
    public func warning(layer: Int) -> String? {
        let dead = deadExperts, hot = hotExperts
        guard !dead.isEmpty || !hot.isEmpty else { return nil }
        var parts: [String] = []
        if !dead.isEmpty {
            let shares = dead.map { "\(percent(Double(counts_E[$0]) / evenShare))" }
            parts.append("\(dead.count == 1 ? "expert" : "experts") \(list(dead)) dead (\(shares.joined(separator: ", ")) of the "
                         + "even share, under \(percent(Self.deadFraction)))")
        }
        if !hot.isEmpty {
            let multiples = hot.map { multiple(Double(counts_E[$0]) / evenShare) }
            parts.append("\(hot.count == 1 ? "expert" : "experts") \(list(hot)) hot (\(multiples.joined(separator: ", ")) the "
                         + "even share, over \(multiple(Self.hotMultiple)))")
        }
        return "layer \(layer): " + parts.joined(separator: "; ")
    }

    /// Element-wise sum of several steps' counts (a window of rows).
    public static func sum(_ rows: [[Int]]) -> ExpertLoad {
        let width = rows.map(\.count).max() ?? 0
        var total = [Int](repeating: 0, count: width)
        for row in rows { for (e, c) in row.enumerated() { total[e] += c } }
        return ExpertLoad(counts_E: total)
    }

    private func list(_ experts: [Int]) -> String { experts.map(String.init).joined(separator: ", ") }
    private func percent(_ x: Double) -> String { "\(Int((x * 100).rounded()))%" }
    private func multiple(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)×"
    }
}
