import XMoECompute
import XMoEModel

/// The dispatchers `moe.dispatcher` names.
public enum DispatcherKind: String, Sendable, CaseIterable {
    /// EP = 1: rows stay on the rank.
    case local
    /// DeepSpeed-MoE's baseline: fixed [E, capacity, H] buffers and an even all-to-all.
    case padded
    /// X-MoE's padding-free dispatch: counts exchange, then an all-to-all-v of exactly the kept rows.
    case pft
    /// Redundancy-bypassing dispatch (X-MoE §4.2): not in this version.
    case rbd

    /// Why this version cannot run `kind` at expert-parallel size `ep`, or nil when it can.
    public static func unsupportedReason(_ kind: String, ep: Int) -> String? {
        guard let k = DispatcherKind(rawValue: kind) else {
            return "moe.dispatcher '\(kind)' is unknown; use one of local, padded, pft"
        }
        switch k {
        case .rbd:
            return "moe.dispatcher 'rbd' (redundancy-bypassing dispatch) is not yet implemented; use pft or padded"
        case .local where ep > 1:
            return "the local dispatcher needs parallel.ep = 1 (got \(ep)); use pft or padded"
        default:
            return nil
        }
    }
}

/// The token dispatcher `kind` over this rank's expert-parallel group; experts are split over the
/// EP group in blocks of `experts / ep` (expert e lives on EP index e / L). Collective when EP > 1
/// only in the sense that every rank must build the same kind.
public func makeTokenDispatcher(kind: String, groups: ProcessGroups, experts: Int, backend: Backend) throws -> TokenDispatcher {
    let ep = groups.layout.ep
    if let reason = DispatcherKind.unsupportedReason(kind, ep: ep) { throw DispatchError(description: reason) }
    guard experts % ep == 0 else {
        throw DispatchError(description: "moe.num_experts (\(experts)) must be divisible by parallel.ep (\(ep))")
    }
    switch DispatcherKind(rawValue: kind)! {
    case .local:
        return LocalDispatcher(experts: experts)
    case .padded:
        return try PaddedDispatcher(groups: groups, experts: experts, backend: backend)
    case .pft:
        return try PFTDispatcher(groups: groups, experts: experts, backend: backend)
    case .rbd:
        fatalError("rbd refused above")
    }
}

/// A dispatcher that cannot be built or used as asked.
public struct DispatchError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
