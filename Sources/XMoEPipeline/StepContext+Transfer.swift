import Foundation

/// A step context as plain data, so a process that did not run the pipeline (a follower rank of a
/// multi-rank job) can run the same step body with the same paths and upstream outputs.
public struct TransferableStepContext: Codable, Sendable, Equatable {
    public var stepName: String
    public var runDirectory: String
    public var outputRoot: String
    public var inputs: [String: String]
    public var upstreamOutputs: [String: StepOutputs]
    public var upstreamRoots: [String: String]

    public init(_ c: StepContext) {
        stepName = c.stepName
        runDirectory = c.runDirectory.root.path
        outputRoot = c.outputRoot.path
        inputs = c.inputs
        upstreamOutputs = c.upstreamOutputs
        upstreamRoots = c.upstreamRoots.mapValues(\.path)
    }

    /// The context, reporting progress to `reporter` (followers: a silent one).
    public func context(reporter: any ProgressReporter = SilentProgressReporter()) -> StepContext {
        StepContext(stepName: stepName, runDirectory: RunDirectory(root: URL(fileURLWithPath: runDirectory, isDirectory: true)),
                    outputRoot: URL(fileURLWithPath: outputRoot, isDirectory: true), inputs: inputs,
                    upstreamOutputs: upstreamOutputs,
                    upstreamRoots: upstreamRoots.mapValues { URL(fileURLWithPath: $0, isDirectory: true) }, reporter: reporter)
    }
}
