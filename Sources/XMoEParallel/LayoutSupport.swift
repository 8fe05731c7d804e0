/// What this version can run. One place, so `xmoe plan` (refusing early) and `xmoe run` (refusing
/// before it writes anything) give the same reasons.
public enum LayoutSupport {
    /// Every reason the layout cannot run here; empty when it can. Keys are named as in the spec.
    public static func unsupportedReasons(dp: Int, tp: Int, ep: Int, ranksPerNode: Int, experts: Int,
                                          dispatcher: String) -> [String] {
        var reasons: [String] = []
        if tp > 1 {
            reasons.append("parallel.tp = \(tp): tensor parallelism needs sequence-sharded MoE blocks (SSMB), not yet implemented; use parallel.tp=1")
        }
        if let reason = DispatcherKind.unsupportedReason(dispatcher, ep: ep) { reasons.append(reason) }
        if ep >= 1, dp % ep != 0 {
            reasons.append("parallel.ep (\(ep)) must divide parallel.dp (\(dp)): expert-parallel groups are carved out of the data-parallel ranks")
        }
        if ep >= 1, experts % ep != 0 {
            reasons.append("moe.num_experts (\(experts)) must be divisible by parallel.ep (\(ep)): every EP rank holds the same number of experts")
        }
        let world = dp * tp
        if ranksPerNode >= 1, ranksPerNode < world, world % ranksPerNode != 0 {
            reasons.append("parallel.ranks_per_node (\(ranksPerNode)) must divide the world size \(world)")
        }
        return reasons
    }
}

extension GroupLayout {
    /// The groups of `kind` as lists of world ranks, in order of their first member.
    public func allGroups(_ kind: Kind) -> [[Int]] {
        var seen = Set<Int>(), groups: [[Int]] = []
        for rank in 0..<worldSize where !seen.contains(rank) {
            let members = self.members(kind, of: rank)
            seen.formUnion(members)
            groups.append(members)
        }
        return groups
    }

    /// "[0 1] [2 3]" for small worlds; "N groups of M" beyond `limit` groups.
    public func describeGroups(_ kind: Kind, limit: Int = 8) -> String {
        let groups = allGroups(kind)
        if groups.count > limit {
            return "\(groups.count) groups of \(groups.first?.count ?? 0)"
        }
        return groups.map { "[" + $0.map(String.init).joined(separator: " ") + "]" }.joined(separator: " ")
    }
}
