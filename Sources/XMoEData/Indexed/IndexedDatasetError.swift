/// A problem with a Megatron `.idx`/`.bin` pair that the user can fix (wrong path, truncated
/// copy, file from another tool); the message names the file and what is wrong.
public struct IndexedDatasetError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
