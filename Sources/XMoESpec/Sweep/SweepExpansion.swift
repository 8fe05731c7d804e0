/// Expands a read sweep section into points: product, exclusion, resolution and validation of
/// every point with the normal spec machinery, then the checks across points (name collisions,
/// nothing left). Errors of all points are collected, each naming its point.
struct SweepExpansion {
    let section: SweepSection
    let pattern: SweepNamePattern
    let baseAssignments: [SpecAssignment]
    let defaultName: String
    let outputDirectory: String
    /// The base's resolved `output.cache_dir`: points keep it (rather than deriving one from their own
    /// `output.dir`), so a sweep reuses the data prepared by plain runs of the base and vice versa.
    let cacheDirectory: String
    let files: [String]
    let overrides: [String]

    private(set) var points: [SweepPoint] = []
    private(set) var excludedCount = 0
    private(set) var errors: [SpecError] = []
    /// Every kept point's name with its index and label, valid or not, to find collisions.
    private var named: [(name: String, index: Int, label: String)] = []

    init(section: SweepSection, pattern: SweepNamePattern, baseAssignments: [SpecAssignment], defaultName: String,
         outputDirectory: String, cacheDirectory: String, files: [String], overrides: [String]) {
        self.section = section
        self.pattern = pattern
        self.baseAssignments = baseAssignments
        self.defaultName = defaultName
        self.outputDirectory = outputDirectory
        self.cacheDirectory = cacheDirectory
        self.files = files
        self.overrides = overrides
    }

    /// The most points one sweep expands into; a grid beyond it is a typo (or would never finish),
    /// and its product must not be built in memory (nor overflow while counting).
    static let maximumPoints = 100_000

    mutating func run() {
        var product = 1
        for axis in section.axes {
            let (next, overflow) = product.multipliedReportingOverflow(by: axis.positions.count)
            if overflow || next > Self.maximumPoints {
                let sizes = section.axes.map { "\($0.positions.count)" }.joined(separator: "·")
                errors.append(SpecError("the grid has \(sizes) points, more than the \(Self.maximumPoints) one sweep may hold; "
                                        + "split it into several sweeps or vary fewer values", at: section.location, key: "sweep.grid"))
                return
            }
            product = next
        }
        let combinations = sweepProduct(section.axes)
        for (offset, combination) in combinations.enumerated() {
            var values: [(key: String, value: SweepValue)] = []
            for (axis, position) in zip(section.axes, combination) {
                values += zip(axis.keys, axis.positions[position]).map { ($0, $1) }
            }
            let canonical = Dictionary(uniqueKeysWithValues: values.map { ($0.key, $0.value.canonical) })
            if section.excludes.contains(where: { $0.matches(canonical) }) {
                excludedCount += 1
                continue
            }
            expand(index: offset + 1, values: values)
        }
        if !combinations.isEmpty && excludedCount == combinations.count {
            errors.append(SpecError("every one of the \(combinations.count) points is excluded; nothing is left to run",
                                    at: section.excludeLocation ?? section.location, key: "sweep.exclude"))
        }
        reportCollisions()
    }

    private mutating func expand(index: Int, values: [(key: String, value: SweepValue)]) {
        let assignments = values.map { SweepAssignment(key: $0.key, value: $0.value.canonical) }
        let label = assignments.map(\.description).joined(separator: ", ")
        let directory = SpecValue.string(outputDirectory)
        let cache = SpecValue.string(cacheDirectory)
        let settings = baseAssignments
            + [SpecAssignment(path: "output.cache_dir", value: cache, location: section.location)]
            + values.map { SpecAssignment(path: $0.key, value: $0.value.value, location: $0.value.location) }
            + [SpecAssignment(path: "output.dir", value: directory, location: section.location)]
        var resolved: ResolvedValues
        do {
            resolved = try SpecResolver.resolve(settings, defaultName: defaultName)
        } catch let failure as SpecErrors {
            errors += failure.errors.map { within($0, context: "point \(index) (\(label))") }
            return
        } catch {
            errors.append(SpecError("\(error)", context: "point \(index) (\(label))"))
            return
        }
        let name = SweepNamePattern.directorySafe(pattern.expand(values: resolved, index: index))
        let context = "point \(name) (\(label))"
        guard !name.isEmpty else {
            errors.append(SpecError("the point-name pattern \"\(pattern.text)\" expands to an empty name",
                                    at: pattern.location, key: "sweep.name", context: "point \(index) (\(label))"))
            return
        }
        named.append((name, index, label))
        resolved.set("name", .string(name), at: pattern.location)
        let problems = SpecValidation.check(resolved)
        if !problems.isEmpty {
            errors += problems.map { within($0, context: context) }
            return
        }
        let pointOverrides = overrides + ["output.cache_dir=" + cache.canonical] + assignments.map(\.description)
            + ["name=" + SpecValue.string(name).canonical, "output.dir=" + directory.canonical]
        points.append(SweepPoint(index: index, name: name, assignments: assignments,
                                 spec: ExperimentSpec(values: resolved, files: files, overrides: pointOverrides)))
    }

    private func within(_ error: SpecError, context: String) -> SpecError {
        var error = error
        error.context = context
        return error
    }

    private mutating func reportCollisions() {
        var reported: Set<String> = []
        for entry in named where !reported.contains(entry.name) {
            let same = named.filter { $0.name == entry.name }
            guard same.count > 1 else { continue }
            reported.insert(entry.name)
            let which = same.map { "\($0.index) (\($0.label))" }.joined(separator: " and ")
            errors.append(SpecError("points \(which) all get the name '\(entry.name)' from the pattern \"\(pattern.text)\"; "
                                    + "add the keys that tell them apart to sweep.name, or {index}",
                                    at: pattern.location, key: "sweep.name"))
        }
    }
}
