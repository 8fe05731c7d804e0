/// Applies assignments over the schema's defaults, in schema order so derived defaults see the
/// final values of the keys they depend on.
enum SpecResolver {
    static func resolve(_ assignments: [SpecAssignment], defaultName: String) throws -> ResolvedValues {
        var explicit: [String: SpecAssignment] = [:]
        for assignment in assignments { explicit[assignment.path] = assignment }  // later wins

        var resolved = ResolvedValues()
        var errors: [SpecError] = []
        for key in SpecSchema.keys {
            if let given = explicit[key.path], let value = given.value {
                resolved.set(key.path, value, at: given.location)
                continue
            }
            let value: SpecValue?
            switch key.defaultValue {
            case let .value(v): value = v
            case .none: value = nil
            case let .derived(_, rule): value = key.path == "name" ? .string(defaultName) : rule(resolved)
            }
            if let value, let problem = key.type.violation(of: value) {
                errors.append(SpecError("the default (\(key.defaultText) = \(value.display)) is invalid: \(problem); set it explicitly",
                                        at: .defaultValue, key: key.path))
            }
            resolved.set(key.path, value, at: .defaultValue)
        }
        if !errors.isEmpty { throw SpecErrors(errors) }
        return resolved
    }
}
