import Foundation

/// A sweep: a spec file with a `sweep:` section, expanded into one fully resolved and validated
/// `ExperimentSpec` per point. Build one with `SweepSpec.load(file:overrides:)`.
///
/// The file is a normal spec (same sections, `extends` relative to it) plus:
/// ```yaml
/// sweep:
///   name: "e{moe.num_experts}-k{moe.top_k}"   # point names; see SweepNamePattern
///   grid: {moe.num_experts: [4, 8], moe.top_k: [1, 2]}            # one axis per key
///   zip: [{train.lr: [1.0e-3, 3.0e-3], train.min_lr: [1.0e-4, 3.0e-4]}]  # one axis per group
///   exclude: [{moe.num_experts: 4, moe.top_k: 2}]                 # drop points matching all keys
/// ```
/// Points are the Cartesian product of the axes (grid keys in file order, then zip groups; the
/// first axis varies slowest). Each point's spec is the file's values, then the overrides, then
/// the point's values; its `name` is the expanded pattern and its `output.dir` is the base's
/// `output.dir/<sweep name>`, so runs land in `<output.dir>/<sweep name>/<point name>/`.
public struct SweepSpec: Sendable {
    /// The sweep's name: the file's `name` (or an override of it), else the file's stem.
    public let name: String
    /// The sweep file and the files it extends, base first.
    public let files: [String]
    public let overrides: [String]
    /// The file's values and the overrides, resolved, without any point's values. Its cross-key
    /// rules are not checked (a base may be invalid where every point is valid); the points' are.
    public let base: ExperimentSpec
    /// The varied keys: the grid's in file order, then each zip group's.
    public let variedKeys: [String]
    /// The point-name pattern, as written in `sweep.name` or the default one.
    public let namePattern: String
    /// Where the points' run directories live: the base's `output.dir` joined with the sweep's
    /// name made directory-safe; every point's `output.dir`.
    public let outputDirectory: String
    /// The points left after exclusion, in product order.
    public let points: [SweepPoint]
    public let excludedCount: Int

    /// Loads, expands and validates every point. Throws `SpecErrors` listing every mistake found:
    /// in the file, the `sweep:` section, the overrides and every invalid point.
    public static func load(file: String, overrides: [String] = []) throws -> SweepSpec {
        var loader = SpecLoader()
        loader.allowsSweep = true
        do {
            try loader.load(file: file)
        } catch let error as SpecError {
            throw SpecErrors(loader.errors + [error])
        }
        let fileAssignments = loader.assignments.count
        loader.apply(overrides: overrides)
        var errors = loader.errors

        let shownFile = loader.files.last ?? displayPath(file)
        var section = SweepSection(location: .file(path: shownFile, line: 1, column: 1))
        if let sweep = loader.sweep {
            section = SweepSection.read(key: sweep.key, value: sweep.value, file: sweep.file, errors: &errors)
        }
        for assignment in loader.assignments[fileAssignments...] where section.variedKeys.contains(assignment.path) {
            errors.append(SpecError("\(assignment.path) is varied by the sweep; remove it from the grid or from the command line",
                                    at: assignment.location, key: assignment.path))
        }
        if !errors.isEmpty { throw SpecErrors(errors) }

        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let base = ExperimentSpec(values: try SpecResolver.resolve(loader.assignments, defaultName: stem),
                                  files: loader.files, overrides: overrides)
        if let problem = SpecValidation.runNameProblem(SweepNamePattern.directorySafe(base.name)) {
            // The sweep's directory is its name made directory-safe; only its length can still fail.
            throw SpecErrors([SpecError(problem.replacingOccurrences(of: "run name", with: "sweep name"),
                                        at: base.values.location("name"), key: "name")])
        }
        let baseDirectory = base.values.string("output.dir")!
        let directory = (baseDirectory.hasSuffix("/") ? baseDirectory : baseDirectory + "/")
            + SweepNamePattern.directorySafe(base.name)
        let pattern = section.pattern
            ?? SweepNamePattern.defaultPattern(variedKeys: section.variedKeys, at: section.location)

        var expansion = SweepExpansion(section: section, pattern: pattern, baseAssignments: loader.assignments,
                                       defaultName: stem, outputDirectory: directory,
                                       cacheDirectory: base.values.string("output.cache_dir")!, files: loader.files,
                                       overrides: overrides)
        expansion.run()
        if !expansion.errors.isEmpty { throw SpecErrors(expansion.errors) }
        return SweepSpec(name: base.name, files: loader.files, overrides: overrides, base: base,
                         variedKeys: section.variedKeys, namePattern: pattern.text, outputDirectory: directory,
                         points: expansion.points, excludedCount: expansion.excludedCount)
    }
}

/// One point of a sweep.
public struct SweepPoint: Sendable, Equatable {
    /// 1-based position in the full product, counted before exclusion, so a point keeps its
    /// index (and an `{index}` name) when exclude rules change.
    public let index: Int
    /// The expanded, directory-safe point name; also `spec.name`.
    public let name: String
    /// The varied keys' values, in `SweepSpec.variedKeys` order.
    public let assignments: [SweepAssignment]
    /// The point's resolved, validated spec. Its `overrides` are the command line's followed by
    /// the point's settings (`key=value`, `name=…`, `output.dir=…`), which reproduce it from its files.
    public let spec: ExperimentSpec

    /// `moe.num_experts=4, moe.top_k=2`, as messages and listings show a point.
    public var label: String { assignments.map(\.description).joined(separator: ", ") }
}

/// A varied key and the canonical text of the value a point gives it (`canonicalYAML`'s text).
public struct SweepAssignment: Sendable, Equatable, CustomStringConvertible {
    public let key: String
    public let value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    /// `key=value`, in the form of a command-line override.
    public var description: String { "\(key)=\(value)" }
}
