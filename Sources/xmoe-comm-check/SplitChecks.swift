import XMoEParallel

/// Splits the world two ways and runs collectives inside the pieces, whose membership and order
/// are predicted from the colors and keys alone.
struct SplitChecks {
    let world: any Communicator
    let scale: Int

    func run(into recorder: inout CheckRecorder) throws {
        try checkParityGroups(&recorder)
        try checkExclusion(&recorder)
    }

    /// color = rank parity, key = -rank: each group lists its world ranks in descending order.
    private func checkParityGroups(_ recorder: inout CheckRecorder) throws {
        let me = world.rank
        let members = (0..<world.size).filter { $0 % 2 == me % 2 }.sorted(by: >)
        guard let group = try world.split(color: me % 2, key: -me) else {
            recorder.expect("split by parity returns a group", false, "got nil for color \(me % 2)")
            return
        }
        recorder.expectEqual("split by parity: size", group.size, members.count)
        recorder.expectEqual("split by parity: rank (key = -rank)", group.rank, members.firstIndex(of: me)!)

        var sums = [Int64(me), 1]
        try group.allReduce(&sums, op: .sum)
        recorder.expectEqual("allReduce sum in parity group", sums, [Int64(members.reduce(0, +)), Int64(members.count)])

        var leader = group.rank == 0 ? [Int64(me)] : []
        try group.broadcast(&leader, root: 0)
        recorder.expectEqual("broadcast in parity group", leader, [Int64(members[0])])

        // Uneven all-to-all among group ranks, tagged with world ranks to catch a wrong mapping.
        let count = { (from: Int, to: Int) in ((from * to + 1) % 3) * scale }
        let value = { (fromWorld: Int, to: Int, k: Int) in Int32(fromWorld * 10_000 + to * 100 + k % 100) }
        let peers = 0..<group.size
        let sendCounts = peers.map { count(group.rank, $0) }
        let send = peers.flatMap { to in (0..<sendCounts[to]).map { value(me, to, $0) } }
        let (values, recvCounts) = try group.allToAllV(send: send, sendCounts: sendCounts)
        recorder.expectEqual("allToAllV in parity group: recvCounts", recvCounts, peers.map { count($0, group.rank) })
        recorder.expectEqual("allToAllV in parity group", values, peers.flatMap { from in
            (0..<count(from, group.rank)).map { value(members[from], group.rank, $0) }
        })
    }

    /// World rank 0 joins no group (color nil); the rest form one group in world order.
    private func checkExclusion(_ recorder: inout CheckRecorder) throws {
        let me = world.rank
        let group = try world.split(color: me == 0 ? nil : 7, key: me)
        guard me != 0 else {
            recorder.expect("split with color nil returns nil", group == nil)
            return
        }
        guard let group else {
            recorder.expect("split without rank 0 returns a group", false, "got nil for color 7")
            return
        }
        recorder.expectEqual("split without rank 0: size", group.size, world.size - 1)
        recorder.expectEqual("split without rank 0: rank", group.rank, me - 1)
        let gathered = try group.allGather([Int32(me)])
        recorder.expectEqual("allGather without rank 0", gathered, (1..<world.size).map { Int32($0) })
    }
}
