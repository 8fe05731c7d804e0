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

    public init(_ message: String, at location: SpecLocation? = nil, key keyPath: String? = nil) {
        self.location = location
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        text += "error: "
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
