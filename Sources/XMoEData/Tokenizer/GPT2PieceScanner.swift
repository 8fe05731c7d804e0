/// The character classes GPT-2's pre-tokenization pattern distinguishes.
enum ScalarClass: UInt8 {
    case other = 0       // [^\s\p{L}\p{N}]
    case letter = 1      // \p{L}
    case number = 2      // \p{N}
    case whitespace = 3  // \s = Unicode White_Space

    init(_ scalar: Unicode.Scalar) {
        let properties = scalar.properties
        if properties.isWhitespace {
            self = .whitespace
            return
        }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = .other
        }
    }

    /// Classes of U+0000 … U+FFFF, looked up once so the scanner's hot path is a table read.
    static let basicPlane: [ScalarClass] = (0..<0x10000).map { value in
        Unicode.Scalar(UInt32(value)).map(ScalarClass.init) ?? .other
    }
}

/// Splits UTF-8 text into GPT-2 pre-tokenization pieces, as byte ranges, exactly like the pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// applied to Unicode scalars (not grapheme clusters: "x\u{301}" and "\r\n" are two scalars each).
///
/// A hand-written scanner rather than a regex engine: leftmost alternative wins, each greedy, and
/// the only backtracking the pattern needs is `\s+(?!\S)` giving back the last whitespace scalar
/// of a run that a non-space follows, so that scalar can start the next piece.
struct GPT2PieceScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let basicPlane = ScalarClass.basicPlane
    private var position = 0

    /// `bytes` must be valid UTF-8 (as a Swift String's UTF-8 view always is).
    init(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func next() -> Range<Int>? {
        let count = bytes.count
        let start = position
        guard start < count else { return nil }
        let first = bytes[start]

        if first == UInt8(ascii: "'"), let end = contractionEnd(after: start) {
            position = end
            return start..<end
        }

        var (kind, length) = classify(at: start)
        var runStart = start
        if first == UInt8(ascii: " "), start + 1 < count {
            let (nextKind, nextLength) = classify(at: start + 1)
            if nextKind != .whitespace {
                (kind, length, runStart) = (nextKind, nextLength, start + 1)
            }
        }

        var end = runStart + length
        if kind != .whitespace {
            while end < count {
                let (nextKind, nextLength) = classify(at: end)
                guard nextKind == kind else { break }
                end += nextLength
            }
            position = end
            return start..<end
        }

        var lastScalarStart = start
        while end < count {
            let (nextKind, nextLength) = classify(at: end)
            guard nextKind == .whitespace else { break }
            lastScalarStart = end
            end += nextLength
        }
        // `\s+(?!\S)`: a run followed by a non-space gives back its last scalar, unless that
        // would leave it empty, in which case `\s+` takes the single scalar.
        if end < count, lastScalarStart > start {
            end = lastScalarStart
        }
        position = end
        return start..<end
    }

    /// The end of `'s|'t|'re|'ve|'m|'ll|'d` starting at the apostrophe at `start`, if one matches.
    private func contractionEnd(after start: Int) -> Int? {
        guard start + 1 < bytes.count else { return nil }
        switch bytes[start + 1] {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return start + 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return start + 2 < bytes.count && bytes[start + 2] == UInt8(ascii: "e") ? start + 3 : nil
        case UInt8(ascii: "l"):
            return start + 2 < bytes.count && bytes[start + 2] == UInt8(ascii: "l") ? start + 3 : nil
        default:
            return nil
        }
    }

    /// The class and UTF-8 length of the scalar starting at `index`.
    @inline(__always)
    private func classify(at index: Int) -> (ScalarClass, Int) {
        let lead = bytes[index]
        if lead < 0x80 {
            return (basicPlane[Int(lead)], 1)
        }
        if lead < 0xE0 {
            let value = UInt32(lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F)
            return (basicPlane[Int(value)], 2)
        }
        if lead < 0xF0 {
            let value = UInt32(lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6
                | UInt32(bytes[index + 2] & 0x3F)
            return (basicPlane[Int(value)], 3)
        }
        let value = UInt32(lead & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12
            | UInt32(bytes[index + 2] & 0x3F) << 6 | UInt32(bytes[index + 3] & 0x3F)
        guard let scalar = Unicode.Scalar(value) else {
            fatalError("GPT2PieceScanner: invalid UTF-8 at byte \(index)")
        }
        return (ScalarClass(scalar), 4)
    }
}
