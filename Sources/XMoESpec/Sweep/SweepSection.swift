import Yams

/// The `sweep:` section of a sweep file, read and typed with the keys' schema types. Reading
/// collects every mistake and leaves the faulty parts out, so one pass reports them all.
struct SweepSection {
    static let entries = ["name", "grid", "zip", "exclude"]
    /// Keys the sweep sets itself on every point, so they cannot be varied.
    static let reservedKeys = [
        "name": "each point's name comes from sweep.name",
        "output.dir": "the points' output.dir is the base spec's output.dir plus the sweep's name",
    ]

    var pattern: SweepNamePattern?
    var axes: [SweepAxis] = []
    var excludes: [SweepExcludeRule] = []
    /// Where the `sweep` key (or the sweep file, when it has none) is, for errors about the whole sweep.
    var location: SpecLocation
    var excludeLocation: SpecLocation?

    var variedKeys: [String] { axes.flatMap(\.keys) }

    init(location: SpecLocation) { self.location = location }

    static func read(key: Node, value: Node, file: String, errors: inout [SpecError]) -> SweepSection {
        var reader = SweepSectionReader(file: file, section: SweepSection(location: SpecYAML.location(of: key, file: file)))
        reader.read(value)
        errors += reader.errors
        return reader.section
    }
}

private struct SweepSectionReader {
    let file: String
    var section: SweepSection
    var errors: [SpecError] = []
    /// Where each varied key was first given, to reject varying one key twice.
    var varied: [String: SpecLocation] = [:]

    init(file: String, section: SweepSection) {
        self.file = file
        self.section = section
    }

    func location(_ node: Node) -> SpecLocation { SpecYAML.location(of: node, file: file) }

    mutating func fail(_ message: String, _ node: Node, key: String? = nil) {
        errors.append(SpecError(message, at: location(node), key: key))
    }

    mutating func read(_ node: Node) {
        if SpecYAML.isNull(node) { return }
        guard case let .mapping(mapping) = node else {
            fail("the sweep section must be a mapping of \(SweepSection.entries.joined(separator: ", ")), got \(SpecYAML.describe(node))",
                 node, key: "sweep")
            return
        }
        var entries: [String: (key: Node, value: Node)] = [:]
        for (keyNode, valueNode) in mapping {
            guard let name = keyNode.string, SweepSection.entries.contains(name) else {
                let name = keyNode.string ?? SpecYAML.describe(keyNode)
                let hint = closestMatch(to: name, among: SweepSection.entries).map { " (did you mean '\($0)'?)" }
                    ?? "; allowed: " + SweepSection.entries.joined(separator: ", ")
                fail("unknown entry in the sweep section" + hint, keyNode, key: "sweep.\(name)")
                continue
            }
            entries[name] = (keyNode, valueNode)
        }
        // Axes before exclusions (which name varied keys), whatever the file's order.
        if let name = entries["name"] { readPattern(name.value) }
        if let grid = entries["grid"] { readGrid(grid.value) }
        if let zip = entries["zip"] { readZip(zip.value) }
        if let exclude = entries["exclude"] {
            section.excludeLocation = location(exclude.key)
            readExclude(exclude.value)
        }
    }

    mutating func readPattern(_ node: Node) {
        guard case let .scalar(scalar) = node, !SpecYAML.isNull(node), !scalar.string.isEmpty else {
            fail("expected a non-empty point-name pattern like \"e{moe.num_experts}-k{moe.top_k}\", got \(SpecYAML.describe(node))",
                 node, key: "sweep.name")
            return
        }
        do {
            section.pattern = try SweepNamePattern(scalar.string, at: location(node))
        } catch let error as SpecError {
            errors.append(error)
        } catch {
            fail("\(error)", node, key: "sweep.name")
        }
    }

    mutating func readGrid(_ node: Node) {
        if SpecYAML.isNull(node) { return }
        guard case let .mapping(mapping) = node else {
            fail("sweep.grid must be a mapping of keys to lists of values, like `moe.top_k: [1, 2]`; got \(SpecYAML.describe(node))",
                 node, key: "sweep.grid")
            return
        }
        for (keyNode, valueNode) in mapping {
            guard let key = variedKey(keyNode), let values = readValues(valueNode, for: key) else { continue }
            section.axes.append(SweepAxis(keys: [key.path], positions: values.map { [$0] }))
        }
    }

    mutating func readZip(_ node: Node) {
        if SpecYAML.isNull(node) { return }
        guard case let .sequence(groups) = node else {
            fail("sweep.zip must be a list of groups, each a mapping of keys to equally long lists; got \(SpecYAML.describe(node))",
                 node, key: "sweep.zip")
            return
        }
        for group in groups {
            guard case let .mapping(mapping) = group, !mapping.isEmpty else {
                fail("a zip group must be a non-empty mapping of keys to equally long lists; got \(SpecYAML.describe(group))",
                     group, key: "sweep.zip")
                continue
            }
            var columns: [(key: String, values: [SweepValue])] = []
            var complete = true
            for (keyNode, valueNode) in mapping {
                guard let key = variedKey(keyNode), let values = readValues(valueNode, for: key) else {
                    complete = false
                    continue
                }
                columns.append((key.path, values))
            }
            let lengths = Set(columns.map(\.values.count))
            if lengths.count > 1 {
                let counts = columns.map { "\($0.key) has \($0.values.count)" }.joined(separator: ", ")
                fail("the lists of a zip group must be equally long: \(counts)", group, key: "sweep.zip")
                continue
            }
            guard complete, let count = lengths.first else { continue }
            let positions = (0..<count).map { index in columns.map { $0.values[index] } }
            section.axes.append(SweepAxis(keys: columns.map(\.key), positions: positions))
        }
    }

