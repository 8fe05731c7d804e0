import Testing
import XMoEParallel

/// MPI inside the test process, as a singleton world of one rank. Serialized because MPI runs with
/// MPI_THREAD_FUNNELED; MPI is never finalised here, since later tests in this process need it.
@Suite(.serialized) struct MPISingletonTests {
    @Test func initialisationIsIdempotent() throws {
        try MPIRuntime.initIfNeeded()
        try MPIRuntime.initIfNeeded()
        #expect(MPIRuntime.isInitialized)
        #expect(!MPIRuntime.isFinalized)
        let first = try MPICommunicator.world()
        let second = try MPICommunicator.world()
        #expect(first.rank == 0 && first.size == 1)
        #expect(second.rank == 0 && second.size == 1)
    }

    @Test func allToAllVWithCountsOfZeroBothWays() throws {
        let world = try MPICommunicator.world()
        let send: [Double] = [0.25, -8, 1e300]
        #expect(try world.allToAllV(send: send, sendCounts: [3], recvCounts: [3]) == send)
        #expect(try world.allToAllV(send: [Float](), sendCounts: [0], recvCounts: [0]) == [])
        let (values, recvCounts) = try world.allToAllV(send: [Int64.min, 0, Int64.max], sendCounts: [3])
        #expect(values == [Int64.min, 0, Int64.max])
        #expect(recvCounts == [3])
    }

    @Test func everyElementTypeRoundTripsBitForBit() throws {
        let world = try MPICommunicator.world()
        #expect(try world.allGather([Float.pi, -0.0, .infinity]).map(\.bitPattern)
            == [Float.pi, -0.0, .infinity].map(\.bitPattern))
        #expect(try world.allGather([Double.ulpOfOne, -1]) == [Double.ulpOfOne, -1])
        #expect(try world.allGather([Int32.min, Int32.max]) == [Int32.min, Int32.max])
        #expect(try world.allGather([UInt8(0), 255, 128]) == [0, 255, 128])
        #expect(try world.allToAll([Int(1) << 40, -3]) == [1 << 40, -3])
        let (values, counts) = try world.allGatherV([UInt8]())
        #expect(values.isEmpty && counts == [0])
    }

    @Test(arguments: ReduceOp.allCases)
    func allReduceOverOneRankIsTheIdentity(op: ReduceOp) throws {
        let world = try MPICommunicator.world()
        var floats: [Float] = [1.5, -2, 1e-30]
        try world.allReduce(&floats, op: op)
        #expect(floats == [1.5, -2, 1e-30])
        var bytes: [UInt8] = [250, 3]
        try world.allReduce(&bytes, op: op)
        #expect(bytes == [250, 3])
    }

    @Test(arguments: ReduceOp.allCases)
    func reduceScatterOverOneRankIsTheIdentity(op: ReduceOp) throws {
        let world = try MPICommunicator.world()
        let floats: [Float] = [1.5, -2, 1e-30]
        let mine = try world.reduceScatter(floats, recvCounts: [3], op: op)
        #expect(mine == floats)
        let nothing = try world.reduceScatter([Int64](), recvCounts: [0], op: op)
        #expect(nothing.isEmpty)
    }

    @Test func broadcastDeliversLengthAndValues() throws {
        let world = try MPICommunicator.world()
        var buffer: [Int32] = [5, 6, 7]
        try world.broadcast(&buffer, root: 0)
        #expect(buffer == [5, 6, 7])
        try world.barrier()
    }

    @Test func splitGivesAUsableGroupOrNone() throws {
        let world = try MPICommunicator.world()
        let group = try #require(try world.split(color: 0, key: -5))
        #expect(group is MPICommunicator)
        #expect(group.rank == 0 && group.size == 1)
        var sum: [Double] = [2.5]
        try group.allReduce(&sum, op: .sum)
        #expect(sum == [2.5])
        #expect(try group.allToAllV(send: [Int32(1), 2], sendCounts: [2]).values == [1, 2])
        #expect(try world.split(color: nil, key: 0) == nil)
    }

    /// The same calls must fail the same way with and without MPI.
    @Test(arguments: InvalidArgumentCase.all)
    func rejectsExactlyWhatTheSingleProcessCommunicatorRejects(_ invalid: InvalidArgumentCase) throws {
        let world = try MPICommunicator.world()
        let mpiError = #expect(throws: CommError.self) { try invalid.invoke(world) }
        let localError = #expect(throws: CommError.self) { try invalid.invoke(SingleProcessCommunicator()) }
        #expect(mpiError == localError)
        #expect(mpiError?.kind == .invalidArgument)
        #expect(mpiError?.reason.contains(invalid.reasonFragment) == true, "\(mpiError?.reason ?? "no error")")
        // MPI stays usable after a rejected call.
        #expect(try world.allGather([Int32(1)]) == [1])
    }
}
