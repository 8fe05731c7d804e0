// A step of the DAG as the caller declares it. The Pipeline never interprets `inputs`: the caller
// flattens the slice of the resolved spec the step reads into canonical text ("model.hidden" → "512"),
// so this layer needs no knowledge of the spec's types.

public struct Step: Sendable {
    public typealias Body = @Sendable (StepContext) throws -> StepOutputs

    public let name: String
    public let upstream: [String]
    public let inputs: [String: String]
    /// Bump when the step's code changes what it writes, so old outputs are not reused.
    public let formatVersion: String
    /// A shared step keeps its record and outputs in the pipeline's `StepCache` (when it has one), so
    /// every run with the same key reuses one execution; otherwise everything stays in the run directory.
    public let shared: Bool
    public let body: Body
    /// What rerunning the step would do, in the step's own terms ("continues from step 60 (train.iters
    /// 60 → 80)"), given the keys of its upstream steps; `plan()` puts it first among the reasons of a
    /// step that is not up to date. Nil: the reasons say it all.
    public var planNote: (@Sendable (_ upstreamKeys: [String: String]) -> String?)?

    public init(
        name: String, upstream: [String] = [], inputs: [String: String], formatVersion: String,
        shared: Bool = false, body: @escaping Body
    ) {
        self.name = name
        self.upstream = upstream
        self.inputs = inputs
        self.formatVersion = formatVersion
        self.shared = shared
        self.body = body
    }
}

/// What a completed step leaves behind: named files (paths relative to the run directory, or to the
/// cache entry of a shared step, already committed to their final names) and small string facts
/// (counts, checksums) for later steps.
public struct StepOutputs: Sendable, Equatable, Codable {
    public var files: [String: String]
    public var facts: [String: String]

    public init(files: [String: String] = [:], facts: [String: String] = [:]) {
        self.files = files
        self.facts = facts
    }
}
