import Foundation

/// One step record as a JSON file, wherever it lives: a run's `steps/<step>.json` or a shared cache
/// entry's `record.json`.
enum RecordFile {
    static func read(_ url: URL) throws -> StepRecord? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw PipelineError.corruptRecord(path: url.path, detail: "\(error)")
        }
        do {
            return try decoder().decode(StepRecord.self, from: data)
        } catch {
            throw PipelineError.corruptRecord(path: url.path, detail: "\(error)")
        }
    }

    static func write(_ record: StepRecord, to url: URL) throws {
        let data = try encoder().encode(record)
        try AtomicFile.write(data + Data([0x0a]), to: url)
    }

    private static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    private static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// Step output paths are relative to a root (the run directory, or a shared cache entry) and may not
/// escape it.
enum OutputPath {
    static func resolve(_ relativePath: String, under root: URL, step: String) throws -> URL {
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: false)
        let escapes = components.contains { $0 == ".." || $0 == "." || $0.isEmpty }
        guard !relativePath.hasPrefix("/"), !escapes else {
            throw PipelineError.invalidOutputPath(step: step, path: relativePath)
        }
        return root.appendingPathComponent(relativePath)
    }

    /// Where an output lives while its step writes it; `StepContext.commit` renames it into place.
    static func temporary(_ relativePath: String, under root: URL, step: String) throws -> URL {
        let final = try resolve(relativePath, under: root, step: step)
        return final.deletingLastPathComponent().appendingPathComponent("\(final.lastPathComponent).partial")
    }

    /// "output NAME (PATH) is missing" for each recorded file that is not on disk under `root`.
    static func missing(_ outputs: StepOutputs, under root: URL, step: String) -> [String] {
        CacheKey.canonicallySorted(outputs.files.keys).compactMap { name in
            let path = outputs.files[name]!
            guard let url = try? resolve(path, under: root, step: step) else {
                return "output \(name) has an invalid recorded path \(path)"
            }
            return FileManager.default.fileExists(atPath: url.path) ? nil : "output \(name) (\(path)) is missing"
        }
    }
}
