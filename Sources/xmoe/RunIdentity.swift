import Foundation
import XMoEBase
import XMoEPipeline

/// `runs/<name>/identity.json`: what the run in a directory is — the train step's identity keys
/// (`TrainStep.role`) with their values and the keys of the upstream steps (the prepared data) — plus
/// every train input as of the last start, so a later change can be named. Written when training
/// really starts, beside `spec.resolved.yaml`.
struct RunIdentity: Codable, Equatable, Sendable {
    var identity: [String: String]
    var upstream: [String: String]
    var inputs: [String: String]

    init(inputs: [String: String], upstream: [String: String]) {
        self.inputs = inputs
        identity = inputs.filter { TrainStep.role(of: $0.key) == .identity }
        self.upstream = upstream
    }

    var hash: String {
        let lines = identity.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            + upstream.sorted { $0.key < $1.key }.map { "upstream \($0.key)=\($0.value)" }
        return SHA256.hex(lines.joined(separator: "\n"))
    }

    var shortHash: String { String(hash.prefix(12)) }

    static let fileName = "identity.json"

    static func read(in root: URL) -> RunIdentity? {
        guard let data = try? Data(contentsOf: root.appendingPathComponent(fileName)) else { return nil }
        return try? JSONDecoder().decode(RunIdentity.self, from: data)
    }

    func write(in root: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicWrite.write(String(decoding: try encoder.encode(self), as: UTF8.self) + "\n",
                              to: root.appendingPathComponent(Self.fileName))
    }

    /// A run trained before identity.json existed: its train record, when that record is the one its
    /// checkpoints were made from (`checkpoints/INPUTS_SHA256` is the hash of the record's inputs).
    /// Keys that version did not record take their current values.
    static func legacy(in root: URL, current: [String: String]) -> RunIdentity? {
        guard let stored = try? String(contentsOf: root.appendingPathComponent("checkpoints/INPUTS_SHA256"), encoding: .utf8),
              let record = try? RunDirectory(root: root).readRecord(step: "train") else { return nil }
        let hash = SHA256.hex(record.inputs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n"))
        guard hash == stored.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        var inputs = record.inputs
        for (key, value) in current where inputs[key] == nil { inputs[key] = value }
        return RunIdentity(inputs: inputs, upstream: record.upstreamKeys)
    }
}

/// The run a directory holds before this process changes anything: read when the DAG is built (under
/// the run lock in `xmoe run`), because the pipeline rewrites step records before the train step's body
/// runs.
struct ExistingRun: Sendable {
    let root: URL
    /// Nil when the directory holds no record of what it trained.
    let identity: RunIdentity?
    /// The step of the checkpoint `checkpoints/latest` names.
    let checkpointStep: Int?
    /// Checkpoints or metrics: something trained that must not be lost.
    let hasTrainedOutputs: Bool
    /// `steps/*.json` as they were, by file name, for the archive.
    let records: [String: Data]

    /// Entries of a run directory that stay when its run is archived: the live step records (the
    /// archive gets their earlier contents), the lock, the archive itself, caches and the sweep's log.
    static let kept: Set<String> = ["steps", ".lock", "archive", "cache", "sweep.log"]

    init(root: URL, currentInputs: [String: String]) {
        self.root = root
        identity = RunIdentity.read(in: root) ?? RunIdentity.legacy(in: root, current: currentInputs)
        checkpointStep = Self.latestStep(in: root.appendingPathComponent("checkpoints"))
        let manager = FileManager.default
        let checkpoints = (try? manager.contentsOfDirectory(atPath: root.appendingPathComponent("checkpoints").path)) ?? []
        hasTrainedOutputs = checkpoints.contains { $0.hasPrefix("step_") }
            || manager.fileExists(atPath: root.appendingPathComponent("metrics.h5").path)
        var records: [String: Data] = [:]
        let steps = root.appendingPathComponent("steps")
        for name in (try? manager.contentsOfDirectory(atPath: steps.path)) ?? [] where name.hasSuffix(".json") {
            records[name] = try? Data(contentsOf: steps.appendingPathComponent(name))
        }
        self.records = records
    }

    static func latestStep(in checkpoints: URL) -> Int? {
        guard let text = try? String(contentsOf: checkpoints.appendingPathComponent("latest"), encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "step_", with: ""))
    }

    var archiveRoot: URL { root.appendingPathComponent("archive", isDirectory: true) }

    /// An archived run with `identity`, which a run with that identity continues instead of starting over.
    func archived(_ identity: RunIdentity) -> URL? {
        let url = archiveRoot.appendingPathComponent(identity.shortHash)
        guard RunIdentity.read(in: url)?.hash == identity.hash else { return nil }
        return url
    }

