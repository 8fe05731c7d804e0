/// Where a run stands, from its step records.
public enum RunStatus: Sendable, Equatable, CustomStringConvertible {
    case notStarted
    /// A `running` record: the step is running now, or its process died without a chance to record it.
    case running(step: String)
    case complete
    case failed(step: String, error: String)
    case interrupted(step: String, error: String?)

    /// One word for tables: `complete`, `running`, `failed`, `interrupted`, `not started`.
    public var label: String {
        switch self {
        case .notStarted: "not started"
        case .running: "running"
        case .complete: "complete"
        case .failed: "failed"
        case .interrupted: "interrupted"
        }
    }

    /// The recorded error of a failed or interrupted step.
    public var error: String? {
        switch self {
        case .failed(_, let error): error
        case .interrupted(_, let error): error
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .notStarted, .complete: label
        case .running(let step): "running (\(step); or its process died without recording an end)"
        case .failed(let step, let error): "failed in \(step): \(error)"
        case .interrupted(let step, let error): "interrupted in \(step)" + (error.map { ": \($0)" } ?? "")
        }
    }

    /// The train step's record decides; without one, an upstream step that failed, was interrupted or
    /// is running explains why training has not happened (a failed `prepare-data` is the usual case).
    init(records: [String: RecordedStep]) {
        if let train = records["train"] {
            self.init(train)
            return
        }
        let unfinished = records.values.sorted { $0.startedAt < $1.startedAt }.last { $0.status != .complete }
        self = unfinished.map { RunStatus($0) } ?? .notStarted
    }

    private init(_ record: RecordedStep) {
        switch record.status {
        case .complete: self = .complete
        case .running: self = .running(step: record.step)
        case .failed: self = .failed(step: record.step, error: record.error ?? "no error message recorded")
        case .interrupted: self = .interrupted(step: record.step, error: record.error)
        }
    }
}
