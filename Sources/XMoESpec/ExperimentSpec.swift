import Foundation
import XMoEBase

/// A fully resolved experiment spec: every default filled in, every value checked, every
/// cross-field rule satisfied. Build one with `ExperimentSpec.load(file:overrides:)`.
public struct ExperimentSpec: Sendable, Equatable {
    public let values: ResolvedValues
    /// The spec file and the files it extends, base first.
    public let files: [String]
    public let overrides: [String]

    /// Loads `file`, its `extends` chain and the overrides, then resolves and validates.
    /// Throws `SpecErrors` listing every mistake found (each with file:line:col and key path).
    public static func load(file: String, overrides: [String] = []) throws -> ExperimentSpec {
        var loader = SpecLoader()
        do {
            try loader.load(file: file)
        } catch let error as SpecError {
            throw SpecErrors(loader.errors + [error])
        }
        loader.apply(overrides: overrides)
        if !loader.errors.isEmpty { throw SpecErrors(loader.errors) }

        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let values = try SpecResolver.resolve(loader.assignments, defaultName: stem)
        let problems = SpecValidation.check(values)
        if !problems.isEmpty { throw SpecErrors(problems) }
        return ExperimentSpec(values: values, files: loader.files, overrides: overrides)
    }

    public var name: String { values.string("name")! }
    public var seed: Int { values.int("seed")! }

    /// The resolved spec as YAML, sections and keys in schema order, every value canonical.
    /// Identical for any two spellings of the same spec (key order, comments, `3e-4` vs `0.0003`).
    public var canonicalYAML: String {
        var lines: [String] = []
        for key in SpecSchema.keys where key.section.isEmpty {
            lines.append("\(key.path): \(values.value(key.path)?.canonical ?? "null")")
        }
        for section in SpecSchema.sections {
            lines.append("\(section):")
            for key in SpecSchema.keys(inSection: section) {
                let name = key.path.dropFirst(section.count + 1)
                lines.append("  \(name): \(values.value(key.path)?.canonical ?? "null")")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// SHA-256 of `canonicalYAML`.
    public var hash: String { SHA256.hex(canonicalYAML) }

    /// The resolved spec as `xmoe config` prints it and as `spec.resolved.yaml` stores it.
    public var resolvedDocument: String {
        "# xmoe resolved spec\n# hash: \(hash)\n# from: \(files.joined(separator: " → "))"
            + (overrides.isEmpty ? "" : "\n# overrides: \(overrides.joined(separator: " "))")
            + "\n" + canonicalYAML
    }

    /// Flattened canonical values of the keys under the given prefixes (`["data", "model.seq_length"]`),
    /// the form pipeline steps use as inputs so that a change can be named key by key.
    public func slice(_ prefixes: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for key in SpecSchema.keys where prefixes.contains(where: { key.path == $0 || key.path.hasPrefix($0 + ".") }) {
            out[key.path] = values.value(key.path)?.canonical ?? "null"
        }
        return out
    }
}
