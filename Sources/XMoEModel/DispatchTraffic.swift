import Foundation

/// Bytes a collective moved and the time it took. Bytes count payload this rank sends (rows · H · 4
/// for fp32 rows), split by where the peer is: another rank on this node, a rank on another node
/// (`parallel.ranks_per_node`), or this rank itself — the all-to-all's self block, a local copy
/// that crosses no link and so is neither intra- nor inter-node traffic. Control messages (counts,
/// capacities: a few integers per layer) are not counted.
public struct CommTraffic: Sendable, Equatable {
    public var intraNodeBytes: Int
    public var interNodeBytes: Int
    /// The self block: payload a rank keeps (part of the collective's buffer, but not sent).
    public var localBytes: Int
    public var seconds: Double

    public init(intraNodeBytes: Int = 0, interNodeBytes: Int = 0, localBytes: Int = 0, seconds: Double = 0) {
        self.intraNodeBytes = intraNodeBytes
        self.interNodeBytes = interNodeBytes
        self.localBytes = localBytes
        self.seconds = seconds
    }

    public static let zero = CommTraffic()

    /// Bytes sent to other ranks.
    public var sentBytes: Int { intraNodeBytes + interNodeBytes }
    /// The whole payload of the collective's send buffer, self block included.
    public var payloadBytes: Int { sentBytes + localBytes }

    public static func + (a: CommTraffic, b: CommTraffic) -> CommTraffic {
        CommTraffic(intraNodeBytes: a.intraNodeBytes + b.intraNodeBytes, interNodeBytes: a.interNodeBytes + b.interNodeBytes,
                    localBytes: a.localBytes + b.localBytes, seconds: a.seconds + b.seconds)
    }

    public static func += (a: inout CommTraffic, b: CommTraffic) { a = a + b }
}

/// Accumulates a dispatcher's traffic over the layers and micro-steps of one training step; the
/// trainer reads and resets it once per step (`take`). `dispatch` counts the forward dispatch and
/// its backward (`dispatchBackward`), `combine` the forward combine and `combineBackward`, so each
/// phase holds both directions of its all-to-all.
///
/// A meter is per-step bookkeeping, not layer state: it never influences what a layer computes.
public final class DispatchMeter: @unchecked Sendable {
    public private(set) var dispatch = CommTraffic.zero
    public private(set) var combine = CommTraffic.zero

    public init() {}

    public enum Phase: Sendable { case dispatch, combine }

    public func add(_ traffic: CommTraffic, to phase: Phase) {
        switch phase {
        case .dispatch: dispatch += traffic
        case .combine: combine += traffic
        }
    }

    /// Runs `body`, which returns its result and the bytes it moved; adds those and its wall time to `phase`.
    public func measure<R>(_ phase: Phase, _ body: () throws -> (R, CommTraffic)) rethrows -> R {
        let start = DispatchTime.now().uptimeNanoseconds
        var (result, traffic) = try body()
        traffic.seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        add(traffic, to: phase)
        return result
    }

    /// The totals since the last `take`, then zero.
    public func take() -> (dispatch: CommTraffic, combine: CommTraffic) {
        defer { (dispatch, combine) = (.zero, .zero) }
        return (dispatch, combine)
    }
}
