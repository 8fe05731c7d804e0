import Foundation
import XMoEBase
import XMoEModel
import XMoEParallel
import XMoEStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `checkpoints/step_NNNNNN/rank_NNNNN.h5` under a run directory: each rank writes what it owns
/// (see `CheckpointPieces` for the layout-independent naming) — without ZeRO-1 the first replica
/// of each group writes it whole, with ZeRO-1 every rank writes its shard — plus root attributes
/// `format`, `step`, `optimizer_step`, `consumed_samples`, `seed`, `spec_hash`, `rank`,
/// `world_size`; rank 0 adds the sigmoid_bias selection biases as `/expert_bias/layer_NN`.
/// The step directory is built under a temporary name; once every rank's file is complete
/// (barrier) rank 0 renames it into place and writes `latest` (atomically).
public struct CheckpointDirectory {
    public let root: URL
    public static let format = "xmoe-checkpoint-2"
    /// One rank, one dataset per parameter and expert (`/params/layers.01.moe.experts.003.w_in`).
    public static let legacyFormat = "xmoe-checkpoint-1"

    public init(root: URL) { self.root = root }

    public static func name(step: Int) -> String {
        let digits = String(step)
        return "step_" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    public static func rankFile(_ rank: Int) -> String {
        let digits = String(rank)
        return "rank_" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits + ".h5"
    }

    public var latestURL: URL { root.appendingPathComponent("latest") }

    /// The directory `latest` names, or nil when there is no complete checkpoint.
    public func latest() throws -> URL? {
        guard let text = try? String(contentsOf: latestURL, encoding: .utf8) else { return nil }
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let url = root.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent(Self.rankFile(0)).path) else {
            throw TrainError.checkpoint("\(latestURL.path) names \(name), which has no \(Self.rankFile(0)); "
                + "remove `latest` to start over or point it at a complete step_* directory")
        }
        return url
    }

