/// GPT-2's reversible map between the 256 byte values and 256 printable Unicode scalars.
///
/// BPE vocabularies are written as text, so every byte gets a visible character: printable
/// Latin-1 bytes (0x21–0x7E, 0xA1–0xAC, 0xAE–0xFF) stand for themselves, and the other 68 bytes,
/// in increasing order, take U+0100, U+0101, … (space 0x20 → "Ġ" U+0120, "\n" 0x0A → "Ċ" U+010A).
enum ByteLevelAlphabet {
    /// `scalarForByte[b]` is the scalar that spells byte `b` in vocab.json / merges.txt.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 0x100
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte)
                || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The inverse of `scalarForByte`, or nil for a scalar outside the alphabet.
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        switch scalar.value {
        case 0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF:
            return UInt8(scalar.value)
        case 0x100..<0x144:
            return byteForExtendedScalar[Int(scalar.value - 0x100)]
        default:
            return nil
        }
    }

    /// Bytes spelled by U+0100 … U+0143, in that order.
    private static let byteForExtendedScalar: [UInt8] = (0..<256).compactMap { byte in
        scalarForByte[byte].value >= 0x100 ? UInt8(byte) : nil
    }

    /// The bytes a vocabulary token stands for, or nil if it uses a scalar outside the alphabet.
    static func bytes(ofToken token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
