/// A failed collective or runtime call, naming the rank and the call so a log line from one rank of
/// many says where to look.
public struct CommError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// The caller passed arguments the collective cannot accept (caught before any communication).
        case invalidArgument
        /// The MPI library returned an error code.
        case mpiFailure(code: Int)
        /// The MPI runtime is in a state that forbids the call (e.g. already finalised).
        case runtime
    }

    public let kind: Kind
    public let call: String
    /// Rank in the communicator the call was made on; nil before a communicator exists.
    public let rank: Int?
    public let size: Int?
    public let reason: String

    public init(kind: Kind, call: String, rank: Int?, size: Int?, reason: String) {
        self.kind = kind
        self.call = call
        self.rank = rank
        self.size = size
        self.reason = reason
    }

    public var description: String {
        if let rank, let size {
            return "rank \(rank) of \(size): \(call): \(reason)"
        }
        return "\(call): \(reason)"
    }
}
