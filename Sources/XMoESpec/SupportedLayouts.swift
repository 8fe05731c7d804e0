/// What this version of the engine can train is decided by the parallel layer (which knows the
/// dispatchers and groups); the spec layer only locates its reasons at the key a user would change,
/// so `xmoe config`, `xmoe plan` and `xmoe run` refuse an unsupported layout up front, before
/// anything is prepared or written.
extension ExperimentSpec {
    /// The layout keys, in the order a reason is matched against them.
    static let layoutKeys = ["moe.dispatcher", "moe.num_experts", "parallel.ranks_per_node", "parallel.tp",
                             "parallel.ep", "parallel.dp", "parallel.world_size", "train.device"]

    /// One located error per reason. A reason that starts with a layout key ("parallel.tp = 2: …")
    /// is located at that key; any other at the first layout key the spec sets.
    public func unsupportedLayoutErrors(_ reasons: [String]) -> [SpecError] {
        reasons.map { reason in
            let named = Self.layoutKeys.first { reason.hasPrefix($0 + " ") || reason.hasPrefix($0 + "=") }
            let blamed = named ?? Self.layoutKeys.first { values.location($0) != .defaultValue } ?? "parallel.world_size"
            return SpecError(reason, at: values.location(blamed), key: blamed)
        }
    }
}
