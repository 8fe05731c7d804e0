import Foundation
import Yams

/// One explicit setting of a key, from a file or an override; nil value means YAML null.
struct SpecAssignment {
    var path: String
    var value: SpecValue?
    var location: SpecLocation
}

/// Reads a spec file and the chain of files it `extends`, in order from the base to the file
/// itself, so later assignments win. Collects every mistake it can find before failing.
struct SpecLoader {
    private(set) var errors: [SpecError] = []
    private(set) var assignments: [SpecAssignment] = []
    /// Every file read, base first (for `xmoe config` and error context).
    private(set) var files: [String] = []
    /// Whether the file loaded first may hold a `sweep:` section (`SweepSpec` sets this; for
    /// `ExperimentSpec` a `sweep:` key is an error that points at `xmoe sweep`).
    var allowsSweep = false
    /// The `sweep:` section of the file loaded first, when `allowsSweep`.
    private(set) var sweep: (key: Node, value: Node, file: String)?

    /// `referencedAt` is the `extends` key that named this file (nil for the file given on the command line).
    mutating func load(file path: String, chain: [String] = [], referencedAt: SpecLocation? = nil) throws {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        if let start = chain.firstIndex(of: absolute) {
            let cycle = (chain[start...] + [absolute]).map(displayPath).joined(separator: " → ")
            throw SpecError("`extends` cycle: \(cycle)", at: .file(path: displayPath(chain.last!), line: 1, column: 1),
                            key: "extends")
        }
        let text = try SpecFileReader.readText(absolute, shown: displayPath(absolute), referencedAt: referencedAt,
                                           key: referencedAt == nil ? nil : "extends")
        let shown = displayPath(absolute)
        guard let root = try SpecYAML.compose(text, file: shown) else {
            files.append(shown)
            return  // An empty file is a spec of all defaults.
        }
        guard case let .mapping(mapping) = root else {
            throw SpecError("a spec must be a mapping of sections (data, model, moe, …), got \(SpecYAML.describe(root))",
                            at: SpecYAML.location(of: root, file: shown))
        }
        // `extends` first: the base's values are overridden by this file's wherever it stands.
        for (keyNode, valueNode) in mapping where keyNode.string == "extends" {
            let location = SpecYAML.location(of: keyNode, file: shown)
            guard case let .scalar(s) = valueNode, !s.string.isEmpty else {
                throw SpecError("expected a path to another spec file", at: location, key: "extends")
            }
            let base = URL(fileURLWithPath: s.string, relativeTo: URL(fileURLWithPath: absolute).deletingLastPathComponent())
            guard FileManager.default.fileExists(atPath: base.path) else {
                throw SpecError("extends a file that does not exist: '\(s.string)' (looked for \(displayPath(base.path)))",
                                at: location, key: "extends")
            }
            try load(file: base.path, chain: chain + [absolute], referencedAt: location)
        }
        files.append(shown)
        read(mapping: mapping, file: shown, isRoot: chain.isEmpty)
    }

    private mutating func read(mapping: Node.Mapping, file: String, isRoot: Bool) {
        var seen: [String: SpecLocation] = [:]
        for (keyNode, valueNode) in mapping {
            let location = SpecYAML.location(of: keyNode, file: file)
            guard let key = keyNode.string else {
                errors.append(SpecError("keys must be plain names, got \(SpecYAML.describe(keyNode))", at: location))
                continue
            }
            if let first = seen[key] {
                errors.append(SpecError("duplicate key (first set at \(first))", at: location, key: key))
                continue
            }
            seen[key] = location
            if key == "extends" { continue }
            if key == "sweep" {
                if allowsSweep && isRoot {
                    sweep = (keyNode, valueNode, file)
                } else {
                    let hint = allowsSweep ? "only the sweep file itself may hold a sweep section, not a file it extends"
                                           : "a sweep file runs with `xmoe sweep`, not as a single spec"
                    errors.append(SpecError("unexpected section: " + hint, at: location, key: key))
                }
                continue
            }
            if SpecSchema.topLevel.contains(key) {
                assign(key, valueNode, location)
            } else if SpecSchema.sections.contains(key) {
                readSection(key, valueNode, file: file, location: location)
            } else {
                errors.append(SpecError("unknown key" + suggestion(forTopLevel: key), at: location, key: key))
            }
        }
    }

