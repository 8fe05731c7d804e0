/// One key of the spec: its dotted path, type, default and meaning.
/// `SpecSchema.keys` lists them all; decoding, overrides, validation, `xmoe config` and the
/// README reference are all driven by that one table.
public struct SpecKey: Sendable {
    public enum Default: Sendable {
        /// A fixed value.
        case value(SpecValue)
        /// Unset unless given (`null` in the resolved spec).
        case none
        /// Computed from other, already resolved keys (earlier in the table), e.g.
        /// `parallel.world_size` = dp·tp. `doc` says the rule.
        case derived(String, @Sendable (ResolvedValues) -> SpecValue?)
    }

    public let path: String
    public let type: SpecType
    public let defaultValue: Default
    public let doc: String

    public init(_ path: String, _ type: SpecType, _ defaultValue: Default, _ doc: String) {
        self.path = path
        self.type = type
        self.defaultValue = defaultValue
        self.doc = doc
    }

    public var section: String {
        path.split(separator: ".").count > 1 ? String(path.split(separator: ".")[0]) : ""
    }

    /// The default as README text.
    public var defaultText: String {
        switch defaultValue {
        case let .value(v): return v.canonical
        case .none: return "unset"
        case let .derived(rule, _): return rule
        }
    }
}

extension SpecKey.Default {
    static func int(_ v: Int) -> Self { .value(.int(v)) }
    static func float(_ v: Double) -> Self { .value(.float(v)) }
    static func bool(_ v: Bool) -> Self { .value(.bool(v)) }
    static func string(_ v: String) -> Self { .value(.string(v)) }
}
