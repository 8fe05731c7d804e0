/// Which ranks form each process group, computed from the layout alone (no MPI), so `xmoe plan`
/// can print the groups and tests can check them without launching ranks.
///
/// Rank order follows Megatron: TP fastest, then DP (`rank = d·tp + t`). Expert parallelism is
/// carved out of the data-parallel dimension as X-MoE's default placement does
/// (`use_data_before_expert_parallel_ = False`): among the ranks of one TP index, EP groups are
/// blocks of `ep` consecutive DP indices and the expert-data-parallel groups stride over them, so
/// the ranks of one EP group hold disjoint experts and the ranks of one expert-DP group hold the
/// same experts.
public struct GroupLayout: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case world, dp, tp, ep
        case expertDP = "expert-dp"
        case node
    }

    public let dp: Int
    public let tp: Int
    public let ep: Int
    public let ranksPerNode: Int

    public var worldSize: Int { dp * tp }
    /// Ranks that hold the same experts (their expert gradients are reduced together).
    public var expertDP: Int { dp / ep }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public init(dp: Int, tp: Int, ep: Int, ranksPerNode: Int) throws {
        guard dp >= 1, tp >= 1, ep >= 1, ranksPerNode >= 1 else {
            throw Invalid(description: "layout sizes must be ≥ 1 (dp \(dp), tp \(tp), ep \(ep), ranks_per_node \(ranksPerNode))")
        }
        guard dp % ep == 0 else {
            throw Invalid(description: "parallel.ep (\(ep)) must divide parallel.dp (\(dp)): expert-parallel groups are carved out of the data-parallel ranks")
        }
        let (world, overflow) = dp.multipliedReportingOverflow(by: tp)
        guard !overflow, world % ranksPerNode == 0 || ranksPerNode >= world else {
            throw Invalid(description: "parallel.ranks_per_node (\(ranksPerNode)) must divide the world size \(world)")
        }
        self.dp = dp
        self.tp = tp
        self.ep = ep
        self.ranksPerNode = min(ranksPerNode, world)
    }

    /// Data-parallel index (position along DP) and tensor-parallel index of `rank`.
    public func dpIndex(of rank: Int) -> Int { rank / tp }
    public func tpIndex(of rank: Int) -> Int { rank % tp }
    /// Position of `rank` inside its EP group: which slice of the experts it holds.
    public func epIndex(of rank: Int) -> Int { dpIndex(of: rank) % ep }
    /// Position of `rank` inside its expert-DP group.
    public func expertDPIndex(of rank: Int) -> Int { dpIndex(of: rank) / ep }
    public func node(of rank: Int) -> Int { rank / ranksPerNode }

    /// The global ids of the experts `rank` holds: a contiguous block of `experts / ep`.
    public func localExperts(of rank: Int, experts: Int) -> Range<Int> {
        let per = experts / ep
        let start = epIndex(of: rank) * per
        return start..<(start + per)
    }

    /// The color that `Communicator.split` uses for `kind`: equal exactly for the ranks of one group.
    public func color(_ kind: Kind, of rank: Int) -> Int {
        let (d, t) = (dpIndex(of: rank), tpIndex(of: rank))
        switch kind {
        case .world: return 0
        case .dp: return t
        case .tp: return d
        case .ep: return (d / ep) * tp + t
        case .expertDP: return (d % ep) * tp + t
        case .node: return node(of: rank)
        }
    }

    /// The world ranks of `rank`'s group of `kind`, in the order of their rank inside the group.
    public func members(_ kind: Kind, of rank: Int) -> [Int] {
        let color = color(kind, of: rank)
        return (0..<worldSize).filter { self.color(kind, of: $0) == color }
    }
}
