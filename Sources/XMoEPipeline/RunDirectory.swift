import Foundation

/// `runs/<name>/`: step records under `steps/`, step outputs at paths relative to the root.
public struct RunDirectory: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    public var stepsDirectory: URL { root.appendingPathComponent("steps", isDirectory: true) }

    public func recordURL(step: String) -> URL {
        stepsDirectory.appendingPathComponent("\(step).json")
    }

    public func readRecord(step: String) throws -> StepRecord? {
        let url = recordURL(step: step)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw PipelineError.corruptRecord(path: url.path, detail: "\(error)")
        }
        do {
            return try Self.decoder().decode(StepRecord.self, from: data)
        } catch {
            throw PipelineError.corruptRecord(path: url.path, detail: "\(error)")
        }
    }

    public func writeRecord(_ record: StepRecord) throws {
        let data = try Self.encoder().encode(record)
        try AtomicFile.write(data + Data([0x0a]), to: recordURL(step: record.step))
    }

    /// Resolves an output path, refusing anything that would escape the run directory.
    public func outputURL(_ relativePath: String, step: String) throws -> URL {
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: false)
        let escapes = components.contains { $0 == ".." || $0 == "." || $0.isEmpty }
        guard !relativePath.hasPrefix("/"), !escapes else {
            throw PipelineError.invalidOutputPath(step: step, path: relativePath)
        }
        return root.appendingPathComponent(relativePath)
    }

    /// Where an output lives while its step writes it; `StepContext.commit` renames it into place.
    public func temporaryOutputURL(_ relativePath: String, step: String) throws -> URL {
        let final = try outputURL(relativePath, step: step)
        return final.deletingLastPathComponent()
            .appendingPathComponent("\(final.lastPathComponent).partial")
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
