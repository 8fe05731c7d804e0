import XMoECompute

/// Moves the permuted rows of one MoE layer (grouped by global expert) to the ranks that own the
/// experts and back. One dispatcher serves every layer, so it keeps NO per-call state: `dispatch`
/// returns a context (splits, received counts, whatever the implementation needs) that `combine`
/// and both backward passes take, and each layer keeps its own context until its backward.
///
/// Every method is collective over the dispatcher's expert-parallel group when EP > 1: all ranks
/// call it, in the same layer order. A communication failure is thrown; callers treat it as fatal
/// to the job (peers may be waiting in the collective).
public protocol TokenDispatcher: AnyObject {
    /// Global ids of the experts this rank runs.
    var localExperts: Range<Int> { get }
    /// Bytes and time of this dispatcher's communication, for the trainer's per-step report.
    var meter: DispatchMeter { get }
    /// x_BH: the kept rows of `plan` (grouped by global expert, `plan.counts_E` per expert) → the rows
    /// this rank's experts process, grouped by local expert, in a context.
    func dispatch(_ x_BH: Tensor, plan: PermutePlan) throws -> any DispatchContext
    /// The experts' output rows (in `context.rows`' order) → rows in x_BH's order.
    func combine(_ y: Tensor, context: any DispatchContext) throws -> Tensor
    /// Backward of `combine`: gradient w.r.t. its result (x_BH's order) → w.r.t. the experts' output rows.
    func combineBackward(_ dY_BH: Tensor, context: any DispatchContext) throws -> Tensor
    /// Backward of `dispatch`: gradient w.r.t. the experts' input rows → gradient w.r.t. x_BH.
    func dispatchBackward(_ dRows: Tensor, context: any DispatchContext) throws -> Tensor
}

/// What one layer's dispatch produced: the rows for this rank's experts and their counts per local
/// expert. Implementations add what their combine and backward need (splits, permutations).
public protocol DispatchContext: AnyObject {
    /// Rows for the local experts, grouped by local expert.
    var rows: Tensor { get }
    /// Rows per local expert (sums to `rows.rows`).
    var counts_L: [Int] { get }
}

extension TokenDispatcher {
    /// The context `dispatch` returned, as the implementation's own type; a different type means a
    /// context was handed to the wrong dispatcher, a broken invariant.
    public func own<C: DispatchContext>(_ context: any DispatchContext, as type: C.Type) -> C {
        guard let c = context as? C else {
            fatalError("\(Self.self) was given a \(Swift.type(of: context)) context; pass the one its dispatch returned")
        }
        return c
    }
}

/// EP = 1: every expert is local, rows stay where they are.
public final class LocalDispatcher: TokenDispatcher {
    public let localExperts: Range<Int>
    public let meter = DispatchMeter()

    final class Context: DispatchContext {
        let rows: Tensor
        let counts_L: [Int]
        init(rows: Tensor, counts_L: [Int]) { (self.rows, self.counts_L) = (rows, counts_L) }
    }

    public init(experts: Int) { localExperts = 0..<experts }

    public func dispatch(_ x_BH: Tensor, plan: PermutePlan) -> any DispatchContext {
        Context(rows: x_BH, counts_L: plan.counts_E)
    }
    public func combine(_ y: Tensor, context: any DispatchContext) -> Tensor { y }
    public func combineBackward(_ dY_BH: Tensor, context: any DispatchContext) -> Tensor { dY_BH }
    public func dispatchBackward(_ dRows: Tensor, context: any DispatchContext) -> Tensor { dRows }
}
