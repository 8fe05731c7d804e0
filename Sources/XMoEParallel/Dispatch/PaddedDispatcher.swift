import XMoECompute
import XMoEModel

/// DeepSpeed-MoE's dispatch, the baseline PFT is measured against: every rank fills a fixed
/// [E, capacity, H] buffer (zero rows where an expert got fewer slots) and does an even all-to-all;
/// each local expert then runs on all EP·capacity rows it received, padding included, as DeepSpeed's
/// experts do. Dropping uses the plan's capacity; dropless takes the maximum count of any expert on
/// any rank of the EP group (an all-reduce), as DeepSpeed's `drop_tokens=False` does.
final class PaddedDispatcher: TokenDispatcher {
    let group: ExpertParallelGroup
    let backend: Backend
    let meter = DispatchMeter()
    var localExperts: Range<Int> { group.expertRange }

    final class Context: DispatchContext {
        /// Set once, by dispatch, after the exchange the other fields describe.
        var rows: Tensor
        let counts_L: [Int]
        let h: Int
        let capacity: Int
        /// Slot in the [E, capacity] buffer of each row of x_BH.
        let slot_B: [Int]
        /// Regrouped row i is received row order[i]; received row j is regrouped row inverse[j].
        let order: [Int]
        let inverse: [Int]

        init(rows: Tensor, counts_L: [Int], h: Int, capacity: Int, slot_B: [Int], order: [Int]) {
            (self.rows, self.counts_L, self.h, self.capacity, self.slot_B, self.order) = (rows, counts_L, h, capacity, slot_B, order)
            inverse = inverted(order)
        }

        var bufferRows: Int { order.count }
    }

    init(groups: ProcessGroups, experts: Int, backend: Backend) throws {
        group = try ExpertParallelGroup(groups: groups, experts: experts)
        self.backend = backend
    }

    func dispatch(_ x_BH: Tensor, plan: PermutePlan) throws -> any DispatchContext {
        try meter.measure(.dispatch) {
            let (p, l, h) = (group.size, group.localExperts, x_BH.columns)
            precondition(plan.counts_E.count == p * l, "padded: \(plan.counts_E.count) counts for \(p * l) experts")
            var capacity = [plan.capacity ?? (plan.counts_E.max() ?? 0)]
            try group.comm.allReduce(&capacity, op: .max)
            let cap = capacity[0]
            var slot_B: [Int] = []
            for (e, count) in plan.counts_E.enumerated() {
                precondition(count <= cap, "padded: expert \(e) kept \(count) rows, over the capacity \(cap)")
                slot_B += (e * cap)..<(e * cap + count)
            }
            let rowsPerMember = l * cap
            let counts_SL = [[Int]](repeating: [Int](repeating: cap, count: l), count: p)
            let (order, counts_L) = regroupOrder(counts_SL: counts_SL)
            let context = Context(rows: backend.makeTensor([0, h]), counts_L: counts_L, h: h, capacity: cap, slot_B: slot_B, order: order)
            let (rows, traffic) = try toExperts(backend.floats(x_BH), context, rowsPerMember: rowsPerMember)
            context.rows = rows
            return (context, traffic)
        }
    }

    /// Rows in x_BH's order → [E, capacity] buffer → even all-to-all → regrouped by local expert.
    private func toExperts(_ x: [Float], _ c: Context, rowsPerMember: Int) throws -> (Tensor, CommTraffic) {
        let h = c.h
        var buffer = [Float](repeating: 0, count: c.bufferRows * h)
        for (b, slot) in c.slot_B.enumerated() {
            for k in 0..<h { buffer[slot * h + k] = x[b * h + k] }
        }
        let received = try group.comm.allToAll(buffer)
        let traffic = group.traffic(rows_P: [Int](repeating: rowsPerMember, count: group.size), h: h)
        return (backend.tensor(gatherRows(received, h: h, order: c.order), h: h), traffic)
    }

    /// Local experts' rows (padding included) → even all-to-all back → the real rows in x_BH's order.
    private func toOrigin(_ y: Tensor, _ c: Context) throws -> (Tensor, CommTraffic) {
        let h = c.h
        let back = try group.comm.allToAll(gatherRows(backend.floats(y), h: h, order: c.inverse))
        let traffic = group.traffic(rows_P: [Int](repeating: c.bufferRows / group.size, count: group.size), h: h)
        return (backend.tensor(gatherRows(back, h: h, order: c.slot_B), h: h), traffic)
    }

    func combine(_ y: Tensor, context: any DispatchContext) throws -> Tensor {
        let c = own(context, as: Context.self)
        return try meter.measure(.combine) { try toOrigin(y, c) }
    }

    func combineBackward(_ dY_BH: Tensor, context: any DispatchContext) throws -> Tensor {
        let c = own(context, as: Context.self)
        return try meter.measure(.combine) { try toExperts(backend.floats(dY_BH), c, rowsPerMember: c.bufferRows / group.size) }
    }

    func dispatchBackward(_ dRows: Tensor, context: any DispatchContext) throws -> Tensor {
        let c = own(context, as: Context.self)
        return try meter.measure(.dispatch) { try toOrigin(dRows, c) }
    }
}