    /// Where this run goes when a new one starts: `archive/<identity hash>` (with a suffix if taken).
    func archiveDestination() -> URL {
        let base = identity?.shortHash ?? "unrecorded"
        var url = archiveRoot.appendingPathComponent(base)
        var n = 2
        while FileManager.default.fileExists(atPath: url.path) {
            url = archiveRoot.appendingPathComponent("\(base)-\(n)")
            n += 1
        }
        return url
    }

    /// Moves this run's files (all but `kept`) to `destination`, with its step records as they were.
    func archive(to destination: URL) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: destination, withIntermediateDirectories: true)
        for name in try manager.contentsOfDirectory(atPath: root.path) where !Self.kept.contains(name) {
            try manager.moveItem(at: root.appendingPathComponent(name), to: destination.appendingPathComponent(name))
        }
        if !records.isEmpty {
            let steps = destination.appendingPathComponent("steps")
            try manager.createDirectory(at: steps, withIntermediateDirectories: true)
            for (name, data) in records { try data.write(to: steps.appendingPathComponent(name)) }
        }
    }

    /// Moves an archived run back into the run directory (its step records stay behind: the live ones
    /// are this run's) and removes what is left of the archive entry.
    func restore(from archived: URL) throws {
        let manager = FileManager.default
        for name in try manager.contentsOfDirectory(atPath: archived.path) where !Self.kept.contains(name) {
            let target = root.appendingPathComponent(name)
            if manager.fileExists(atPath: target.path) { try manager.removeItem(at: target) }
            try manager.moveItem(at: archived.appendingPathComponent(name), to: target)
        }
        try manager.removeItem(at: archived)
    }
}

/// What the train step does with the run it finds, decided before anything is written.
enum TrainVerdict: Sendable {
    /// Nothing trained here yet.
    case fresh
    /// The same run, killed before its first checkpoint: training starts from step 1.
    case restart
    /// The same run: it continues from its newest checkpoint.
    case continues(step: Int, changes: [String])
    /// Another model or data: the run found here is archived, and an archived run with the new
    /// identity, if there is one, is brought back and continued.
    case newRun(changes: [String], archive: URL, restore: URL?)

    init(existing: ExistingRun, current: RunIdentity) {
        let restore = existing.archived(current)
        guard existing.hasTrainedOutputs else {
            self = restore.map { .newRun(changes: [], archive: existing.archiveDestination(), restore: $0) } ?? .fresh
            return
        }
        if let previous = existing.identity, previous.hash == current.hash {
            let changes = Self.changes(from: previous.inputs, to: current.inputs)
            self = existing.checkpointStep.map { .continues(step: $0, changes: changes) } ?? .restart
            return
        }
        var changes = ["its settings were not recorded"]
        if let previous = existing.identity {
            changes = Self.changes(from: previous.identity, to: current.identity)
            for key in Set(previous.upstream.keys).union(current.upstream.keys).sorted()
            where previous.upstream[key] != current.upstream[key] {
                changes.append("the data (\(key)) changed")
            }
        }
        self = .newRun(changes: changes, archive: existing.archiveDestination(), restore: restore)
    }

    static func changes(from old: [String: String], to new: [String: String]) -> [String] {
        Set(old.keys).union(new.keys).sorted().compactMap { key in
            guard old[key] != new[key] else { return nil }
            return "\(key) \(old[key] ?? "unset") → \(new[key] ?? "unset")"
        }
    }

    /// The sentence `xmoe plan` and `xmoe run` print; nil for a fresh run ("never run" says it).
    func note(iters: Int) -> String? {
        switch self {
        case .fresh:
            return nil
        case .restart:
            return "starts from step 1 (the earlier attempt completed no checkpoint)"
        case .continues(let step, let changes):
            var text = "continues from step \(step)"
            if !changes.isEmpty { text += " (\(changes.joined(separator: ", ")))" }
            if step >= iters { text += "; already at train.iters = \(iters): nothing to train" }
            return text
        case .newRun(let changes, let archive, let restore):
            var parts: [String] = []
            if let restore {
                let step = ExistingRun.latestStep(in: restore.appendingPathComponent("checkpoints"))
                parts.append("continues the earlier run kept in \(displayPath(restore))" + (step.map { " from step \($0)" } ?? ""))
            } else {
                parts.append("starts a new run")
            }
            if !changes.isEmpty {
                parts.append("the \(restore == nil ? "old" : "current") one (\(changes.joined(separator: ", "))) will be kept as \(displayPath(archive))")
            }
            return parts.joined(separator: "; ")
        }
    }
}