    private mutating func readSection(_ section: String, _ node: Node, file: String, location: SpecLocation) {
        if SpecYAML.isNull(node) { return }
        guard case let .mapping(mapping) = node else {
            errors.append(SpecError("a section must be a mapping of keys, got \(SpecYAML.describe(node))",
                                    at: location, key: section))
            return
        }
        var seen: [String: SpecLocation] = [:]
        for (keyNode, valueNode) in mapping {
            let keyLocation = SpecYAML.location(of: keyNode, file: file)
            guard let name = keyNode.string else {
                errors.append(SpecError("keys must be plain names", at: keyLocation, key: section))
                continue
            }
            let path = "\(section).\(name)"
            if let first = seen[name] {
                errors.append(SpecError("duplicate key (first set at \(first))", at: keyLocation, key: path))
                continue
            }
            seen[name] = keyLocation
            guard SpecSchema.byPath[path] != nil else {
                errors.append(SpecError("unknown key" + Self.suggestion(forPath: path), at: keyLocation, key: path))
                continue
            }
            assign(path, valueNode, keyLocation)
        }
    }

    private mutating func assign(_ path: String, _ node: Node, _ location: SpecLocation) {
        let key = SpecSchema.byPath[path]!
        do {
            assignments.append(SpecAssignment(path: path, value: try SpecYAML.value(of: node, for: key, at: location),
                                              location: location))
        } catch let error as SpecError {
            errors.append(error)
        } catch {
            errors.append(SpecError("\(error)", at: location, key: path))
        }
    }

    /// Applies `key.path=value` overrides, typed and checked like file values.
    mutating func apply(overrides: [String]) {
        for (offset, text) in overrides.enumerated() {
            let location = SpecLocation.override(index: offset + 1, text: text)
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
                errors.append(SpecError("an override must look like key.path=value (for example model.hidden=512)",
                                        at: location))
                continue
            }
            let path = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
            let raw = String(text[text.index(after: eq)...])
            guard SpecSchema.byPath[path] != nil else {
                let hint = path == "extends" ? ": `extends` can only be set in a file" : Self.suggestion(forPath: path)
                errors.append(SpecError("unknown key" + hint, at: location, key: path))
                continue
            }
            do {
                // An empty value is the empty string, not null: `output.dir=` must not silently reset.
                let node = try SpecYAML.compose(raw, file: "override") ?? Node(raw, Tag(.str), .singleQuoted)
                assign(path, node, location)
            } catch let error as SpecError {
                errors.append(SpecError(error.message, at: location, key: path))
            } catch {
                errors.append(SpecError("\(error)", at: location, key: path))
            }
        }
    }

    private func suggestion(forTopLevel key: String) -> String {
        let allowed = SpecSchema.sections + SpecSchema.topLevel + ["extends"]
        if let near = closestMatch(to: key, among: allowed) { return " (did you mean '\(near)'?)" }
        // A section key written at the top level, like `hidden: 256`.
        let inSection = SpecSchema.keys.filter { $0.path.hasSuffix(".\(key)") }.map(\.path)
        if let path = inSection.first { return " (did you mean '\(path)', inside its section?)" }
        return "; allowed at the top level: " + allowed.joined(separator: ", ")
    }

    /// A did-you-mean hint for an unknown dotted key path (also used for sweep keys).
    static func suggestion(forPath path: String) -> String {
        let name = path.split(separator: ".").last.map(String.init) ?? path
        // The right key in the wrong section is the most common mistake: `model.num_experts`.
        if let other = SpecSchema.keys.first(where: { $0.path.hasSuffix(".\(name)") && $0.path != path }) {
            return " (did you mean '\(other.path)'?)"
        }
        let section = path.split(separator: ".").first.map(String.init) ?? ""
        let candidates = SpecSchema.keys(inSection: section).map(\.path)
        if let near = closestMatch(to: path, among: candidates.isEmpty ? SpecSchema.keys.map(\.path) : candidates) {
            return " (did you mean '\(near)'?)"
        }
        if !SpecSchema.sections.contains(section) && path.contains(".") {
            return "; sections are " + SpecSchema.sections.joined(separator: ", ")
        }
        return ""
    }
}

/// Paths in messages are shown relative to the working directory when they are below it.
func displayPath(_ path: String) -> String {
    let cwd = FileManager.default.currentDirectoryPath
    let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
    if absolute.hasPrefix(cwd + "/") { return String(absolute.dropFirst(cwd.count + 1)) }
    return absolute
}