    /// A schema key that may be varied and is not varied yet; nil (with an error) otherwise.
    mutating func variedKey(_ node: Node) -> SpecKey? {
        guard let path = node.string else {
            fail("keys must be dotted key paths like moe.top_k, got \(SpecYAML.describe(node))", node, key: "sweep")
            return nil
        }
        guard let key = SpecSchema.byPath[path] else {
            fail("unknown key" + SpecLoader.suggestion(forPath: path), node, key: path)
            return nil
        }
        if let reason = SweepSection.reservedKeys[path] {
            fail("cannot be varied: \(reason)", node, key: path)
            return nil
        }
        if let first = varied[path] {
            fail("varied twice (first at \(first)); vary a key in the grid or in one zip group, once", node, key: path)
            return nil
        }
        varied[path] = location(node)
        return key
    }

    /// The typed values of one varied key: a YAML list, every item checked like a file value.
    mutating func readValues(_ node: Node, for key: SpecKey) -> [SweepValue]? {
        guard case let .sequence(items) = node else {
            fail("expected a list of values to sweep, like [\(example(key))], got \(SpecYAML.describe(node))", node, key: key.path)
            return nil
        }
        if items.isEmpty {
            fail("empty list of values: give at least one, like [\(example(key))]", node, key: key.path)
            return nil
        }
        var values: [SweepValue] = []
        var valid = true
        for item in items {
            guard let value = typed(item, key) else {
                valid = false
                continue
            }
            if let same = values.first(where: { $0.canonical == value.canonical }) {
                fail("the value \(value.canonical) is listed twice (first at \(same.location))", item, key: key.path)
                valid = false
                continue
            }
            values.append(value)
        }
        return valid ? values : nil
    }

    mutating func typed(_ node: Node, _ key: SpecKey) -> SweepValue? {
        do {
            return SweepValue(value: try SpecYAML.value(of: node, for: key, at: location(node)), location: location(node))
        } catch let error as SpecError {
            errors.append(error)
        } catch {
            fail("\(error)", node, key: key.path)
        }
        return nil
    }

    func example(_ key: SpecKey) -> String {
        switch key.type {
        case .int: return "1, 2"
        case .float: return "1.0e-3, 3.0e-3"
        case .bool: return "true, false"
        case let .choice(options): return options.prefix(2).joined(separator: ", ")
        case .string: return "a, b"
        case .stringList: return "[a], [a, b]"
        case .floatList: return "[1.0], [1.0, 2.0]"
        }
    }

    mutating func readExclude(_ node: Node) {
        if SpecYAML.isNull(node) { return }
        guard case let .sequence(rules) = node else {
            fail("sweep.exclude must be a list of rules like {moe.num_experts: 4, moe.top_k: 2}; got \(SpecYAML.describe(node))",
                 node, key: "sweep.exclude")
            return
        }
        for rule in rules {
            guard case let .mapping(mapping) = rule, !mapping.isEmpty else {
                fail("an exclude rule must be a non-empty mapping like {moe.num_experts: 4, moe.top_k: 2}; got \(SpecYAML.describe(rule))",
                     rule, key: "sweep.exclude")
                continue
            }
            var conditions: [(key: String, canonicals: [String])] = []
            var valid = true
            for (keyNode, valueNode) in mapping {
                guard let condition = readCondition(keyNode, valueNode) else {
                    valid = false
                    continue
                }
                conditions.append(condition)
            }
            if valid { section.excludes.append(SweepExcludeRule(location: location(rule), conditions: conditions)) }
        }
    }

    /// One `key: value` or `key: [values]` of an exclude rule; the values must be ones the sweep gives the key.
    mutating func readCondition(_ keyNode: Node, _ valueNode: Node) -> (key: String, canonicals: [String])? {
        let path = keyNode.string ?? SpecYAML.describe(keyNode)
        guard let axis = section.axes.first(where: { $0.keys.contains(path) }), let key = SpecSchema.byPath[path] else {
            var message = "exclude rule names \(path), which the sweep does not vary"
            if SpecSchema.byPath[path] == nil { message += "; it is not a spec key either" + SpecLoader.suggestion(forPath: path) }
            // A key varied twice or with bad values is not an axis; its own error says why.
            if varied[path] == nil { fail(message, keyNode, key: "sweep.exclude") }
            return nil
        }
        let items: [Node]
        switch (key.type, valueNode) {
        case let (.stringList, .sequence(seq)) where seq.allSatisfy({ if case .sequence = $0 { true } else { false } }),
             let (.floatList, .sequence(seq)) where seq.allSatisfy({ if case .sequence = $0 { true } else { false } }):
            items = Array(seq)
        case (.stringList, _), (.floatList, _):
            items = [valueNode]
        case let (_, .sequence(seq)):
            items = Array(seq)
        default:
            items = [valueNode]
        }
        if items.isEmpty {
            fail("empty list of values in an exclude rule", valueNode, key: path)
            return nil
        }
        let swept = axis.canonicalValues(of: path)
        var canonicals: [String] = []
        for item in items {
            guard let value = typed(item, key) else { return nil }
            guard swept.contains(value.canonical) else {
                fail("exclude rule gives \(path) = \(value.canonical), which is not among the sweep's values (\(swept.joined(separator: ", ")))",
                     item, key: path)
                return nil
            }
            canonicals.append(value.canonical)
        }
        return (path, canonicals)
    }
}
