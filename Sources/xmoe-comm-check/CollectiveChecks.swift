import XMoEParallel

/// Every collective over one communicator, with rank-dependent data. `scale` multiplies message
/// lengths so large runs exercise MPI's rendezvous protocols as well as its eager ones.
struct CollectiveChecks {
    let comm: any Communicator
    let scale: Int
    var rank: Int { comm.rank }
    var size: Int { comm.size }
    var ranks: Range<Int> { 0..<comm.size }

    func run(into recorder: inout CheckRecorder) throws {
        try comm.barrier()
        try checkBroadcast(&recorder)
        try checkAllReduce(&recorder)
        try checkAllGather(&recorder)
        try checkReduceScatter(&recorder)
        try checkAllToAll(&recorder)
        try checkAllToAllV(&recorder)
    }

    private func checkBroadcast(_ recorder: inout CheckRecorder) throws {
        let lastRoot = size - 1
        let doubles = { (root: Int) in (0..<(5 * scale)).map { Double(root) * 1000 + Double($0) * 0.5 } }
        // Non-roots start empty: broadcast must also deliver the length.
        var fromLast = rank == lastRoot ? doubles(lastRoot) : []
        try comm.broadcast(&fromLast, root: lastRoot)
        recorder.expectEqual("broadcast Double from rank \(lastRoot)", fromLast, doubles(lastRoot))

        let bytes = (0..<(300 * scale)).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        var fromFirst = rank == 0 ? bytes : [UInt8](repeating: 0xEE, count: 4)
        try comm.broadcast(&fromFirst, root: 0)
        recorder.expectEqual("broadcast UInt8 from rank 0", fromFirst, bytes)
    }

    private func checkAllReduce(_ recorder: inout CheckRecorder) throws {
        let n = size
        var sums = (0..<4).map { Int64((rank + 1) * ($0 + 1)) }
        try comm.allReduce(&sums, op: .sum)
        recorder.expectEqual("allReduce sum Int64", sums, (0..<4).map { Int64(($0 + 1) * n * (n + 1) / 2) })

        let floatAt = { (r: Int, i: Int) in Float((r * 7 + i * 3) % 11) - 5 }
        var maxima = (0..<6).map { floatAt(rank, $0) }
        try comm.allReduce(&maxima, op: .max)
        recorder.expectEqual("allReduce max Float", maxima, (0..<6).map { i in ranks.map { floatAt($0, i) }.max()! })

        let intAt = { (r: Int, i: Int) in Int32((r * 5 + i) % 7) - Int32(r) }
        var minima = (0..<5).map { intAt(rank, $0) }
        try comm.allReduce(&minima, op: .min)
        recorder.expectEqual("allReduce min Int32", minima, (0..<5).map { i in ranks.map { intAt($0, i) }.min()! })

        // Quarters are exact in binary, so the sum is independent of MPI's reduction order.
        let doubleAt = { (r: Int, i: Int) in Double(r) * 0.25 + Double(i) }
        var doubles = (0..<(7 * scale)).map { doubleAt(rank, $0) }
        try comm.allReduce(&doubles, op: .sum)
        recorder.expectEqual("allReduce sum Double", doubles,
                             (0..<(7 * scale)).map { i in ranks.reduce(0.0) { $0 + doubleAt($1, i) } })

        let byteAt = { (r: Int, i: Int) in UInt8((r * 37 + i * 11) % 256) }
        var bytes = (0..<9).map { byteAt(rank, $0) }
        try comm.allReduce(&bytes, op: .max)
        recorder.expectEqual("allReduce max UInt8", bytes, (0..<9).map { i in ranks.map { byteAt($0, i) }.max()! })

        var nothing: [Float] = []
        try comm.allReduce(&nothing, op: .sum)
        recorder.expectEqual("allReduce of an empty buffer", nothing, [])
    }

