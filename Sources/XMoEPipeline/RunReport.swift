public struct StepOutcome: Sendable, Equatable {
    public enum Result: String, Sendable, Equatable {
        case skipped
        case ran
        case failed
        case notRun = "not run"
    }

    public let step: String
    public let result: Result
    /// The plan's reason for `skipped`/`ran` ("made meanwhile by another run" for a shared step another
    /// process finished while this one waited), the error for `failed`, "upstream X failed" for `notRun`.
    public let detail: String
}

public struct RunReport: Sendable, Equatable {
    public let outcomes: [StepOutcome]

    public var succeeded: Bool { outcomes.allSatisfy { $0.result == .skipped || $0.result == .ran } }

    public func outcome(of step: String) -> StepOutcome? {
        outcomes.first { $0.step == step }
    }
}
