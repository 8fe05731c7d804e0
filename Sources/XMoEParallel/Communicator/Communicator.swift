/// A group of ranks and the collectives xmoe needs over it.
///
/// Every method is collective: all ranks of the communicator must call it, in the same order, with
/// compatible arguments. Arguments that one rank can check locally are checked before any
/// communication and thrown as `CommError(kind: .invalidArgument)`; a rank that throws there must not
/// be left waiting for by the others, so callers treat such an error as fatal to the job.
///
/// A class-bound protocol because a communicator is an identity (it owns an MPI handle that is freed
/// once). Implementations are `Sendable` so they can be stored in other types, but MPI runs with
/// `MPI_THREAD_FUNNELED`: call collectives from one thread at a time.
public protocol Communicator: AnyObject, Sendable {
    /// This process's index in the communicator, `0..<size`.
    var rank: Int { get }
    /// Number of ranks in the communicator.
    var size: Int { get }

    /// Splits into sub-communicators, one per distinct `color` (a value ≥ 0); ranks inside each are
    /// ordered by `key`, ties by their rank here. A rank passing `color: nil` joins none and gets nil.
    func split(color: Int?, key: Int) throws -> (any Communicator)?

    func barrier() throws

    /// Replaces `buffer` on every rank with `root`'s buffer (its length too: receivers need not
    /// pre-size it).
    func broadcast<T: CommElement>(_ buffer: inout [T], root: Int) throws

    /// Element-wise reduction over all ranks, in place; every rank passes the same length.
    func allReduce<T: CommElement>(_ buffer: inout [T], op: ReduceOp) throws

    /// Element-wise reduction of `send` over all ranks, scattered: rank `r` gets the `recvCounts[r]`
    /// elements after the first `recvCounts[0..<r]` (MPI_Reduce_scatter). Every rank passes the same
    /// `recvCounts`, summing to `send.count`; zero counts are allowed.
    func reduceScatter<T: CommElement>(_ send: [T], recvCounts: [Int], op: ReduceOp) throws -> [T]

    /// Concatenates every rank's `send` in rank order; lengths may differ per rank and are returned.
    func allGatherV<T: CommElement>(_ send: [T]) throws -> (values: [T], counts: [Int])

    /// Even all-to-all: `send` holds `size` equal blocks, block `d` goes to rank `d`; the result holds
    /// the block from each source rank, in rank order.
    func allToAll<T: CommElement>(_ send: [T]) throws -> [T]

    /// Uneven all-to-all in elements: `sendCounts[d]` consecutive elements of `send` go to rank `d`,
    /// `recvCounts[s]` elements arrive from rank `s`, in rank order. Zero counts are allowed both ways.
    func allToAllV<T: CommElement>(send: [T], sendCounts: [Int], recvCounts: [Int]) throws -> [T]
}

extension Communicator {
    /// Like `allGatherV`, for the usual case where every rank contributes the same length; throws on
    /// every rank (consistently, since all see the same counts) when the lengths differ.
    public func allGather<T: CommElement>(_ send: [T]) throws -> [T] {
        let (values, counts) = try allGatherV(send)
        if let first = counts.first, counts.contains(where: { $0 != first }) {
            throw CommError(kind: .invalidArgument, call: "allGather", rank: rank, size: size,
                            reason: "ranks contributed different lengths \(counts); use allGatherV for uneven data")
        }
        return values
    }

    /// Tells every rank how many elements each peer will send it: an all-to-all of one count per rank.
    public func exchangeCounts(_ sendCounts: [Int]) throws -> [Int] {
        let args = CollectiveArguments(rank: rank, size: size)
        try args.checkPerRankCounts(sendCounts, name: "sendCounts", call: "exchangeCounts")
        return try allToAll(sendCounts)
    }

    /// Uneven all-to-all for callers that know only what they send: exchanges the counts first.
    public func allToAllV<T: CommElement>(send: [T], sendCounts: [Int]) throws -> (values: [T], recvCounts: [Int]) {
        let args = CollectiveArguments(rank: rank, size: size)
        try args.checkPerRankCounts(sendCounts, name: "sendCounts", call: "allToAllV")
        try args.checkTotal(sendCounts, equals: send.count, name: "sendCounts", call: "allToAllV")
        let recvCounts = try exchangeCounts(sendCounts)
        return (try allToAllV(send: send, sendCounts: sendCounts, recvCounts: recvCounts), recvCounts)
    }
}
