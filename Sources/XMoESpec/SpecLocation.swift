/// Where a spec value came from: a line and column in a YAML file, a command-line override,
/// or the built-in default. Every error a user can cause names one of these.
public enum SpecLocation: Sendable, Equatable, CustomStringConvertible {
    case file(path: String, line: Int, column: Int)
    case override(index: Int, text: String)
    case defaultValue

    public var description: String {
        switch self {
        case let .file(path, line, column): return "\(path):\(line):\(column)"
        case let .override(index, text): return "command line: override #\(index) '\(text)'"
        case .defaultValue: return "(default)"
        }
    }
}

/// A mistake in a spec or in an override. `xmoe` prints `description` and exits with status 2.
public struct SpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: SpecLocation?
    /// Dotted key path such as `model.hidden`, when the error concerns one key.
    public var keyPath: String?
    public var message: String
    /// What the error belongs to when that is more than the key, such as one point of a sweep
    /// (`point e4-k8 (moe.num_experts=4, moe.top_k=8)`); printed before the key path.
    public var context: String?

    public init(_ message: String, at location: SpecLocation? = nil, key keyPath: String? = nil, context: String? = nil) {
        self.location = location
        self.keyPath = keyPath
        self.message = message
        self.context = context
    }

    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        text += "error: "
        if let context { text += "\(context): " }
        if let keyPath { text += "\(keyPath): " }
        return text + message
    }
}

/// Several independent mistakes found in one pass, reported together.
public struct SpecErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [SpecError]
    public init(_ errors: [SpecError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
