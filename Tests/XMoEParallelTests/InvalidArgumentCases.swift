import XMoEParallel

/// Calls every communicator must reject on a world of one rank, each with the words its message must
/// carry. Shared so the one-process and the MPI singleton communicators are held to the same list.
struct InvalidArgumentCase: Sendable, CustomStringConvertible {
    let call: String
    let reasonFragment: String
    let invoke: @Sendable (any Communicator) throws -> Void
    var description: String { "\(call): \(reasonFragment)" }

    static let all: [InvalidArgumentCase] = [
        .init(call: "allToAllV", reasonFragment: "sendCounts has 2 entries but the communicator has 1 ranks") {
            _ = try $0.allToAllV(send: [Float(1), 2], sendCounts: [1, 1], recvCounts: [2])
        },
        .init(call: "allToAllV", reasonFragment: "recvCounts has 0 entries") {
            _ = try $0.allToAllV(send: [Float(1), 2], sendCounts: [2], recvCounts: [])
        },
        .init(call: "allToAllV", reasonFragment: "sendCounts sum to 2 but the buffer holds 3 elements") {
            _ = try $0.allToAllV(send: [Int32(1), 2, 3], sendCounts: [2], recvCounts: [2])
        },
        .init(call: "allToAllV", reasonFragment: "recvCounts[0] = -1 is negative") {
            _ = try $0.allToAllV(send: [UInt8](), sendCounts: [0], recvCounts: [-1])
        },
        .init(call: "allToAllV", reasonFragment: "sendCounts[0] = 2 but recvCounts[0] = 3") {
            _ = try $0.allToAllV(send: [Double(1), 2], sendCounts: [2], recvCounts: [3])
        },
        .init(call: "allToAllV", reasonFragment: "sendCounts sum to 1 but the buffer holds 2 elements") {
            _ = try $0.allToAllV(send: [Int64(1), 2], sendCounts: [1])
        },
        .init(call: "reduceScatter", reasonFragment: "recvCounts has 2 entries but the communicator has 1 ranks") {
            _ = try $0.reduceScatter([Float(1), 2], recvCounts: [1, 1], op: .sum)
        },
        .init(call: "reduceScatter", reasonFragment: "recvCounts sum to 1 but the buffer holds 2 elements") {
            _ = try $0.reduceScatter([Float(1), 2], recvCounts: [1], op: .sum)
        },
        .init(call: "reduceScatter", reasonFragment: "recvCounts[0] = -1 is negative") {
            _ = try $0.reduceScatter([Int64](), recvCounts: [-1], op: .max)
        },
        .init(call: "exchangeCounts", reasonFragment: "sendCounts has 3 entries") {
            _ = try $0.exchangeCounts([1, 2, 3])
        },
        .init(call: "broadcast", reasonFragment: "root 1 is not a rank of this communicator (0..<1)") {
            var buffer: [Float] = [1]
            try $0.broadcast(&buffer, root: 1)
        },
        .init(call: "broadcast", reasonFragment: "root -1 is not a rank") {
            var buffer: [Float] = [1]
            try $0.broadcast(&buffer, root: -1)
        },
        .init(call: "split", reasonFragment: "color -2 must be in 0...2147483647") {
            _ = try $0.split(color: -2, key: 0)
        },
        .init(call: "split", reasonFragment: "key 4294967296 does not fit in a 32-bit int") {
            _ = try $0.split(color: 0, key: 1 << 32)
        },
    ]
}
