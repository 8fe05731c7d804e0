/// Receives what the runner and step bodies say about progress. Every method has a default that does
/// nothing, so a reporter implements only what it shows.
public protocol ProgressReporter: Sendable {
    func stepStarted(_ step: String, reason: String)
    func stepFinished(_ step: String, durationSeconds: Double)
    func stepSkipped(_ step: String, reason: String)
    func stepFailed(_ step: String, error: String)
    func stepNotRun(_ step: String, reason: String)
    /// A shared step's cache entry is locked by another run; `message` is
    /// "waiting for <step> (held by pid N)". The step is skipped or run once the lock is free.
    func stepWaiting(_ step: String, message: String)
    /// From a step body: `fraction` in 0...1 when the total is known, and a short status line
    /// ("1.2k docs/s, 35 MB/s, ETA 3m05s").
    func progress(_ step: String, fraction: Double?, message: String)
}

extension ProgressReporter {
    public func stepStarted(_ step: String, reason: String) {}
    public func stepFinished(_ step: String, durationSeconds: Double) {}
    public func stepSkipped(_ step: String, reason: String) {}
    public func stepFailed(_ step: String, error: String) {}
    public func stepNotRun(_ step: String, reason: String) {}
    public func stepWaiting(_ step: String, message: String) {}
    public func progress(_ step: String, fraction: Double?, message: String) {}
}

public struct SilentProgressReporter: ProgressReporter {
    public init() {}
}