    /// Complete checkpoints (renamed into place), oldest first.
    public func complete() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { $0.hasPrefix("step_") }.sorted().map { root.appendingPathComponent($0) }
    }

    /// Writes `step`'s checkpoint, collectively over `groups.world` (every rank calls it): each rank
    /// its file in a temporary directory, then rank 0 renames it into place, points `latest` at it
    /// and keeps the newest `keep` (≥ 1). `extraFiles` (rank 0's metrics.h5 snapshot) are copied in
    /// before the rename.
    public func save(model: MoETransformer, optimizer: Optimizer, state: TrainingState, specHash: String,
                     keep: Int, extraFiles: [URL] = [], world: (any Communicator)? = nil) throws {
        let rank = world?.rank ?? 0
        let name = Self.name(step: state.step)
        let temporary = root.appendingPathComponent(".\(name).tmp")
        if rank == 0 {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            removeTemporaries()
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        }
        try world?.barrier()
        try Store.writeAtomically(to: temporary.appendingPathComponent(Self.rankFile(rank)).path) { file in
            try Self.write(model: model, optimizer: optimizer, state: state, specHash: specHash,
                           rank: rank, worldSize: world?.size ?? 1, into: file)
        }
        // `latest` moves only once every rank's file is complete.
        try world?.barrier()
        if rank == 0 {
            for extra in extraFiles where FileManager.default.fileExists(atPath: extra.path) {
                try FileManager.default.copyItem(at: extra, to: temporary.appendingPathComponent(extra.lastPathComponent))
            }
            let final = root.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: final.path) { try FileManager.default.removeItem(at: final) }
            guard rename(temporary.path, final.path) == 0 else {
                throw TrainError.checkpoint("cannot rename \(temporary.path) to \(final.path): \(String(cString: strerror(errno)))")
            }
            let fd = open(root.path, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
            try AtomicWrite.write(name + "\n", to: latestURL)
            for old in complete().dropLast(max(keep, 1)) { try? FileManager.default.removeItem(at: old) }
        }
        try world?.barrier()
    }

    /// Leftovers of a save that was killed before its rename.
    public func removeTemporaries() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for n in names where n.hasPrefix(".step_") {
            try? FileManager.default.removeItem(at: root.appendingPathComponent(n))
        }
    }

    static func write(model: MoETransformer, optimizer: Optimizer, state: TrainingState, specHash: String,
                      rank: Int, worldSize: Int, into file: StoreFile) throws {
        let backend = model.backend
        for (gi, p) in optimizer.placements.enumerated() {
            // Without ZeRO the replicas are identical: the first one writes the group.
            let stored = p.sharded ? p.owned : (p.replicas.rank == 0 ? 0..<p.group.count : 0..<0)
            guard !stored.isEmpty else { continue }
            let values = backend.downloadFloats(p.group.value.view(offset: stored.lowerBound, shape: [stored.count]))
            let m = backend.downloadFloats(optimizer.m[gi]), v = backend.downloadFloats(optimizer.v[gi])
            let momentBase = stored.lowerBound - p.owned.lowerBound
            for (i, param) in p.group.parameters.enumerated() {
                let part = p.group.elements(of: i).clamped(to: stored)
                guard !part.isEmpty else { continue }
                let local = (part.lowerBound - p.group.offsets[i])..<(part.upperBound - p.group.offsets[i])
                let start = CheckpointPieces.globalStart(param)
                let shape = local == 0..<param.value.count ? param.value.shape : [local.count]
                let inStored = (part.lowerBound - stored.lowerBound)..<(part.upperBound - stored.lowerBound)
                let sources = [Array(values[inStored]),
                               Array(m[(momentBase + inStored.lowerBound)..<(momentBase + inStored.upperBound)]),
                               Array(v[(momentBase + inStored.lowerBound)..<(momentBase + inStored.upperBound)])]
                for (kind, data) in zip(CheckpointPieces.kinds, sources) {
                    let dataset = try writeTensor(file, "/\(kind)/\(CheckpointPieces.globalName(param))", data, shape: shape)
                    let a = dataset.attributes
                    try a.set("elements", .int64s([Int64(start + local.lowerBound), Int64(start + local.upperBound)]))
                    if param.experts != nil {
                        let per = CheckpointPieces.perExpert(param)
                        let ids = ((start + local.lowerBound) / per)...((start + local.upperBound - 1) / per)
                        try a.set("experts", .int64s(ids.map { Int64($0) }))
                    }
                }
            }
        }
        if rank == 0 {
            for layer in 0..<model.config.layers where layer >= model.config.firstDenseLayers {
                let bias = model.expertBias(layer: layer)
                if !bias.isEmpty { try writeTensor(file, biasPath(layer), bias, shape: [bias.count]) }
            }
        }
        let a = file.attributes
        try a.set("format", .string(format))
        try a.set("step", .int64(Int64(state.step)))
        try a.set("optimizer_step", .int64(Int64(optimizer.step)))
        try a.set("consumed_samples", .int64(Int64(state.consumedSamples)))
        try a.set("seed", .int64(Int64(bitPattern: model.options.seed)))
        try a.set("spec_hash", .string(specHash))
        try a.set("rank", .int64(Int64(rank)))
        try a.set("world_size", .int64(Int64(worldSize)))
        try CheckpointIntegrity.sealState(file)
    }

    /// Restores this rank's parameters, the moments of what it owns and the biases bit-exactly from
    /// a checkpoint written by ANY layout (or the one-rank format 1), and returns the saved state.
    /// Throws, naming it, when a parameter or expert is missing or stored twice, or has another size.
    /// With `globalBatch`, the counters are checked against it (see `CheckpointIntegrity.validateState`).
    public static func load(from directory: URL, model: MoETransformer, optimizer: Optimizer,
                            globalBatch: Int? = nil) throws -> TrainingState {
        let reader = try CheckpointReader(directory: directory, model: model)
        defer { reader.close() }
        for file in reader.files {
            try CheckpointIntegrity.validateState(file, directoryName: directory.lastPathComponent, globalBatch: globalBatch)
        }
        let backend = model.backend
        for (gi, p) in optimizer.placements.enumerated() {
            var values = backend.downloadFloats(p.group.value)
            var moments = [backend.downloadFloats(optimizer.m[gi]), backend.downloadFloats(optimizer.v[gi])]
            for (i, param) in p.group.parameters.enumerated() {
                let elements = p.group.elements(of: i)
                values.replaceSubrange(elements, with: try reader.assemble("params", param))
                let owned = elements.clamped(to: p.owned)
                guard !owned.isEmpty else { continue }
                for k in 0..<2 {
                    let whole = try reader.assemble(CheckpointPieces.kinds[k + 1], param)
                    moments[k].replaceSubrange((owned.lowerBound - p.owned.lowerBound)..<(owned.upperBound - p.owned.lowerBound),
                                               with: whole[(owned.lowerBound - elements.lowerBound)..<(owned.upperBound - elements.lowerBound)])
                }
            }
            backend.upload(values, to: p.group.value)
            backend.upload(moments[0], to: optimizer.m[gi])
            backend.upload(moments[1], to: optimizer.v[gi])
        }
        let first = reader.files[0]
        for layer in 0..<model.config.layers where layer >= model.config.firstDenseLayers {
            if try first.exists(biasPath(layer)) {
                model.setExpertBias(layer: layer, try readTensor(first, biasPath(layer)))
            }
        }
        let a = first.attributes
        optimizer.step = Int(try a.int64("optimizer_step"))
        return TrainingState(step: Int(try a.int64("step")), consumedSamples: Int(try a.int64("consumed_samples")))
    }

    static func biasPath(_ layer: Int) -> String {
        "/expert_bias" + MetricsWriter.moeGroup(layer).dropFirst("/moe".count)
    }

    /// Every tensor a checkpoint writes goes through here: with its checksum.
    @discardableResult
    static func writeTensor(_ file: StoreFile, _ path: String, _ values: [Float], shape: [Int]) throws -> StoreDataset {
        try CheckpointIntegrity.writeVerified(file, path, values, shape: shape)
    }

    /// Every tensor a checkpoint reads goes through here: checksum and finiteness verified. Files
    /// written before checksums existed carry no state seal; their tensors are accepted unverified.
    static func readTensor(_ file: StoreFile, _ path: String) throws -> [Float] {
        let sealed = try file.attributes.contains(CheckpointIntegrity.stateChecksumAttribute)
        return try CheckpointIntegrity.readVerified(file, path, requireChecksum: sealed)
    }
}
