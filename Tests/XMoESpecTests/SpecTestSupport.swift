import Foundation
@testable import XMoESpec

/// Writes spec files into a fresh directory and loads them.
struct SpecDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("xmoe-spec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = url.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
    func load(_ name: String, _ overrides: [String] = []) throws -> ExperimentSpec {
        try ExperimentSpec.load(file: url.appendingPathComponent(name).path, overrides: overrides)
    }
    func errors(_ name: String, _ overrides: [String] = []) -> [SpecError] {
        do {
            _ = try load(name, overrides)
            return []
        } catch let e as SpecErrors {
            return e.errors
        } catch {
            return [SpecError("\(error)")]
        }
    }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// The repository's configs/ folder.
let configsDirectory: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        url.deleteLastPathComponent()
    }
    return url.appendingPathComponent("configs")
}()