    /// Uneven shards (rank 0's is empty), as ZeRO-1 cuts a flat buffer that does not divide evenly;
    /// then the all-gather that puts the shards back together.
    private func checkReduceScatter(_ recorder: inout CheckRecorder) throws {
        let counts = ranks.map { ($0 % 3) * scale + ($0 == 0 ? 0 : 1) }
        let total = counts.reduce(0, +)
        // Quarters: exact sums, whatever order MPI reduces in.
        let valueAt = { (r: Int, i: Int) in Float(r) * 0.25 + Float(i % 64) }
        let mine = try comm.reduceScatter((0..<total).map { valueAt(rank, $0) }, recvCounts: counts, op: .sum)
        let start = counts[..<rank].reduce(0, +)
        let expected = (start..<(start + counts[rank])).map { i in ranks.reduce(Float(0)) { $0 + valueAt($1, i) } }
        recorder.expectEqual("reduceScatter sum Float (uneven shards)", mine, expected)
        let (whole, gatheredCounts) = try comm.allGatherV(mine)
        recorder.expectEqual("allGatherV of reduceScatter shards", whole,
                             (0..<total).map { i in ranks.reduce(Float(0)) { $0 + valueAt($1, i) } })
        recorder.expectEqual("allGatherV shard counts", gatheredCounts, counts)

        var maxima = try comm.reduceScatter(ranks.flatMap { d in (0..<2).map { Int64(rank * 10 + d + $0) } },
                                            recvCounts: ranks.map { _ in 2 }, op: .max)
        recorder.expectEqual("reduceScatter max Int64", maxima, (0..<2).map { Int64((size - 1) * 10 + rank + $0) })
        maxima = try comm.reduceScatter([Int64](), recvCounts: ranks.map { _ in 0 }, op: .sum)
        recorder.expectEqual("reduceScatter of an empty buffer", maxima, [])

        // Every rank passes the same wrong counts, so all refuse together before communicating.
        do {
            _ = try comm.reduceScatter([Float](repeating: 1, count: 3), recvCounts: ranks.map { _ in 2 }, op: .sum)
            recorder.expect("reduceScatter with counts not summing to the buffer throws", false)
        } catch let error as CommError {
            recorder.expect("reduceScatter wrong counts is invalidArgument", error.kind == .invalidArgument, "\(error)")
        }
    }

    private func checkAllGather(_ recorder: inout CheckRecorder) throws {
        let block = { (r: Int) in (0..<3).map { Int32(r * 10 + $0) } }
        let gathered = try comm.allGather(block(rank))
        recorder.expectEqual("allGather Int32", gathered, ranks.flatMap(block))

        // Rank 0 (and every third rank) contributes nothing.
        let uneven = { (r: Int) in (0..<((r % 3) * scale)).map { Float(r * 100 + $0 % 100) } }
        let (values, counts) = try comm.allGatherV(uneven(rank))
        recorder.expectEqual("allGatherV counts", counts, ranks.map { ($0 % 3) * scale })
        recorder.expectEqual("allGatherV Float", values, ranks.flatMap(uneven))

        // Every rank sees the same counts, so every rank must refuse together (none left waiting).
        if size > 1 {
            do {
                _ = try comm.allGather([UInt8](repeating: 1, count: rank == 0 ? 1 : 2))
                recorder.expect("allGather refuses unequal lengths", false, "it returned a result")
            } catch let error as CommError {
                recorder.expectEqual("allGather refuses unequal lengths", error.kind, .invalidArgument)
            }
        }
    }

    private func checkAllToAll(_ recorder: inout CheckRecorder) throws {
        let block = 2 * scale
        let value = { (from: Int, to: Int, k: Int) in Int64(from * 1_000_000 + to * 1000 + k) }
        let send = ranks.flatMap { to in (0..<block).map { value(rank, to, $0) } }
        let received = try comm.allToAll(send)
        recorder.expectEqual("allToAll Int64", received, ranks.flatMap { from in (0..<block).map { value(from, rank, $0) } })
    }

    /// Uneven counts: some pairs move nothing, and the last rank receives nothing at all.
    func count(from: Int, to: Int) -> Int {
        to == size - 1 ? 0 : ((from + 2 * to) % 3) * scale
    }

    private func checkAllToAllV(_ recorder: inout CheckRecorder) throws {
        let doubleValue = { (from: Int, to: Int, k: Int) in Double(from * 1_000_000 + to * 1000) + Double(k) * 0.5 }
        let sendCounts = ranks.map { count(from: rank, to: $0) }
        let expectedRecvCounts = ranks.map { count(from: $0, to: rank) }
        let send = ranks.flatMap { to in (0..<sendCounts[to]).map { doubleValue(rank, to, $0) } }

        let exchanged = try comm.exchangeCounts(sendCounts)
        recorder.expectEqual("exchangeCounts", exchanged, expectedRecvCounts)

        let (values, recvCounts) = try comm.allToAllV(send: send, sendCounts: sendCounts)
        recorder.expectEqual("allToAllV recvCounts", recvCounts, expectedRecvCounts)
        recorder.expectEqual("allToAllV Double (uneven)", values,
                             ranks.flatMap { from in (0..<expectedRecvCounts[from]).map { doubleValue(from, rank, $0) } })

        let byteValue = { (from: Int, to: Int, k: Int) in UInt8(truncatingIfNeeded: from * 31 + to * 7 + k) }
        let bytes = ranks.flatMap { to in (0..<sendCounts[to]).map { byteValue(rank, to, $0) } }
        let receivedBytes = try comm.allToAllV(send: bytes, sendCounts: sendCounts, recvCounts: expectedRecvCounts)
        recorder.expectEqual("allToAllV UInt8 (uneven)", receivedBytes,
                             ranks.flatMap { from in (0..<expectedRecvCounts[from]).map { byteValue(from, rank, $0) } })

        let zeros = [Int](repeating: 0, count: size)
        let empty = try comm.allToAllV(send: [Int32](), sendCounts: zeros, recvCounts: zeros)
        recorder.expectEqual("allToAllV with all counts 0", empty, [])
    }
}
