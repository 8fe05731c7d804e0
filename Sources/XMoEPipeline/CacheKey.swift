// A step's cache key: SHA-256 over a canonical encoding of what the step semantically depends on —
// its name, its format version, the resolved-spec slice it reads, and its upstream steps' keys.
// Nothing else (no mtimes, no environment): reruns must be explainable by a change the user made.

import XMoEBase

enum CacheKey {
    /// Bumped only if this encoding itself changes; every key in every run directory then changes.
    static let encodingTag = "xmoe-step-key/1"

    static func compute(
        stepName: String, formatVersion: String, inputs: [String: String], upstreamKeys: [String: String]
    ) -> String {
        var hasher = SHA256()
        var encoder = FieldEncoder()
        encoder.field(encodingTag)
        encoder.field(stepName)
        encoder.field(formatVersion)
        encoder.map(inputs)
        encoder.map(upstreamKeys)
        hasher.update(encoder.bytes)
        return hasher.finalize().hexString
    }

    /// Sorted by UTF-8 bytes rather than `String <`, so the order never depends on Unicode tables.
    static func canonicallySorted(_ keys: some Sequence<String>) -> [String] {
        keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}

/// Length-prefixed fields, so no choice of key or value text can make two different maps encode
/// to the same bytes (plain "k=v\n" joining could: a value containing "\nk2=v2").
private struct FieldEncoder {
    var bytes: [UInt8] = []

    mutating func field(_ text: String) {
        let utf8 = Array(text.utf8)
        bytes.append(contentsOf: Array("\(utf8.count):".utf8))
        bytes.append(contentsOf: utf8)
        bytes.append(0x0a)
    }

    mutating func map(_ entries: [String: String]) {
        field("\(entries.count)")
        for key in CacheKey.canonicallySorted(entries.keys) {
            field(key)
            field(entries[key]!)
        }
    }
}
