/// The communicator of a world of one rank, without MPI: every collective is the identity, after
/// the same argument checks as `MPICommunicator`, so code that runs on one process here runs
/// unchanged (and fails the same way) on many.
public final class SingleProcessCommunicator: Communicator {
    public let rank = 0
    public let size = 1

    public init() {}

    private var args: CollectiveArguments { CollectiveArguments(rank: rank, size: size) }

    public func split(color: Int?, key: Int) throws -> (any Communicator)? {
        try args.checkSplit(color: color, key: key)
        return color == nil ? nil : SingleProcessCommunicator()
    }

    public func barrier() throws {}

    public func broadcast<T: CommElement>(_ buffer: inout [T], root: Int) throws {
        try args.checkRoot(root, call: "broadcast")
        try args.checkCount(buffer.count, what: "buffer", call: "broadcast")
    }

    public func allReduce<T: CommElement>(_ buffer: inout [T], op: ReduceOp) throws {
        try args.checkCount(buffer.count, what: "buffer", call: "allReduce")
    }

    public func reduceScatter<T: CommElement>(_ send: [T], recvCounts: [Int], op: ReduceOp) throws -> [T] {
        try args.checkReduceScatter(sendLength: send.count, recvCounts: recvCounts)
        return send
    }

    public func allGatherV<T: CommElement>(_ send: [T]) throws -> (values: [T], counts: [Int]) {
        try args.checkCount(send.count, what: "send", call: "allGatherV")
        return (send, [send.count])
    }

    public func allToAll<T: CommElement>(_ send: [T]) throws -> [T] {
        _ = try args.checkAllToAll(sendLength: send.count)
        return send
    }

    public func allToAllV<T: CommElement>(send: [T], sendCounts: [Int], recvCounts: [Int]) throws -> [T] {
        try args.checkAllToAllV(sendLength: send.count, sendCounts: sendCounts, recvCounts: recvCounts)
        return send
    }
}
