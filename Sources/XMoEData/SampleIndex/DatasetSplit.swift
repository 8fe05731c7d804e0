import Foundation

/// Train/valid/test split of a dataset's sequences into contiguous index ranges (notes §3.2).
public enum DatasetSplit: Int, Sendable, CaseIterable {
    case train = 0, valid = 1, test = 2

    public var name: String { ["train", "valid", "test"][rawValue] }
}

public struct SplitError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Which Megatron stack's rounding to reproduce; they differ on small or odd sizes.
public enum SplitRule: Sendable {
    /// megatron-core: normalized weights → cumulative bookends → `round(bookend * S)` per boundary;
    /// a zero-weight split is absent.
    case megatronCore
    /// Megatron-DeepSpeed / X-MoE: round each weight × S, accumulate, shift so the last ends at S.
    case legacyDeepSpeed
}

public enum SplitRanges {
    /// Sequence ranges for train/valid/test from a split string such as "98,2,0" or "969, 30, 1".
    /// nil marks an absent split.
    public static func ranges(split: String, sequenceCount: Int, rule: SplitRule = .megatronCore) throws -> [Range<Int>?] {
        switch rule {
        case .megatronCore: try megatronCore(split: split, sequenceCount: sequenceCount)
        case .legacyDeepSpeed: try legacy(split: split, sequenceCount: sequenceCount)
        }
    }

    private static func megatronCore(split: String, sequenceCount: Int) throws -> [Range<Int>?] {
        // re.findall(r"[.0-9]+", split)
        var weights: [Double] = []
        var current = ""
        for character in split + " " {
            if character == "." || character.isASCII && character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                guard let value = Double(current) else { throw SplitError(description: "split '\(split)': '\(current)' is not a number") }
                weights.append(value)
                current = ""
            }
        }
        guard !weights.isEmpty, weights.count <= 3 else {
            throw SplitError(description: "split '\(split)' must list 1 to 3 weights, e.g. '98,2,0'")
        }
        while weights.count < 3 { weights.append(0) }
        let total = weights[0] + weights[1] + weights[2]
        guard total > 0 else { throw SplitError(description: "split '\(split)' has weights summing to 0") }
        let normalized = weights.map { $0 / total }
        var bookends = [0.0]
        for w in normalized { bookends.append(bookends.last! + w) }
        let s = Double(sequenceCount)
        return (0..<3).map { k in
            guard bookends[k + 1] > bookends[k] else { return nil }
            let begin = Int((bookends[k] * s).rounded(.toNearestOrEven))
            let end = Int((bookends[k + 1] * s).rounded(.toNearestOrEven))
            return begin..<end
        }
    }

    private static func legacy(split: String, sequenceCount: Int) throws -> [Range<Int>?] {
        let separator: Character = split.contains(",") ? "," : split.contains("/") ? "/" : " "
        var weights = try split.split(separator: separator).map { piece -> Double in
            guard let value = Double(piece.trimmingCharacters(in: .whitespaces)) else {
                throw SplitError(description: "split '\(split)': '\(piece)' is not a number")
            }
            return value
        }
        while weights.count < 3 { weights.append(0) }
        weights = Array(weights.prefix(3))
        let total = weights.reduce(0, +)
        guard total > 0 else { throw SplitError(description: "split '\(split)' has weights summing to 0") }
        var boundaries = [0]
        for w in weights {
            boundaries.append(boundaries.last! + Int((w / total * Double(sequenceCount)).rounded(.toNearestOrEven)))
        }
        let diff = boundaries[3] - sequenceCount
        for k in 1...3 { boundaries[k] -= diff }
        return (0..<3).map { k in boundaries[k + 1] > boundaries[k] ? boundaries[k]..<boundaries[k + 1] : nil }
    }
}
