import Foundation

/// The point-name pattern of a sweep, `sweep.name`: literal text with placeholders.
/// `{key.path}` is the point's resolved value of any spec key (varied or not), as its canonical
/// text with strings unquoted and list items joined by `+`; `{index}` is the point's 1-based
/// number in product order; `{name}` is the sweep's name. The expanded name is made safe for a
/// directory by `SweepNamePattern.directorySafe`.
struct SweepNamePattern {
    enum Segment: Equatable {
        case literal(String)
        case key(String)
        case index
    }

    let text: String
    let segments: [Segment]
    let location: SpecLocation

    init(_ text: String, at location: SpecLocation) throws {
        self.text = text
        self.location = location
        var segments: [Segment] = []
        var literal = ""
        var rest = Substring(text)
        while let char = rest.first {
            rest = rest.dropFirst()
            if char == "}" {
                throw SpecError("'}' without a matching '{' in the point-name pattern \"\(text)\"", at: location, key: "sweep.name")
            }
            guard char == "{" else {
                literal.append(char)
                continue
            }
            guard let close = rest.firstIndex(of: "}") else {
                throw SpecError("'{' is never closed in the point-name pattern \"\(text)\"", at: location, key: "sweep.name")
            }
            let placeholder = String(rest[..<close]).trimmingCharacters(in: .whitespaces)
            rest = rest[rest.index(after: close)...]
            if !literal.isEmpty { segments.append(.literal(literal)) }
            literal = ""
            if placeholder == "index" {
                segments.append(.index)
            } else if SpecSchema.byPath[placeholder] != nil {
                segments.append(.key(placeholder))
            } else {
                let hint = placeholder.isEmpty ? "; write a key path such as {moe.top_k}, or {index}"
                    : SpecLoader.suggestion(forPath: placeholder)
                throw SpecError("the point-name pattern names {\(placeholder)}, which is not a spec key" + hint,
                                at: location, key: "sweep.name")
            }
        }
        if !literal.isEmpty { segments.append(.literal(literal)) }
        self.segments = segments
    }

    /// The pattern used when `sweep.name` is absent: each varied key's last path component
    /// followed by its value, joined by `-`, e.g. `num_experts4-top_k1` (a full path where two
    /// varied keys share a last component). A sweep that varies nothing has the sweep's name.
    static func defaultPattern(variedKeys: [String], at location: SpecLocation) -> SweepNamePattern {
        if variedKeys.isEmpty { return try! SweepNamePattern("{name}", at: location) }
        let last = variedKeys.map { String($0.split(separator: ".").last!) }
        let parts = variedKeys.indices.map { index in
            let label = last.filter { $0 == last[index] }.count > 1 ? variedKeys[index] : last[index]
            return "\(label){\(variedKeys[index])}"
        }
        // Only schema keys and safe literals went in, so parsing cannot fail.
        return try! SweepNamePattern(parts.joined(separator: "-"), at: location)
    }

    /// The raw expansion for a point whose resolved values are `values`.
    func expand(values: ResolvedValues, index: Int) -> String {
        segments.map { segment in
            switch segment {
            case let .literal(text): return text
            case .index: return String(index)
            case let .key(path): return Self.nameText(values.value(path))
            }
        }.joined()
    }

    static func nameText(_ value: SpecValue?) -> String {
        switch value {
        case nil: return "null"
        case let .string(s)?: return s
        case let .list(items)?: return items.map { nameText($0) }.joined(separator: "+")
        case let other?: return other.canonical
        }
    }

    /// Replaces every character outside `[A-Za-z0-9._=+-]` with `_`, and the names `.` and `..`
    /// (which are not new directories) with underscores, so any name is one directory level.
    static func directorySafe(_ name: String) -> String {
        let safe = String(name.unicodeScalars.map { scalar -> Character in
            let allowed = ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
                || "._=+-".unicodeScalars.contains(scalar)
            return allowed ? Character(scalar) : "_"
        })
        return safe == "." || safe == ".." ? String(repeating: "_", count: safe.count) : safe
    }
}
