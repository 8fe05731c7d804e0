import XMoEModel
import XMoEParallel
import XMoEStore

/// The /comm/* series of metrics.h5: per step, what the token dispatchers and gradient sync moved
/// and how long they took. Bytes are summed over every rank of the job (payload sent to another
/// rank, by whether it stays on the node; an all-to-all's self block is not sent and not counted);
/// seconds are the slowest rank's (`StepCommunication.reduced`).
enum CommMetrics {
    struct Series: Sendable {
        let path: String
        let units: String
        let meaning: String
        let value: @Sendable (StepCommunication) -> Double
    }

    static let series: [Series] = {
        let phases: [(name: String, meaning: String, traffic: @Sendable (StepCommunication) -> CommTraffic)] = [
            ("dispatch", "token dispatch all-to-all to the experts' ranks, forward and its backward", { $0.dispatch }),
            ("combine", "token combine all-to-all back from the experts' ranks, forward and its backward", { $0.combine }),
            ("grad_sync", "gradient all-reduce / reduce-scatter and ZeRO-1 parameter all-gather", { $0.gradSync }),
        ]
        return phases.flatMap { phase in
            let traffic = phase.traffic
            return [
                Series(path: "/comm/\(phase.name)_intra_node_bytes", units: "bytes",
                       meaning: "\(phase.meaning): bytes sent to other ranks on the same node, summed over ranks") {
                    Double(traffic($0).intraNodeBytes)
                },
                Series(path: "/comm/\(phase.name)_inter_node_bytes", units: "bytes",
                       meaning: "\(phase.meaning): bytes sent to ranks on other nodes, summed over ranks") {
                    Double(traffic($0).interNodeBytes)
                },
                Series(path: "/comm/\(phase.name)_local_bytes", units: "bytes",
                       meaning: "\(phase.meaning): the collective's self block (rows a rank keeps for its own experts; not sent), summed over ranks") {
                    Double(traffic($0).localBytes)
                },
                Series(path: "/comm/\(phase.name)_seconds", units: "s", meaning: "\(phase.meaning): wall time of the slowest rank") {
                    traffic($0).seconds
                },
            ]
        }
    }()

    static func declare(in file: StoreFile) throws {
        for s in series {
            let created = try file.openOrCreateSeries(s.path, of: Double.self, rowWidth: nil)
            try created.attributes.set("units", .string(s.units))
            try created.attributes.set("description", .string(s.meaning))
        }
    }

    static func append(_ r: StepReport, to file: StoreFile) throws {
        for s in series { try file.series(s.path, of: Double.self).append(s.value(r.communication)) }
    }

    static func truncate(_ file: StoreFile, toCount rows: Int) throws {
        for s in series { try file.series(s.path, of: Double.self).truncate(toCount: rows) }
    }
}
