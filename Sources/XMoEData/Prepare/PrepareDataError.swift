import Foundation

/// Why one input line cannot become a document. Each kind is a line on which Megatron's
/// `preprocess_data.py` would crash (json.loads, `obj[key]` or the tokenizer raising).
public enum BadLineKind: String, Sendable, CaseIterable, Comparable {
    case invalidUTF8 = "invalid UTF-8"
    case emptyLine = "empty line"
    case malformedJSON = "malformed JSON"
    case notAnObject = "not a JSON object"
    case missingKey = "missing key"
    case notAString = "value not a string"
    case unpairedSurrogate = "unpaired surrogate escape"

    public static func < (a: BadLineKind, b: BadLineKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

public enum PrepareDataError: Error, CustomStringConvertible, Equatable {
    /// A line that cannot become a document; `detail` says what is wrong.
    case badLine(file: String, line: Int, kind: BadLineKind, detail: String)
    case cannotRead(file: String, reason: String)
    case corruptGzip(file: String, reason: String)
    case cannotWrite(file: String, reason: String)
    case invalidOptions(String)

    public var description: String {
        switch self {
        case let .badLine(file, line, kind, detail):
            return "\(file):\(line): \(kind.rawValue): \(detail) (fix the line, or pass --skip-bad-lines to skip such lines)"
        case let .cannotRead(file, reason):
            return "cannot read \(file): \(reason)"
        case let .corruptGzip(file, reason):
            return "\(file): corrupt or truncated gzip data: \(reason)"
        case let .cannotWrite(file, reason):
            return "cannot write \(file): \(reason)"
        case let .invalidOptions(message):
            return "prepare-data: \(message)"
        }
    }

    /// The kind of a `.badLine`, nil for the others.
    public var badLineKind: BadLineKind? {
        if case let .badLine(_, _, kind, _) = self { return kind }
        return nil
    }
}

/// A bad line before the file name is attached (the JSON scanner does not know it).
struct LineProblem: Error, Equatable {
    let kind: BadLineKind
    let detail: String
}
