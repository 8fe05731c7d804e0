import Foundation

public enum StepStatus: String, Sendable, Codable {
    case complete
    /// Written before the body starts; left behind when the process dies without a chance to clean up.
    case running
    case failed
    /// Written by the SIGINT/SIGTERM handler while the step was running.
    case interrupted
}

/// `runs/<name>/steps/<step>.json`: enough to skip the step next time, or to say why not.
public struct StepRecord: Sendable, Equatable, Codable {
    public var step: String
    public var key: String
    public var status: StepStatus
    public var startedAt: Date
    public var finishedAt: Date?
    public var durationSeconds: Double?
    public var formatVersion: String
    /// The inputs and upstream keys the key was computed from, so a later plan can name what changed.
    public var inputs: [String: String]
    public var upstreamKeys: [String: String]
    public var outputs: StepOutputs?
    /// Why this execution happened ("never run", "model.hidden changed: 256 → 512", …).
    public var reason: String
    public var error: String?
    /// In a run directory's record of a shared step: the cache entry directory the run used, which holds
    /// the outputs (their paths are relative to it). Nil for run-local steps and in the entry's own record.
    public var cacheEntry: String?

    // Explicit snake_case names: a key strategy would also rewrite the inputs map's keys.
    enum CodingKeys: String, CodingKey {
        case step, key, status, inputs, outputs, reason, error
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case durationSeconds = "duration_seconds"
        case formatVersion = "format_version"
        case upstreamKeys = "upstream_keys"
        case cacheEntry = "cache_entry"
    }

    public init(
        step: String, key: String, status: StepStatus, startedAt: Date, finishedAt: Date? = nil,
        durationSeconds: Double? = nil, formatVersion: String, inputs: [String: String],
        upstreamKeys: [String: String], outputs: StepOutputs? = nil, reason: String, error: String? = nil,
        cacheEntry: String? = nil
    ) {
        self.step = step
        self.key = key
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.durationSeconds = durationSeconds
        self.formatVersion = formatVersion
        self.inputs = inputs
        self.upstreamKeys = upstreamKeys
        self.outputs = outputs
        self.reason = reason
        self.error = error
        self.cacheEntry = cacheEntry
    }
}
