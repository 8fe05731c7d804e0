import XMoEParallel

/// Collects one rank's verdicts. Expected values always come from the formula that generated the
/// data, computed here for every rank, never from another communicator call.
struct CheckRecorder {
    private(set) var passed = 0
    private(set) var failures: [String] = []

    mutating func expect(_ name: String, _ ok: Bool, _ detail: @autoclosure () -> String = "") {
        if ok {
            passed += 1
        } else {
            let more = detail()
            failures.append(more.isEmpty ? name : "\(name) (\(more))")
        }
    }

    mutating func expectEqual<T: Equatable>(_ name: String, _ actual: T, _ expected: T) {
        expect(name, actual == expected, "got \(Self.short(actual)), expected \(Self.short(expected))")
    }

    var total: Int { passed + failures.count }

    /// Arrays can be long under --scale; keep failure lines readable.
    private static func short<T>(_ value: T) -> String {
        let text = "\(value)"
        return text.count <= 120 ? text : String(text.prefix(117)) + "..."
    }
}
