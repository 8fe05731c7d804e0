import XMoECompute
import XMoEModel

/// X-MoE's padding-free dispatch (PFT, xmoe-internals §3.3): exchange the E counts, then one
/// uneven all-to-all-v of exactly the kept rows; received rows ([source][local expert]) are
/// regrouped by local expert for the experts. Combine is the reverse; each backward is the other
/// direction's exchange. Ranks that send or receive nothing still enter every collective.
final class PFTDispatcher: TokenDispatcher {
    let group: ExpertParallelGroup
    let backend: Backend
    let meter = DispatchMeter()
    var localExperts: Range<Int> { group.expertRange }

    final class Context: DispatchContext {
        let rows: Tensor
        let counts_L: [Int]
        let h: Int
        /// Rows sent to / received from each EP member.
        let sendRows_P: [Int]
        let recvRows_P: [Int]
        /// Regrouped row i is received row order[i]; received row j is regrouped row inverse[j].
        let order: [Int]
        let inverse: [Int]

        init(rows: Tensor, counts_L: [Int], h: Int, sendRows_P: [Int], recvRows_P: [Int], order: [Int]) {
            (self.rows, self.counts_L, self.h, self.sendRows_P, self.recvRows_P, self.order) = (rows, counts_L, h, sendRows_P, recvRows_P, order)
            inverse = inverted(order)
        }
    }

    init(groups: ProcessGroups, experts: Int, backend: Backend) throws {
        group = try ExpertParallelGroup(groups: groups, experts: experts)
        self.backend = backend
    }

    func dispatch(_ x_BH: Tensor, plan: PermutePlan) throws -> any DispatchContext {
        try meter.measure(.dispatch) {
            let (p, l, h) = (group.size, group.localExperts, x_BH.columns)
            precondition(plan.counts_E.count == p * l, "PFT: \(plan.counts_E.count) counts for \(p * l) experts")
            // Counts exchange: member s's block holds its counts for my L experts ([source][local]).
            let recvCounts = try group.comm.allToAll(plan.counts_E)
            let counts_SL = (0..<p).map { Array(recvCounts[($0 * l)..<(($0 + 1) * l)]) }
            let sendRows_P = (0..<p).map { plan.counts_E[($0 * l)..<(($0 + 1) * l)].reduce(0, +) }
            let recvRows_P = counts_SL.map { $0.reduce(0, +) }
            // Rows are grouped by global expert, hence by destination: no packing needed.
            let received = try group.exchangeRows(backend.floats(x_BH), h: h, rows_P: sendRows_P, fromRows_P: recvRows_P)
            let (order, counts_L) = regroupOrder(counts_SL: counts_SL)
            let rows = backend.tensor(gatherRows(received, h: h, order: order), h: h)
            let context = Context(rows: rows, counts_L: counts_L, h: h, sendRows_P: sendRows_P, recvRows_P: recvRows_P, order: order)
            return (context, group.traffic(rows_P: sendRows_P, h: h))
        }
    }

    /// Local experts' rows → the origin ranks, in x_BH's order.
    private func toOrigin(_ y: Tensor, _ c: Context) throws -> (Tensor, CommTraffic) {
        let back = gatherRows(backend.floats(y), h: c.h, order: c.inverse)
        let rows = try group.exchangeRows(back, h: c.h, rows_P: c.recvRows_P, fromRows_P: c.sendRows_P)
        return (backend.tensor(rows, h: c.h), group.traffic(rows_P: c.recvRows_P, h: c.h))
    }

    /// Rows in x_BH's order → the experts' ranks, regrouped by local expert.
    private func toExperts(_ x: Tensor, _ c: Context) throws -> (Tensor, CommTraffic) {
        let received = try group.exchangeRows(backend.floats(x), h: c.h, rows_P: c.sendRows_P, fromRows_P: c.recvRows_P)
        return (backend.tensor(gatherRows(received, h: c.h, order: c.order), h: c.h), group.traffic(rows_P: c.sendRows_P, h: c.h))
    }

    func combine(_ y: Tensor, context: any DispatchContext) throws -> Tensor {
        let c = own(context, as: Context.self)
        return try meter.measure(.combine) { try toOrigin(y, c) }
    }

    func combineBackward(_ dY_BH: Tensor, context: any DispatchContext) throws -> Tensor {
        let c = own(context, as: Context.self)
        return try meter.measure(.combine) { try toExperts(dY_BH, c) }
    }

    func dispatchBackward(_ dRows: Tensor, context: any DispatchContext) throws -> Tensor {
        let c = own(context, as: Context.self)
        return try meter.measure(.dispatch) { try toOrigin(dRows, c) }
    }
}
