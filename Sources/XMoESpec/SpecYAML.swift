import Foundation
import Yams

/// Converts YAML nodes into typed spec values, with the line and column of every key.
enum SpecYAML {
    /// Parses YAML text into a node tree; syntax errors become a `SpecError` with the position.
    static func compose(_ text: String, file: String) throws -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            throw duplicateKeyError(duplicates.sorted().first ?? "", mappingStart: context.mark, text: text, file: file)
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        }
    }

    /// Yams rejects a duplicated key while composing and names only the mapping; find the second
    /// occurrence (block style: same indentation as the mapping's first key) and its section.
    /// `text` has `\n` line ends (`SpecFileReader`); lines are split as the YAML parser counts them.
    static func duplicateKeyError(_ key: String, mappingStart: Mark, text: String, file: String) -> SpecError {
        let lines = yamlLines(text)
        let indent = max(mappingStart.column - 1, 0)
        let startIndex = min(max(mappingStart.line - 1, 0), lines.count)
        var occurrences: [Int] = []
        for index in startIndex..<lines.count {
            let line = lines[index]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let leading = line.prefix { $0 == " " }.count
            if leading < indent { break }  // the mapping ended
            if leading == indent, line.dropFirst(leading).hasPrefix(key + ":") { occurrences.append(index + 1) }
        }
        var section = ""
        if startIndex < lines.count, mappingStart.column > 1, let first = lines[startIndex].first, first != " ", first != "#",
           let colon = lines[startIndex].firstIndex(of: ":"),
           lines[startIndex].distance(from: lines[startIndex].startIndex, to: colon) < mappingStart.column - 1 {
            // A flow mapping on its section's line: `model: {hidden: 64, hidden: 128}`.
            section = String(lines[startIndex][..<colon]) + "."
        } else if mappingStart.column > 1 && startIndex >= 1 {
            for index in stride(from: startIndex - 1, through: 0, by: -1) {
                let line = lines[index]
                if let first = line.first, first != " ", first != "#", let colon = line.firstIndex(of: ":") {
                    section = String(line[..<colon]) + "."
                    break
                }
            }
        }
        let line = occurrences.count >= 2 ? occurrences[1] : mappingStart.line
        let first = occurrences.first.map { " (first set at \(file):\($0):\(mappingStart.column))" }
            ?? " (in the mapping that begins at \(file):\(mappingStart.line):\(mappingStart.column))"
        return SpecError("duplicate key\(first)", at: .file(path: file, line: line, column: mappingStart.column),
                         key: section + key)
    }

    /// The lines of `text` as libyaml counts them: besides `\n`, NEL, LINE and PARAGRAPH SEPARATOR end a line.
    static func yamlLines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n", "\u{85}", "\u{2028}", "\u{2029}":
                lines.append(String(current))
                current = String.UnicodeScalarView()
            default:
                current.append(scalar)
            }
        }
        lines.append(String(current))
        return lines
    }

    static func syntaxError(_ error: YamlError, file: String) -> SpecError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            var message = "YAML syntax: \(problem)"
            if let context {
                // libyaml notices an unclosed bracket or quote where the text stops making sense;
                // the construct itself began at the context's mark, often many lines earlier.
                message += " (\(context.text) that began at \(file):\(context.mark.line):\(context.mark.column))"
            }
            return SpecError(message, at: .file(path: file, line: mark.line, column: mark.column))
        case let .reader(problem, offset, _, yaml):
            var location = SpecLocation.file(path: file, line: 1, column: 1)
            if let offset { location = position(ofByte: offset, in: yaml, file: file) }
            return SpecError("YAML syntax: \(problem)" + (offset.map { " at byte \($0 + 1)" } ?? ""), at: location)
        default:
            return SpecError("YAML: \(error)", at: .file(path: file, line: 1, column: 1))
        }
    }

    /// Line and column (in characters) of a UTF-8 byte offset into `text`.
    static func position(ofByte offset: Int, in text: String, file: String) -> SpecLocation {
        var line = 1, column = 1, consumed = 0
        for scalar in text.unicodeScalars {
            if consumed >= offset { break }
            consumed += String(scalar).utf8.count
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return .file(path: file, line: line, column: column)
    }

    static func location(of node: Node, file: String) -> SpecLocation {
        guard let mark = node.mark else { return .file(path: file, line: 1, column: 1) }
        return .file(path: file, line: mark.line, column: mark.column)
    }

    static func isNull(_ node: Node) -> Bool {
        guard case let .scalar(scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The typed value of `node` for `key`, or nil for YAML null (meaning: back to the default).
    static func value(of node: Node, for key: SpecKey, at location: SpecLocation) throws -> SpecValue? {
        if isNull(node) { return nil }
        func typeError(_ got: String) -> SpecError {
            SpecError("expected \(key.type.allowed), got \(got)", at: location, key: key.path)
        }
        let value: SpecValue
        switch (key.type, node) {
        case let (.stringList, .sequence(seq)):
            value = .list(try seq.map { item -> SpecValue in
                guard case let .scalar(s) = item, !isNull(item) else { throw typeError("a list holding \(describe(item))") }
                return .string(s.string)
            })
        case let (.floatList, .sequence(seq)):
            value = .list(try seq.map { item -> SpecValue in
                guard case let .scalar(s) = item, s.style == .plain, let v = SpecType.parseFloat(s.string) else {
                    throw typeError("a list holding \(describe(item))")
                }
                return .float(v)
            })
        case let (.stringList, .scalar(s)) where s.style != .plain || !s.string.isEmpty:
            // A single string where a list is expected is a common slip; say so exactly.
            throw typeError("the single string '\(s.string)' (write [\(s.string)])")
        case let (_, .scalar(scalar)):
            let isStringType: Bool
            switch key.type {
            case .string, .choice: isStringType = true
            default: isStringType = false
            }
            // Quoted scalars are strings: `hidden: "256"` is a string, not a number.
            if !isStringType && scalar.style != .plain { throw typeError("the quoted string \"\(scalar.string)\"") }
            guard let parsed = key.type.parseScalar(scalar.string) else { throw typeError("'\(scalar.string)'") }
            value = parsed
        default:
            throw typeError(describe(node))
        }
        if let problem = key.type.violation(of: value) {
            throw SpecError(problem, at: location, key: key.path)
        }
        return value
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case let .scalar(s): return "'\(s.string)'"
        case .alias: return "an alias"
        }
    }
}
