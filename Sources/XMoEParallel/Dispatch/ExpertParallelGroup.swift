import XMoECompute
import XMoEModel

/// This rank's view of its expert-parallel group, as the dispatchers need it: the communicator,
/// how many experts each member holds, and which node each member is on (for byte accounting).
struct ExpertParallelGroup {
    let comm: any Communicator
    /// Members (EP indices 0..<size), each holding `localExperts` consecutive global experts.
    let size: Int
    let index: Int
    let localExperts: Int
    /// Node of each member, and of this rank.
    let node_P: [Int]
    let node: Int

    init(groups: ProcessGroups, experts: Int) throws {
        let layout = groups.layout
        comm = groups.ep
        size = groups.ep.size
        index = groups.ep.rank
        guard size == layout.ep, index == layout.epIndex(of: groups.rank) else {
            fatalError("EP communicator (rank \(groups.ep.rank) of \(groups.ep.size)) disagrees with the layout (ep \(layout.ep))")
        }
        localExperts = experts / size
        let members = layout.members(.ep, of: groups.rank)
        node_P = members.map { layout.node(of: $0) }
        node = layout.node(of: groups.rank)
    }

    var expertRange: Range<Int> { (index * localExperts)..<((index + 1) * localExperts) }

    /// Bytes of sending `rows_P[p]` rows of `h` floats to each member p, split by node; the rows
    /// this rank keeps for itself are a local copy.
    func traffic(rows_P: [Int], h: Int) -> CommTraffic {
        var t = CommTraffic.zero
        for (p, rows) in rows_P.enumerated() {
            let bytes = rows * h * MemoryLayout<Float>.size
            if p == index { t.localBytes += bytes } else if node_P[p] == node { t.intraNodeBytes += bytes } else { t.interNodeBytes += bytes }
        }
        return t
    }

    /// Uneven all-to-all of rows: `rows_P[p]` rows of `h` floats to member p, `fromRows_P[s]` from s.
    func exchangeRows(_ x: [Float], h: Int, rows_P: [Int], fromRows_P: [Int]) throws -> [Float] {
        try comm.allToAllV(send: x, sendCounts: rows_P.map { $0 * h }, recvCounts: fromRows_P.map { $0 * h })
    }
}

/// out row i = src row order[i] (rows of `h` floats).
func gatherRows(_ src: [Float], h: Int, order: [Int]) -> [Float] {
    var out = [Float](repeating: 0, count: order.count * h)
    for (i, from) in order.enumerated() {
        for c in 0..<h { out[i * h + c] = src[from * h + c] }
    }
    return out
}

/// The inverse of a permutation: inverse[order[i]] = i.
func inverted(_ order: [Int]) -> [Int] {
    var inverse = [Int](repeating: 0, count: order.count)
    for (i, j) in order.enumerated() { inverse[j] = i }
    return inverse
}

/// The rows received from every source, laid out [source][local expert][row], regrouped to
/// [local expert][source][row] so each local expert's rows are contiguous (X-MoE's step 5):
/// regrouped row i is received row order[i]. Also the rows per local expert.
func regroupOrder(counts_SL: [[Int]]) -> (order: [Int], counts_L: [Int]) {
    let sources = counts_SL.count, local = counts_SL.first?.count ?? 0
    var offset_SL = counts_SL.map { $0.map { _ in 0 } }, next = 0
    for s in 0..<sources { for l in 0..<local { offset_SL[s][l] = next; next += counts_SL[s][l] } }
    var order: [Int] = [], counts_L = [Int](repeating: 0, count: local)
    order.reserveCapacity(next)
    for l in 0..<local {
        for s in 0..<sources {
            order += offset_SL[s][l]..<(offset_SL[s][l] + counts_SL[s][l])
            counts_L[l] += counts_SL[s][l]
        }
    }
    return (order, counts_L)
}

extension Backend {
    /// A [rows, h] float tensor holding `values`.
    func tensor(_ values: [Float], h: Int) -> Tensor {
        let t = makeTensor([values.count / max(h, 1), h])
        if !values.isEmpty { upload(values, to: t) }
        return t
    }

    func floats(_ t: Tensor) -> [Float] { t.count == 0 ? [] : downloadFloats(t) }
}
