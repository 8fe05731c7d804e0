import Foundation
import XMoEBase
import XMoEStore

/// Integrity of checkpoint files: every tensor carries the SHA-256 of its raw fp32 bytes as the
/// dataset attribute `sha256`, verified on load together with finiteness, and the root attributes
/// (step, optimizer step, consumed samples) are checked against each other and the directory name.
/// A failure is a `CheckpointDamage` naming the file and the tensor or attribute, so a resume can
/// fall back to an older checkpoint (`CheckpointDirectory.loadNewestGood`) and say why.
public enum CheckpointIntegrity {
    public static let checksumAttribute = "sha256"
    /// Root attribute: SHA-256 of the state attributes, so a changed counter cannot pass unnoticed.
    public static let stateChecksumAttribute = "state_sha256"

    /// Writes `values` at `path` with their checksum. Non-finite values are written as they are: a
    /// checkpoint records the state, and the load names the tensor that holds them.
    @discardableResult
    public static func writeVerified(_ file: StoreFile, _ path: String, _ values: [Float], shape: [Int]) throws -> StoreDataset {
        let dataset = try file.write(path, values, shape: shape)
        try dataset.attributes.set(checksumAttribute, .string(ContentDigest.sha256(of: values)))
        return dataset
    }

    /// Reads `path` and verifies its checksum and that every value is finite. Tensors of checkpoints
    /// written before checksums existed (no attribute) are accepted when `requireChecksum` is false.
    public static func readVerified(_ file: StoreFile, _ path: String, requireChecksum: Bool = true) throws -> [Float] {
        let values = try file.read(path, as: Float.self).values
        let attributes = try file.dataset(path).attributes
        var problems: [String] = []
        if try attributes.contains(checksumAttribute) {
            let stored = try attributes.string(checksumAttribute)
            let actual = ContentDigest.sha256(of: values)
            if stored != actual {
                problems.append("checksum mismatch (stored sha256 \(stored.prefix(16))…, the data hashes to \(actual.prefix(16))…)")
            }
        } else if requireChecksum {
            problems.append("no '\(checksumAttribute)' attribute (every tensor of this checkpoint format has one)")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let count = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            problems.append("\(count) non-finite value\(count == 1 ? "" : "s") (first: \(values[bad]) at element \(bad)); "
                + "the file holds them, the learning rate did not produce them")
        }
        guard problems.isEmpty else {
            throw CheckpointDamage(file: file.path, item: path, problem: problems.joined(separator: "; "))
        }
        return values
    }

    /// The text whose SHA-256 `state_sha256` holds.
    static func stateText(step: Int64, optimizerStep: Int64, consumedSamples: Int64, seed: Int64, specHash: String) -> String {
        "step=\(step) optimizer_step=\(optimizerStep) consumed_samples=\(consumedSamples) seed=\(seed) spec_hash=\(specHash)"
    }

    /// Seals the root state attributes (call after writing them).
    public static func sealState(_ file: StoreFile) throws {
        let a = file.attributes
        let text = stateText(step: try a.int64("step"), optimizerStep: try a.int64("optimizer_step"),
                             consumedSamples: try a.int64("consumed_samples"), seed: try a.int64("seed"),
                             specHash: try a.string("spec_hash"))
        try a.set(stateChecksumAttribute, .string(SHA256.hex(text)))
    }

    /// Checks the root attributes of a checkpoint file against each other, the seal and the name
    /// of its directory `step_NNNNNN`. `globalBatch`: samples per step of the run loading it; every
    /// step, skipped ones included, consumes one global batch, so consumed = step × global batch.
    public static func validateState(_ file: StoreFile, directoryName: String, globalBatch: Int?) throws {
        func damage(_ what: String, _ problem: String) -> CheckpointDamage {
            CheckpointDamage(file: file.path, item: what, problem: problem)
        }
        let a = file.attributes
        for name in ["step", "optimizer_step", "consumed_samples"] where !(try a.contains(name)) {
            throw damage("attribute \(name)", "missing")
        }
        let step = try a.int64("step"), optimizerStep = try a.int64("optimizer_step")
        let consumed = try a.int64("consumed_samples")
        guard step >= 0, optimizerStep >= 0, consumed >= 0 else {
            throw damage("attributes", "negative counter (step \(step), optimizer_step \(optimizerStep), consumed_samples \(consumed))")
        }
        guard directoryName == CheckpointDirectory.name(step: Int(step)) else {
            throw damage("attribute step", "step \(step) does not match the directory name \(directoryName)")
        }
        guard optimizerStep <= step else {
            throw damage("attribute optimizer_step", "optimizer_step \(optimizerStep) exceeds step \(step) (skipped steps only lower it)")
        }
        if let globalBatch {
            let (expected, overflow) = step.multipliedReportingOverflow(by: Int64(globalBatch))
            guard !overflow, consumed == expected else {
                throw damage("attribute consumed_samples", "consumed_samples \(consumed) is not step \(step) × global batch "
                    + "\(globalBatch) = \(overflow ? "overflow" : String(expected)); the checkpoint is damaged or was "
                    + "written with another train.global_batch")
            }
        }
        if try a.contains(stateChecksumAttribute) {
            let text = stateText(step: step, optimizerStep: optimizerStep, consumedSamples: consumed,
                                 seed: try a.int64("seed"), specHash: try a.string("spec_hash"))
            guard try a.string(stateChecksumAttribute) == SHA256.hex(text) else {
                throw damage("root attributes", "they do not match their checksum \(stateChecksumAttribute) (\(text))")
            }
        }
    }
}

/// A checkpoint file that cannot be trusted: names the file, the tensor or attribute, and why.
public struct CheckpointDamage: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let item: String
    public let problem: String

    public var description: String { "\(file): \(item): \(problem)" }
}

extension CheckpointDirectory {
    /// Loads the newest checkpoint that passes every integrity check: the one `latest` names, then
    /// older complete ones, newest first. Each one passed over is reported through `notice` with the
    /// reason (file and tensor), and the one used is named. Returns nil when there is no checkpoint;
    /// throws `TrainError.checkpoint` listing every failure when none is good.
    public func loadNewestGood(notice: (String) -> Void,
                               load: (URL) throws -> TrainingState) throws -> (directory: URL, state: TrainingState)? {
        var candidates: [URL] = []
        var failures: [String] = []
        do {
            if let latest = try latest() { candidates.append(latest) }
        } catch {
            failures.append("\(error)")
            notice("\(error); looking for an older complete checkpoint")
        }
        let latestName = candidates.first?.lastPathComponent
        for older in complete().reversed() where latestName.map({ older.lastPathComponent < $0 }) ?? true {
            candidates.append(older)
        }
        if candidates.isEmpty && failures.isEmpty { return nil }
        for directory in candidates {
            do {
                let state = try load(directory)
                if !failures.isEmpty {
                    notice("resuming from \(directory.lastPathComponent), the newest checkpoint that passes its checks")
                }
                return (directory, state)
            } catch let error as CheckpointDamage {
                failures.append("\(directory.lastPathComponent) is damaged: \(error)")
                notice("checkpoint \(directory.lastPathComponent) is damaged, falling back to an older one: \(error)")
            } catch {
                failures.append("\(directory.lastPathComponent) cannot be loaded: \(error)")
                notice("checkpoint \(directory.lastPathComponent) cannot be loaded, falling back to an older one: \(error)")
            }
        }
        throw TrainError.checkpoint("no checkpoint under \(root.path) can be loaded:\n  "
            + failures.joined(separator: "\n  ")
            + "\nRestore a good copy, or move the checkpoints directory away to train this run from the start.")
    }
}
