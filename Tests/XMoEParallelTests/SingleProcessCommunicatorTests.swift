import Testing
import XMoEParallel

/// Expectations derived by hand from the definitions: on a world of one rank every collective hands
/// back exactly what this rank contributed.
@Suite struct SingleProcessCommunicatorTests {
    let comm = SingleProcessCommunicator()

    @Test func isRankZeroOfOne() {
        #expect(comm.rank == 0)
        #expect(comm.size == 1)
    }

    @Test func allToAllVWithTheWholeBufferToSelfReturnsIt() throws {
        let send: [Float] = [3, -1, 0.5, 7]
        #expect(try comm.allToAllV(send: send, sendCounts: [4], recvCounts: [4]) == send)
        #expect(try comm.allToAllV(send: [Int32](), sendCounts: [0], recvCounts: [0]) == [])
    }

    @Test func allToAllVExchangesCountsWhenOnlySendCountsAreKnown() throws {
        let (values, recvCounts) = try comm.allToAllV(send: [UInt8(9), 8, 7], sendCounts: [3])
        #expect(values == [9, 8, 7])
        #expect(recvCounts == [3])
        #expect(try comm.exchangeCounts([5]) == [5])
    }

    @Test func gathersAndEvenAllToAllReturnTheContribution() throws {
        let (values, counts) = try comm.allGatherV([1.5, 2.5])
        #expect(values == [1.5, 2.5])
        #expect(counts == [2])
        #expect(try comm.allGather([Int64(4), 5, 6]) == [4, 5, 6])
        #expect(try comm.allToAll([Int32(7), 8]) == [7, 8])
        #expect(try comm.allToAll([Double]()) == [])
    }

    @Test(arguments: ReduceOp.allCases)
    func allReduceOverOneRankIsTheIdentity(op: ReduceOp) throws {
        var buffer: [Int32] = [4, -2, 9]
        try comm.allReduce(&buffer, op: op)
        #expect(buffer == [4, -2, 9])
    }

    @Test(arguments: ReduceOp.allCases)
    func reduceScatterOverOneRankIsTheIdentity(op: ReduceOp) throws {
        let mine = try comm.reduceScatter([Int32(4), -2, 9], recvCounts: [3], op: op)
        #expect(mine == [4, -2, 9])
    }

    @Test func broadcastFromTheOnlyRankKeepsTheBuffer() throws {
        var buffer: [Double] = [1, 2, 3]
        try comm.broadcast(&buffer, root: 0)
        #expect(buffer == [1, 2, 3])
        try comm.barrier()
    }

    @Test func splitGivesAGroupOfOneOrNone() throws {
        let group = try #require(try comm.split(color: 3, key: 10))
        #expect(group.rank == 0 && group.size == 1)
        #expect(try group.allGather([Float(2)]) == [2])
        #expect(try comm.split(color: nil, key: 0) == nil)
    }

    @Test(arguments: InvalidArgumentCase.all)
    func rejectsInvalidArgumentsNamingRankAndCall(_ invalid: InvalidArgumentCase) {
        let error = #expect(throws: CommError.self) { try invalid.invoke(comm) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.call == invalid.call)
        #expect(error?.rank == 0)
        #expect(error?.description.hasPrefix("rank 0 of 1: \(invalid.call): ") == true)
        #expect(error?.reason.contains(invalid.reasonFragment) == true, "\(error?.reason ?? "no error")")
    }
}
