import XMoECompute

/// Moves permuted rows (grouped by global expert) to the ranks that own the experts and back.
/// The MoE block calls it the same way for every layout; EP > 1 implementations (padded, pft, rbd)
/// do all-to-alls here.
public protocol TokenDispatcher: AnyObject {
    /// Global ids of the experts this rank runs.
    var localExperts: Range<Int> { get }
    /// x_BH rows with `counts_E` rows per global expert → the rows this rank's experts process,
    /// grouped by local expert, with their counts per local expert.
    func dispatch(_ x_BH: Tensor, counts_E: [Int]) -> (rows: Tensor, counts_L: [Int])
    /// The experts' output rows (same order as dispatch returned) → rows in x_BH's order.
    func combine(_ y: Tensor) -> Tensor
    /// Backward of `combine`: gradient w.r.t. y_BH → gradient w.r.t. the experts' output rows.
    func combineBackward(_ dY_BH: Tensor) -> Tensor
    /// Backward of `dispatch`: gradient w.r.t. the experts' input rows → gradient w.r.t. x_BH.
    func dispatchBackward(_ dRows: Tensor) -> Tensor
}

/// EP = 1: every expert is local, rows stay where they are.
public final class LocalDispatcher: TokenDispatcher {
    public let localExperts: Range<Int>

    public init(experts: Int) { localExperts = 0..<experts }

    public func dispatch(_ x_BH: Tensor, counts_E: [Int]) -> (rows: Tensor, counts_L: [Int]) { (x_BH, counts_E) }
    public func combine(_ y: Tensor) -> Tensor { y }
    public func combineBackward(_ dY_BH: Tensor) -> Tensor { dY_BH }
    public func dispatchBackward(_ dRows: Tensor) -> Tensor { dRows }
}
