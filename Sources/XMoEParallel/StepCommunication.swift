import XMoEModel

/// What one training step moved between ranks and how long it waited, per phase: the token
/// dispatchers' two all-to-alls (each with its backward; see `DispatchMeter`) and the gradient
/// synchronisation. Bytes are this rank's sends to other ranks, split by node (`GroupLayout.node`).
public struct StepCommunication: Sendable, Equatable {
    public var dispatch: CommTraffic
    public var combine: CommTraffic
    public var gradSync: CommTraffic

    public init(dispatch: CommTraffic = .zero, combine: CommTraffic = .zero, gradSync: CommTraffic = .zero) {
        self.dispatch = dispatch
        self.combine = combine
        self.gradSync = gradSync
    }

    public static let zero = StepCommunication()

    /// Reads and resets the dispatcher's meter; gradient sync is filled in by the caller.
    public static func take(from meter: DispatchMeter, gradSync: CommTraffic = .zero) -> StepCommunication {
        let (dispatch, combine) = meter.take()
        return StepCommunication(dispatch: dispatch, combine: combine, gradSync: gradSync)
    }

    public var total: CommTraffic { dispatch + combine + gradSync }
}

extension StepCommunication {
    /// The job's view for metrics: bytes summed over `comm`'s ranks, seconds the slowest rank's.
    /// Collective: every rank calls it once per step.
    public func reduced(over comm: any Communicator) throws -> StepCommunication {
        let phases = [dispatch, combine, gradSync]
        var bytes = phases.flatMap { [$0.intraNodeBytes, $0.interNodeBytes, $0.localBytes] }
        var seconds = phases.map(\.seconds)
        try comm.allReduce(&bytes, op: .sum)
        try comm.allReduce(&seconds, op: .max)
        func phase(_ i: Int) -> CommTraffic {
            CommTraffic(intraNodeBytes: bytes[3 * i], interNodeBytes: bytes[3 * i + 1], localBytes: bytes[3 * i + 2], seconds: seconds[i])
        }
        return StepCommunication(dispatch: phase(0), combine: phase(1), gradSync: phase(2))
    }
}
