/// Resolved key → value map with the place each value came from. Unset optional keys are absent.
public struct ResolvedValues: Sendable, Equatable {
    public internal(set) var values: [String: SpecValue] = [:]
    public internal(set) var locations: [String: SpecLocation] = [:]

    public init() {}

    public func value(_ path: String) -> SpecValue? { values[path] }

    public func location(_ path: String) -> SpecLocation { locations[path] ?? .defaultValue }

    public func int(_ path: String) -> Int? {
        if case let .int(v)? = values[path] { return v }
        return nil
    }

    public func float(_ path: String) -> Double? {
        switch values[path] {
        case let .float(v)?: return v
        case let .int(v)?: return Double(v)
        default: return nil
        }
    }

    public func bool(_ path: String) -> Bool? {
        if case let .bool(v)? = values[path] { return v }
        return nil
    }

    public func string(_ path: String) -> String? {
        if case let .string(v)? = values[path] { return v }
        return nil
    }

    public func strings(_ path: String) -> [String]? {
        guard case let .list(items)? = values[path] else { return nil }
        return items.compactMap { if case let .string(s) = $0 { return s } else { return nil } }
    }

    public func floats(_ path: String) -> [Double]? {
        guard case let .list(items)? = values[path] else { return nil }
        return items.compactMap { if case let .float(v) = $0 { return v } else { return nil } }
    }

    mutating func set(_ path: String, _ value: SpecValue?, at location: SpecLocation) {
        values[path] = value
        locations[path] = location
    }
}
