import Foundation

/// A run directory that cannot be summarised, naming the path and what to do about it.
public enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingRunDirectory(path: String)
    case missingMetrics(runDirectory: String)
    /// The file would not open: damaged or unreadable.
    case unreadableMetrics(path: String, detail: String)
    case malformedMetrics(path: String, detail: String)
    case malformedStepRecord(path: String, detail: String)
    case malformedSpec(path: String, detail: String)
    case cannotWrite(path: String, detail: String)

    public var description: String {
        switch self {
        case .missingRunDirectory(let path):
            "\(path) does not exist: is the run name right, and has `xmoe run` been started for it?"
        case .missingMetrics(let directory):
            "\(directory) has no metrics.h5: has its train step run? (`xmoe run …`)"
        case .unreadableMetrics(let path, let detail):
            "cannot open \(path) (\(detail))"
        case .malformedMetrics(let path, let detail):
            "\(path) is not a metrics file this version can read: \(detail)"
        case .malformedStepRecord(let path, let detail):
            "\(path) is not a readable step record: \(detail) (delete it to let `xmoe run` redo the step)"
        case .malformedSpec(let path, let detail):
            "\(path) does not load as a resolved spec: \(detail)"
        case .cannotWrite(let path, let detail):
            "cannot write \(path): \(detail)"
        }
    }
}
