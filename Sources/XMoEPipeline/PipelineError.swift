/// Errors a user (or a spec) can cause; each message names the step or file and what to do.
public enum PipelineError: Error, Equatable, CustomStringConvertible {
    case duplicateStep(String)
    case unknownUpstream(step: String, upstream: String, known: [String])
    case cycle([String])
    case unknownStep(String, known: [String])
    case invalidOutputPath(step: String, path: String)
    case outputNotCommitted(step: String, name: String, path: String)
    case corruptRecord(path: String, detail: String)
    case runDirectoryInUse(path: String, pid: Int32?)
    case io(String)

    public var description: String {
        switch self {
        case .duplicateStep(let name):
            return "step '\(name)' is declared twice; step names must be unique"
        case .unknownUpstream(let step, let upstream, let known):
            return "step '\(step)' lists upstream '\(upstream)', which is not a step of this pipeline "
                + "(steps: \(known.joined(separator: ", ")))"
        case .cycle(let path):
            return "steps form a cycle: \(path.joined(separator: " → ")); remove one of these upstream links"
        case .unknownStep(let name, let known):
            return "there is no step '\(name)' (steps: \(known.joined(separator: ", ")))"
        case .invalidOutputPath(let step, let path):
            return "step '\(step)' names output path '\(path)'; outputs must be relative paths inside "
                + "the run directory, without '..'"
        case .outputNotCommitted(let step, let name, let path):
            return "step '\(step)' reported output '\(name)' at \(path), but no file is there; "
                + "write it under context.temporaryURL(for:) and call context.commit(_:)"
        case .corruptRecord(let path, let detail):
            return "cannot read step record \(path): \(detail); delete it to make the step run again"
        case .runDirectoryInUse(let path, let pid):
            let holder = pid.map { "pid \($0)" } ?? "pid not yet recorded"
            return "\(path) is in use by another xmoe process (\(holder)); wait for it or stop it"
        case .io(let message):
            return message
        }
    }
}
