/// One value a sweep gives a key, typed by the key's schema type; nil is YAML null (the default).
struct SweepValue {
    let value: SpecValue?
    let location: SpecLocation

    /// What exclusion compares and `{key}` placeholders show, the same text as `canonicalYAML`.
    var canonical: String { value?.canonical ?? "null" }
}

/// One axis of the sweep's Cartesian product: a grid key (one key) or a zip group (keys that
/// vary together). `positions[i]` holds the i-th value of every key, in `keys` order.
struct SweepAxis {
    let keys: [String]
    let positions: [[SweepValue]]

    /// The distinct canonical values the axis gives `key`, in file order (for messages).
    func canonicalValues(of key: String) -> [String] {
        guard let column = keys.firstIndex(of: key) else { return [] }
        var seen: [String] = []
        for position in positions where !seen.contains(position[column].canonical) {
            seen.append(position[column].canonical)
        }
        return seen
    }
}

/// An `exclude` entry: drops a point whose value of every named key is one of the listed values.
struct SweepExcludeRule {
    let location: SpecLocation
    /// Key → canonical values that match, in file order.
    let conditions: [(key: String, canonicals: [String])]

    func matches(_ point: [String: String]) -> Bool {
        conditions.allSatisfy { condition in point[condition.key].map(condition.canonicals.contains) ?? false }
    }
}

/// The Cartesian product of the axes, first axis varying slowest; each combination is the
/// position chosen on every axis.
func sweepProduct(_ axes: [SweepAxis]) -> [[Int]] {
    var combinations: [[Int]] = [[]]
    for axis in axes {
        combinations = combinations.flatMap { prefix in axis.positions.indices.map { prefix + [$0] } }
    }
    return combinations
}
