/// What this version of the engine can train. A spec may describe layouts the engine does not run
/// yet (the plan and the sizes are still worth printing in a sweep file); `xmoe config`, `xmoe plan`
/// and `xmoe run` refuse them through this one function, before anything is prepared or written,
/// so that relaxing a limit is a change here and nowhere else.
extension ExperimentSpec {
    /// Why the engine cannot train this spec's layout, located at the key to change; nil when it can.
    public static func unsupportedLayoutReason(_ v: ResolvedValues) -> SpecError? {
        let world = v.int("parallel.world_size") ?? 1
        if world > 1 {
            let keys = ["parallel.dp", "parallel.tp", "parallel.ep", "parallel.world_size"]
            let blamed = keys.first { v.location($0) != .defaultValue && (v.int($0) ?? 1) > 1 } ?? "parallel.world_size"
            return SpecError("parallel.world_size = \(world) (dp \(v.int("parallel.dp") ?? 1) × tp \(v.int("parallel.tp") ?? 1)): "
                             + "multi-rank training is not in this version yet; run with parallel.dp=1 parallel.tp=1 parallel.ep=1",
                             at: v.location(blamed), key: blamed)
        }
        return nil
    }

    public var unsupportedLayoutReason: SpecError? { Self.unsupportedLayoutReason(values) }
}
