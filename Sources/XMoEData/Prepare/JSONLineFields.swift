import Foundation

/// Pulls the requested keys' texts out of one JSON line with exactly the outcome of Megatron's
/// `json.loads(line)` followed by `obj[key]` and tokenizing the value:
///
/// - the grammar is Python's `json` module (strict mode): `NaN`, `Infinity`, `-Infinity` are
///   accepted, raw control characters inside strings are not, the last of duplicate keys wins,
///   a leading U+FEFF is an error, only space/tab/CR/LF count as whitespace;
/// - a value is one text (a string) or a list of texts (a list of strings, Megatron's
///   pre-split sentences); anything else is `.notAString`;
/// - `\uD83D\uDE00` pairs combine as in Python. A lone surrogate escape (`"\ud800"`) is accepted
///   by `json.loads` but then makes the tokenizer raise `UnicodeEncodeError`, so in a requested
///   value it is `.unpairedSurrogate`; elsewhere in the line it is ignored, as in Python;
/// - an empty or whitespace-only line (json.loads: "Expecting value") is `.emptyLine`.
///
/// The line's UTF-8 is validated first, because Python decodes the file before parsing.
enum JSONLineFields {
    /// For each key in `keys`, its sentences as UTF-8 (one for a string value).
    static func extract(line: ArraySlice<UInt8>, keys: [[UInt8]]) throws(LineProblem) -> [[[UInt8]]] {
        let result: Result<[[[UInt8]]], LineProblem> = line.withUnsafeBufferPointer { bytes in
            if let offset = UTF8Validation.firstInvalidByteOffset(bytes) {
                return .failure(LineProblem(kind: .invalidUTF8, detail: "invalid UTF-8 at byte \(offset + 1) of the line"))
            }
            var parser = JSONScanner(bytes: bytes, keys: keys)
            do throws(LineProblem) { return .success(try parser.extractFields()) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

/// What a requested key was bound to (the last binding wins, like a Python dict).
private enum FieldValue {
    case texts([[UInt8]])
    case wrongType(String)
    case loneSurrogate
}

private struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let keys: [[UInt8]]
    var position = 0
    var fields: [FieldValue?]
    /// Python's C scanner raises RecursionError near the interpreter's limit (1000).
    static let maximumDepth = 900

    init(bytes: UnsafeBufferPointer<UInt8>, keys: [[UInt8]]) {
        self.bytes = bytes
        self.keys = keys
        fields = Array(repeating: nil, count: keys.count)
    }

    mutating func extractFields() throws(LineProblem) -> [[[UInt8]]] {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw malformed("unexpected UTF-8 BOM") }
        skipWhitespace()
        if position == bytes.count { throw LineProblem(kind: .emptyLine, detail: "expected a JSON object, found an empty line") }
        let isObject = bytes[position] == UInt8(ascii: "{")
        if isObject { try scanTopObject() } else { try skipValue(depth: 0) }
        skipWhitespace()
        if position != bytes.count { throw malformed("extra data after the JSON value") }
        guard isObject else { throw LineProblem(kind: .notAnObject, detail: "the line is valid JSON but not an object") }
        var texts: [[[UInt8]]] = []
        for (index, field) in fields.enumerated() {
            let name = String(decoding: keys[index], as: UTF8.self)
            switch field {
            case nil: throw LineProblem(kind: .missingKey, detail: "no key \"\(name)\"")
            case .wrongType(let what)?:
                throw LineProblem(kind: .notAString, detail: "the value of \"\(name)\" is \(what), not a string or a list of strings")
            case .loneSurrogate?:
                throw LineProblem(kind: .unpairedSurrogate, detail: "the value of \"\(name)\" contains a \\u escape of an unpaired UTF-16 surrogate, which cannot be encoded as UTF-8")
            case .texts(let sentences)?: texts.append(sentences)
            }
        }
        return texts
    }

    private func malformed(_ what: String) -> LineProblem {
        LineProblem(kind: .malformedJSON, detail: "\(what) at column \(position + 1)")
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(LineProblem) {
        guard position < bytes.count, bytes[position] == byte else { throw malformed("expected \(what)") }
        position += 1
    }

    private mutating func scanTopObject() throws(LineProblem) {
        position += 1
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") { position += 1; return }
        while true {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw malformed("expected a property name in double quotes")
            }
            let (key, _) = try scanString(decode: true)
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after a property name")
            skipWhitespace()
            if let index = keys.firstIndex(where: { $0 == key! }) {
                fields[index] = try scanField()
            } else {
                try skipValue(depth: 1)
            }
            skipWhitespace()
            guard position < bytes.count else { throw malformed("unterminated object") }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return }
            try expect(UInt8(ascii: ","), "',' or '}' in an object")
            skipWhitespace()
        }
    }

    /// The value of a requested key.
    private mutating func scanField() throws(LineProblem) -> FieldValue {
        guard position < bytes.count else { throw malformed("expected a value") }
        if bytes[position] == UInt8(ascii: "\"") {
            let (text, lone) = try scanString(decode: true)
            return lone ? .loneSurrogate : .texts([text!])
        }
        guard bytes[position] == UInt8(ascii: "[") else {
            let start = position
            try skipValue(depth: 1)
            return .wrongType(Self.describe(bytes[start]))
        }
        position += 1
        skipWhitespace()
        var sentences: [[UInt8]] = []
        var problem: FieldValue?
        if position < bytes.count && bytes[position] == UInt8(ascii: "]") { position += 1; return .texts([]) }
        while true {
            guard position < bytes.count else { throw malformed("unterminated list") }
            if bytes[position] == UInt8(ascii: "\"") {
                let (text, lone) = try scanString(decode: true)
                if lone && problem == nil { problem = .loneSurrogate }
                sentences.append(text!)
            } else {
                if problem == nil { problem = .wrongType("a list containing \(Self.describe(bytes[position]))") }
                try skipValue(depth: 2)
            }
            skipWhitespace()
            guard position < bytes.count else { throw malformed("unterminated list") }
            if bytes[position] == UInt8(ascii: "]") { position += 1; break }
            try expect(UInt8(ascii: ","), "',' or ']' in a list")
            skipWhitespace()
        }
        return problem ?? .texts(sentences)
    }

    private static func describe(_ first: UInt8) -> String {
        switch first {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "a list"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        default: return "a number"
        }
    }

    /// Checks one value of any type and moves past it.
    private mutating func skipValue(depth: Int) throws(LineProblem) {
        guard depth < Self.maximumDepth else { throw malformed("nesting too deep") }
        guard position < bytes.count else { throw malformed("expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            _ = try scanString(decode: false)
        case UInt8(ascii: "{"):
            position += 1
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "}") { position += 1; return }
            while true {
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw malformed("expected a property name in double quotes")
                }
                _ = try scanString(decode: false)
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':' after a property name")
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard position < bytes.count else { throw malformed("unterminated object") }
                if bytes[position] == UInt8(ascii: "}") { position += 1; return }
                try expect(UInt8(ascii: ","), "',' or '}' in an object")
                skipWhitespace()
            }
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "]") { position += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard position < bytes.count else { throw malformed("unterminated list") }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return }
                try expect(UInt8(ascii: ","), "',' or ']' in a list")
                skipWhitespace()
            }
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "N"): try literal("NaN")
        case UInt8(ascii: "I"): try literal("Infinity")
        case UInt8(ascii: "-") where position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "I"):
            position += 1
            try literal("Infinity")
        default:
            try skipNumber()
        }
    }

    private mutating func literal(_ word: StaticString) throws(LineProblem) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count,
              memcmp(bytes.baseAddress! + position, word.utf8Start, count) == 0 else {
            throw malformed("expected a value")
        }
        position += count
    }

    /// Python's number pattern `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`, ASCII digits only.
    private mutating func skipNumber() throws(LineProblem) {
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw malformed("expected a value") }
        if bytes[position] == UInt8(ascii: "0") { position += 1 } else { skipDigits() }
        if position + 1 < bytes.count, bytes[position] == UInt8(ascii: "."), isDigit(bytes[position + 1]) {
            position += 1
            skipDigits()
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            var next = position + 1
            if next < bytes.count, bytes[next] == UInt8(ascii: "+") || bytes[next] == UInt8(ascii: "-") { next += 1 }
            if next < bytes.count, isDigit(bytes[next]) {
                position = next
                skipDigits()
            }
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private mutating func skipDigits() {
        while position < bytes.count && isDigit(bytes[position]) { position += 1 }
    }

    /// Scans the string starting at the opening quote. Returns its UTF-8 (when `decode`) and
    /// whether it holds an unpaired surrogate escape (then U+FFFD stands in for it).
    private mutating func scanString(decode: Bool) throws(LineProblem) -> ([UInt8]?, Bool) {
        position += 1
        var out: [UInt8]? = decode ? [] : nil
        var lone = false
        var runStart = position
        while true {
            guard position < bytes.count else { throw malformed("unterminated string") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                if decode { out!.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart ..< position])) }
                position += 1
                return (out, lone)
            }
            if byte < 0x20 { throw malformed("invalid control character in a string") }
            if byte != UInt8(ascii: "\\") { position += 1; continue }
            if decode { out!.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart ..< position])) }
            position += 1
            guard position < bytes.count else { throw malformed("unterminated string") }
            let escape = bytes[position]
            position += 1
            var scalar: UInt32
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalar = UInt32(escape)
            case UInt8(ascii: "b"): scalar = 0x08
            case UInt8(ascii: "f"): scalar = 0x0C
            case UInt8(ascii: "n"): scalar = 0x0A
            case UInt8(ascii: "r"): scalar = 0x0D
            case UInt8(ascii: "t"): scalar = 0x09
            case UInt8(ascii: "u"):
                scalar = try hex4()
                if scalar >= 0xD800 && scalar <= 0xDBFF, position + 1 < bytes.count,
                   bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
                    let saved = position
                    position += 2
                    let low = try hex4()
                    if low >= 0xDC00 && low <= 0xDFFF {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        position = saved  // the next escape stands on its own
                    }
                }
                if scalar >= 0xD800 && scalar <= 0xDFFF { lone = true; scalar = 0xFFFD }
            default:
                throw malformed("invalid escape '\\\(Character(Unicode.Scalar(escape)))'")
            }
            if decode { Self.appendUTF8(scalar, to: &out!) }
            runStart = position
        }
    }

    private mutating func hex4() throws(LineProblem) -> UInt32 {
        guard position + 4 <= bytes.count else { throw malformed("invalid \\uXXXX escape") }
        var value: UInt32 = 0
        for _ in 0 ..< 4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case 0x30 ... 0x39: digit = UInt32(byte - 0x30)
            case 0x41 ... 0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61 ... 0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw malformed("invalid \\uXXXX escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case ..<0x80: out.append(UInt8(scalar))
        case ..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6)); out.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12)); out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18)); out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
