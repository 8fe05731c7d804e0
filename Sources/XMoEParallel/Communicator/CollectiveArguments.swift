/// The argument checks shared by every Communicator, so the one-process and the MPI implementation
/// reject exactly the same calls with exactly the same errors.
struct CollectiveArguments {
    let rank: Int
    let size: Int

    /// MPI counts and displacements are C `int`.
    static let maxCount = Int(Int32.max)

    func invalid(_ call: String, _ reason: String) -> CommError {
        CommError(kind: .invalidArgument, call: call, rank: rank, size: size, reason: reason)
    }

    func checkRoot(_ root: Int, call: String) throws {
        guard (0..<size).contains(root) else {
            throw invalid(call, "root \(root) is not a rank of this communicator (0..<\(size))")
        }
    }

    func checkSplit(color: Int?, key: Int) throws {
        if let color, !(0...Self.maxCount).contains(color) {
            throw invalid("split", "color \(color) must be in 0...\(Self.maxCount); pass nil to join no group")
        }
        guard (Int(Int32.min)...Self.maxCount).contains(key) else {
            throw invalid("split", "key \(key) does not fit in a 32-bit int")
        }
    }

    func checkCount(_ count: Int, what: String, call: String) throws {
        guard count <= Self.maxCount else {
            throw invalid(call, "\(what) has \(count) elements, more than MPI's limit \(Self.maxCount); split the call")
        }
    }

    /// One non-negative count per rank, each within MPI's limit.
    func checkPerRankCounts(_ counts: [Int], name: String, call: String) throws {
        guard counts.count == size else {
            throw invalid(call, "\(name) has \(counts.count) entries but the communicator has \(size) ranks; pass one count per rank")
        }
        if let bad = counts.firstIndex(where: { $0 < 0 }) {
            throw invalid(call, "\(name)[\(bad)] = \(counts[bad]) is negative")
        }
    }

    /// The counts must add up to the buffer length, and the running sum (the displacements) must fit MPI.
    func checkTotal(_ counts: [Int], equals length: Int, name: String, call: String) throws {
        let total = counts.reduce(0, +)
        guard total == length else {
            throw invalid(call, "\(name) sum to \(total) but the buffer holds \(length) elements")
        }
        try checkCount(total, what: "the sum of \(name)", call: call)
    }

    func checkAllToAllV(sendLength: Int, sendCounts: [Int], recvCounts: [Int]) throws {
        let call = "allToAllV"
        try checkPerRankCounts(sendCounts, name: "sendCounts", call: call)
        try checkPerRankCounts(recvCounts, name: "recvCounts", call: call)
        try checkTotal(sendCounts, equals: sendLength, name: "sendCounts", call: call)
        try checkCount(recvCounts.reduce(0, +), what: "the sum of recvCounts", call: call)
        // The only pair a rank can check alone: what it sends itself is what it receives from itself.
        guard sendCounts[rank] == recvCounts[rank] else {
            throw invalid(call, "sendCounts[\(rank)] = \(sendCounts[rank]) but recvCounts[\(rank)] = \(recvCounts[rank]); a rank receives from itself exactly what it sends itself")
        }
    }

    func checkReduceScatter(sendLength: Int, recvCounts: [Int]) throws {
        let call = "reduceScatter"
        try checkPerRankCounts(recvCounts, name: "recvCounts", call: call)
        try checkTotal(recvCounts, equals: sendLength, name: "recvCounts", call: call)
    }

    /// Returns the block length sent to each rank.
    func checkAllToAll(sendLength: Int) throws -> Int {
        guard sendLength % size == 0 else {
            throw invalid("allToAll", "send holds \(sendLength) elements, not a multiple of the \(size) ranks; use allToAllV for uneven blocks")
        }
        try checkCount(sendLength, what: "send", call: "allToAll")
        return sendLength / size
    }
}
