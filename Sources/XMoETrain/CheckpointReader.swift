import Foundation
import XMoEModel
import XMoEStore

/// The rank files of one checkpoint directory and an index of the pieces they hold, so any layout
/// can assemble its parameters from any other layout's files.
final class CheckpointReader {
    let directory: URL
    let files: [StoreFile]
    let names: [String]
    /// kind → global name → pieces.
    private var index: [String: [String: [StoredPiece]]] = [:]

    init(directory: URL, model: MoETransformer) throws {
        self.directory = directory
        let firstName = CheckpointDirectory.rankFile(0)
        let first = try StoreFile.open(at: directory.appendingPathComponent(firstName).path)
        var files = [first], names = [firstName]
        do {
            let format = try first.attributes.string("format")
            switch format {
            case CheckpointDirectory.format:
                let world = Int(try first.attributes.int64("world_size"))
                for rank in 1..<max(world, 1) {
                    let name = CheckpointDirectory.rankFile(rank)
                    let path = directory.appendingPathComponent(name).path
                    guard FileManager.default.fileExists(atPath: path) else {
                        throw TrainError.checkpoint("\(directory.path): \(name) is missing (the checkpoint was written by "
                            + "\(world) ranks); the checkpoint is incomplete — point `latest` at an older step_* directory")
                    }
                    files.append(try StoreFile.open(at: path))
                    names.append(name)
                }
                self.files = files
                self.names = names
                try indexPieces()
            case CheckpointDirectory.legacyFormat:
                self.files = files
                self.names = names
                try indexLegacyPieces(model: model)
            default:
                throw TrainError.checkpoint("\(directory.path)/\(firstName): format \"\(format)\" is not one this "
                    + "version reads (\(CheckpointDirectory.format), \(CheckpointDirectory.legacyFormat))")
            }
        } catch {
            for f in files { try? f.close() }
            throw error
        }
    }

    func close() {
        for f in files { try? f.close() }
    }

    private func indexPieces() throws {
        for (fi, file) in files.enumerated() {
            for kind in CheckpointPieces.kinds where try file.exists("/\(kind)") {
                for name in try file.root.group(kind).children() {
                    let path = "/\(kind)/\(name)"
                    let range = try file.dataset(path).attributes.int64s("elements")
                    guard range.count == 2, range[0] <= range[1] else {
                        throw TrainError.checkpoint("\(directory.path)/\(names[fi]): \(path) has a malformed `elements` attribute \(range)")
                    }
                    index[kind, default: [:]][name, default: []].append(
                        StoredPiece(file: fi, path: path, elements: Int(range[0])..<Int(range[1])))
                }
            }
        }
    }

    /// Format 1 stored each expert slice under its own name: map those to global element ranges.
    private func indexLegacyPieces(model: MoETransformer) throws {
        let file = files[0]
        for param in model.parameters.parameters {
            let name = CheckpointPieces.globalName(param), per = CheckpointPieces.perExpert(param)
            let ids = param.experts.map { _ in Array(0..<model.config.numExperts) } ?? [0]
            for id in ids {
                let sliceName = param.experts == nil ? param.name : Parameter.expertName(param.name, expert: id)
                for kind in CheckpointPieces.kinds where try file.exists("/\(kind)/\(sliceName)") {
                    let start = param.experts == nil ? 0 : id * per
                    index[kind, default: [:]][name, default: []].append(
                        StoredPiece(file: 0, path: "/\(kind)/\(sliceName)", elements: start..<(start + per)))
                }
            }
        }
    }

    /// `param`'s local tensor of `kind` (params, adam_m, adam_v), from every piece that covers part
    /// of it; each element must be stored exactly once.
    func assemble(_ kind: String, _ param: Parameter) throws -> [Float] {
        let name = CheckpointPieces.globalName(param)
        let start = CheckpointPieces.globalStart(param)
        let target = start..<(start + param.value.count)
        guard let all = index[kind]?[name] else {
            throw TrainError.checkpoint("\(directory.path): no dataset /\(kind)/\(name) in \(names.first!)"
                + (names.count > 1 ? " … \(names.last!)" : "") + "; the checkpoint was written for another model")
        }
        let pieces = all.filter { $0.elements.overlaps(target) }.sorted { $0.elements.lowerBound < $1.elements.lowerBound }
        var out = [Float](repeating: 0, count: target.count)
        var next = target.lowerBound
        var previous: StoredPiece?
        for piece in pieces {
            if piece.elements.lowerBound > next {
                throw missing(kind, CheckpointPieces.describe(next, of: param))
            }
            if piece.elements.lowerBound < next, let previous {
                throw TrainError.checkpoint("\(directory.path): \(CheckpointPieces.describe(piece.elements.lowerBound, of: param)) "
                    + "(/\(kind)) is stored twice, in \(names[previous.file]) and \(names[piece.file]); "
                    + "the rank files come from different checkpoints or layouts — remove the step directory")
            }
            let data = try CheckpointDirectory.readTensor(files[piece.file], piece.path)
            guard data.count == piece.elements.count else {
                throw TrainError.checkpoint("\(directory.path)/\(names[piece.file]): \(piece.path) holds \(data.count) values "
                    + "but claims elements \(piece.elements) (\(piece.elements.count)); the checkpoint was written for another model")
            }
            let overlap = piece.elements.clamped(to: target)
            for g in overlap { out[g - target.lowerBound] = data[g - piece.elements.lowerBound] }
            next = max(next, piece.elements.upperBound)
            previous = piece
        }
        if next < target.upperBound { throw missing(kind, CheckpointPieces.describe(next, of: param)) }
        return out
    }

    private func missing(_ kind: String, _ what: String) -> TrainError {
        TrainError.checkpoint("\(directory.path): \(what) (/\(kind)) is missing: none of \(names.joined(separator: ", ")) "
            + "holds it; the checkpoint is incomplete or was written for another model")
    }
}
