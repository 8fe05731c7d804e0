internal import CMPIShim

/// A communicator over Open MPI. Obtain the world with `MPICommunicator.world()` (which initialises MPI
/// if needed) and sub-groups with `split`.
///
/// `@unchecked Sendable`: the stored state is immutable after init; MPI's own thread rule
/// (`MPI_THREAD_FUNNELED`: one thread calls MPI at a time) is the caller's contract.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    let handle: MPI_Comm
    /// Split communicators are freed with the object; the world never is.
    private let ownsHandle: Bool
    public let rank: Int
    public let size: Int

    private init(handle: MPI_Comm, ownsHandle: Bool) throws {
        self.handle = handle
        self.ownsHandle = ownsHandle
        var rank: Int32 = 0
        var size: Int32 = 0
        try MPICommunicator.check(MPI_Comm_rank(handle, &rank), call: "MPI_Comm_rank", rank: nil, size: nil)
        try MPICommunicator.check(MPI_Comm_size(handle, &size), call: "MPI_Comm_size", rank: nil, size: nil)
        self.rank = Int(rank)
        self.size = Int(size)
    }

    deinit {
        // After MPI_Finalize every handle is gone; freeing then would be an error.
        if ownsHandle, MPIRuntime.isInitialized, !MPIRuntime.isFinalized {
            var doomed: MPI_Comm? = handle
            MPI_Comm_free(&doomed)
        }
    }

    /// All processes of the job (size 1 when the process was not started by a launcher).
    public static func world() throws -> MPICommunicator {
        try MPIRuntime.initIfNeeded()
        return try MPICommunicator(handle: xmpi_comm_world(), ownsHandle: false)
    }

    private var args: CollectiveArguments { CollectiveArguments(rank: rank, size: size) }

    private func check(_ code: Int32, _ call: String) throws {
        try MPICommunicator.check(code, call: call, rank: rank, size: size)
    }

    private static func check(_ code: Int32, call: String, rank: Int?, size: Int?) throws {
        guard code != MPI_SUCCESS else { return }
        throw CommError(kind: .mpiFailure(code: Int(code)), call: call, rank: rank, size: size,
                        reason: MPIRuntime.errorString(code))
    }

    public func split(color: Int?, key: Int) throws -> (any Communicator)? {
        try args.checkSplit(color: color, key: key)
        var newHandle: MPI_Comm? = nil
        let mpiColor = color.map { Int32($0) } ?? xmpi_undefined()
        try check(MPI_Comm_split(handle, mpiColor, Int32(key), &newHandle), "MPI_Comm_split")
        guard let newHandle, newHandle != xmpi_comm_null() else { return nil }
        return try MPICommunicator(handle: newHandle, ownsHandle: true)
    }

    public func barrier() throws {
        try check(MPI_Barrier(handle), "MPI_Barrier")
    }

    public func broadcast<T: CommElement>(_ buffer: inout [T], root: Int) throws {
        try args.checkRoot(root, call: "broadcast")
        try args.checkCount(buffer.count, what: "buffer", call: "broadcast")
        // The length goes first so receivers need not know it.
        var length = Int64(buffer.count)
        try check(MPI_Bcast(&length, 1, xmpi_int64(), Int32(root), handle), "MPI_Bcast")
        if rank != root {
            buffer = [T](unsafeUninitializedCapacity: Int(length)) { _, initialized in initialized = Int(length) }
        }
        guard length > 0 else { return }
        let datatype = MPIDatatype.of(T.self)
        try buffer.withUnsafeMutableBytes { bytes in
            try check(MPI_Bcast(bytes.baseAddress, Int32(length), datatype, Int32(root), handle), "MPI_Bcast")
        }
    }

    public func allReduce<T: CommElement>(_ buffer: inout [T], op: ReduceOp) throws {
        try args.checkCount(buffer.count, what: "buffer", call: "allReduce")
        // Every rank passes the same length, so all skip together.
        guard !buffer.isEmpty else { return }
        let datatype = MPIDatatype.of(T.self)
        let count = Int32(buffer.count)
        try buffer.withUnsafeMutableBytes { bytes in
            try check(MPI_Allreduce(xmpi_in_place(), bytes.baseAddress, count, datatype, MPIDatatype.op(op), handle),
                      "MPI_Allreduce")
        }
    }

    public func reduceScatter<T: CommElement>(_ send: [T], recvCounts: [Int], op: ReduceOp) throws -> [T] {
        try args.checkReduceScatter(sendLength: send.count, recvCounts: recvCounts)
        // Every rank passes the same counts, so all skip together.
        guard !send.isEmpty else { return [] }
        let datatype = MPIDatatype.of(T.self)
        let counts32 = recvCounts.map { Int32($0) }
        return try MPIDatatype.receive(T.self, count: recvCounts[rank]) { recv in
            try MPIDatatype.withSendPointer(send) { sendPointer in
                try check(MPI_Reduce_scatter(sendPointer, recv, counts32, datatype, MPIDatatype.op(op), handle),
                          "MPI_Reduce_scatter")
            }
        }
    }

    public func allGatherV<T: CommElement>(_ send: [T]) throws -> (values: [T], counts: [Int]) {
        try args.checkCount(send.count, what: "send", call: "allGatherV")
        var myCount = Int64(send.count)
        var counts64 = [Int64](repeating: 0, count: size)
        try check(MPI_Allgather(&myCount, 1, xmpi_int64(), &counts64, 1, xmpi_int64(), handle), "MPI_Allgather")
        let counts = counts64.map { Int($0) }
        let total = counts.reduce(0, +)
        try args.checkCount(total, what: "the gathered result", call: "allGatherV")
        let recvCounts = counts.map { Int32($0) }
        let displacements = MPIDatatype.displacements(counts)
        let datatype = MPIDatatype.of(T.self)
        let values = try MPIDatatype.receive(T.self, count: total) { recv in
            try MPIDatatype.withSendPointer(send) { sendPointer in
                try check(MPI_Allgatherv(sendPointer, Int32(send.count), datatype,
                                         recv, recvCounts, displacements, datatype, handle), "MPI_Allgatherv")
            }
        }
        return (values, counts)
    }

    public func allToAll<T: CommElement>(_ send: [T]) throws -> [T] {
        let block = try args.checkAllToAll(sendLength: send.count)
        guard block > 0 else { return [] }
        let datatype = MPIDatatype.of(T.self)
        return try MPIDatatype.receive(T.self, count: send.count) { recv in
            try MPIDatatype.withSendPointer(send) { sendPointer in
                try check(MPI_Alltoall(sendPointer, Int32(block), datatype, recv, Int32(block), datatype, handle),
                          "MPI_Alltoall")
            }
        }
    }

    public func allToAllV<T: CommElement>(send: [T], sendCounts: [Int], recvCounts: [Int]) throws -> [T] {
        try args.checkAllToAllV(sendLength: send.count, sendCounts: sendCounts, recvCounts: recvCounts)
        let datatype = MPIDatatype.of(T.self)
        let sendCounts32 = sendCounts.map { Int32($0) }
        let recvCounts32 = recvCounts.map { Int32($0) }
        let sendDisplacements = MPIDatatype.displacements(sendCounts)
        let recvDisplacements = MPIDatatype.displacements(recvCounts)
        // Always called, even with nothing to move here: peers may still send to or expect from us.
        return try MPIDatatype.receive(T.self, count: recvCounts.reduce(0, +)) { recv in
            try MPIDatatype.withSendPointer(send) { sendPointer in
                try check(MPI_Alltoallv(sendPointer, sendCounts32, sendDisplacements, datatype,
                                        recv, recvCounts32, recvDisplacements, datatype, handle), "MPI_Alltoallv")
            }
        }
    }
}
