import Foundation
import XMoEBase
import XMoEModel
import XMoEStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `checkpoints/step_NNNNNN/rank_00000.h5` under a run directory, layout-independent: parameters and
/// AdamW moments are stored per global name (experts by global id) as
/// `/params/<name>`, `/adam_m/<name>`, `/adam_v/<name>`; MoE selection biases (sigmoid_bias gating)
/// as `/expert_bias/layer_NN`; root attributes `step`, `optimizer_step`, `consumed_samples`, `seed`,
/// `spec_hash`, `format`. A checkpoint directory is built under a temporary name and renamed into
/// place; `latest` (written atomically after the rename) names the newest complete one.
public struct CheckpointDirectory {
    public let root: URL
    public static let format = "xmoe-checkpoint-1"

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

    /// Writes `step`'s checkpoint (temporary directory, then rename), points `latest` at it and keeps
    /// the newest `keep` (≥ 1). `extraFiles` are copied in before the rename (metrics.h5 snapshot).
    public func save(model: MoETransformer, optimizer: Optimizer, state: TrainingState, specHash: String,
                     keep: Int, extraFiles: [URL] = []) throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        removeTemporaries()
        let name = Self.name(step: state.step)
        let temporary = root.appendingPathComponent(".\(name).tmp-\(getpid())")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        try Store.writeAtomically(to: temporary.appendingPathComponent(Self.rankFile(0)).path) { file in
            try Self.write(model: model, optimizer: optimizer, state: state, specHash: specHash, into: file)
        }
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

    /// Leftovers of a save that was killed before its rename.
    public func removeTemporaries() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for n in names where n.hasPrefix(".step_") {
            try? FileManager.default.removeItem(at: root.appendingPathComponent(n))
        }
    }

    static func write(model: MoETransformer, optimizer: Optimizer, state: TrainingState, specHash: String,
                      into file: StoreFile) throws {
        let backend = model.backend
        let index = Dictionary(uniqueKeysWithValues: model.parameters.parameters.enumerated().map { (ObjectIdentifier($1), $0) })
        var cache: [ObjectIdentifier: ([Float], [Float], [Float])] = [:]
        for slice in model.parameters.namedSlices {
            let id = ObjectIdentifier(slice.parameter)
            let i = index[id]!
            if cache[id] == nil {
                cache[id] = (backend.downloadFloats(slice.parameter.value), backend.downloadFloats(optimizer.m[i]),
                             backend.downloadFloats(optimizer.v[i]))
            }
            let (value, m, v) = cache[id]!
            let shape = sliceShape(slice.parameter)
            try file.write("/params/\(slice.name)", Array(value[slice.elements]), shape: shape)
            try file.write("/adam_m/\(slice.name)", Array(m[slice.elements]), shape: shape)
            try file.write("/adam_v/\(slice.name)", Array(v[slice.elements]), shape: shape)
        }
        for layer in 0..<model.config.layers where layer >= model.config.firstDenseLayers {
            let bias = model.expertBias(layer: layer)
            if !bias.isEmpty { try file.write(biasPath(layer), bias, shape: [bias.count]) }
        }
        let a = file.attributes
        try a.set("format", .string(format))
        try a.set("step", .int64(Int64(state.step)))
        try a.set("optimizer_step", .int64(Int64(optimizer.step)))
        try a.set("consumed_samples", .int64(Int64(state.consumedSamples)))
        try a.set("seed", .int64(Int64(bitPattern: model.options.seed)))
        try a.set("spec_hash", .string(specHash))
        try stampProvenance(a)
    }

    /// Restores parameters, moments and biases bit-exactly and returns the saved state. Throws when
    /// the checkpoint lacks a parameter this model has or stores it with another size.
    public static func load(from directory: URL, model: MoETransformer, optimizer: Optimizer) throws -> TrainingState {
        let path = directory.appendingPathComponent(rankFile(0)).path
        let file = try StoreFile.open(at: path)
        defer { try? file.close() }
        let backend = model.backend
        for (i, p) in model.parameters.parameters.enumerated() {
            var value = backend.downloadFloats(p.value), m = backend.downloadFloats(optimizer.m[i]),
                v = backend.downloadFloats(optimizer.v[i])
            for slice in p.slices {
                for (group, target) in [("params", 0), ("adam_m", 1), ("adam_v", 2)] {
                    let key = "/\(group)/\(slice.name)"
                    guard try file.exists(key) else {
                        throw TrainError.checkpoint("\(path): no dataset \(key); the checkpoint was written for another model")
                    }
                    let stored = try file.read(key, as: Float.self).values
                    guard stored.count == slice.elements.count else {
                        throw TrainError.checkpoint("\(path): \(key) holds \(stored.count) values, the model's "
                            + "\(slice.name) has \(slice.elements.count); the checkpoint was written for another model")
                    }
                    switch target {
                    case 0: value.replaceSubrange(slice.elements, with: stored)
                    case 1: m.replaceSubrange(slice.elements, with: stored)
                    default: v.replaceSubrange(slice.elements, with: stored)
                    }
                }
            }
            backend.upload(value, to: p.value)
            backend.upload(m, to: optimizer.m[i])
            backend.upload(v, to: optimizer.v[i])
        }
        for layer in 0..<model.config.layers where layer >= model.config.firstDenseLayers {
            if try file.exists(biasPath(layer)) {
                model.setExpertBias(layer: layer, try file.read(biasPath(layer), as: Float.self).values)
            }
        }
        let a = file.attributes
        optimizer.step = Int(try a.int64("optimizer_step"))
        return TrainingState(step: Int(try a.int64("step")), consumedSamples: Int(try a.int64("consumed_samples")))
    }

    static func biasPath(_ layer: Int) -> String {
        "/expert_bias" + MetricsWriter.moeGroup(layer).dropFirst("/moe".count)
    }

    /// One global slice's shape: a stacked expert tensor without its leading expert dimension.
    static func sliceShape(_ p: Parameter) -> [Int] {
        p.experts == nil ? p.value.shape : Array(p.value.shape.dropFirst())
    }
}
