/// Object paths inside a file: absolute (`/a/b`) or relative to a group (`b/c`).
enum StorePath {
    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    /// Resolves `path` against the group `base`; a leading `/` makes it absolute.
    static func resolve(_ path: String, in base: String) -> String {
        let parts = path.hasPrefix("/") ? components(path) : components(base) + components(path)
        return "/" + parts.joined(separator: "/")
    }

    static func isValidName(_ path: String) -> Bool {
        let parts = components(path)
        return !parts.isEmpty && !parts.contains(".") && !parts.contains("..")
    }
}
