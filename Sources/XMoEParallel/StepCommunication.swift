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
