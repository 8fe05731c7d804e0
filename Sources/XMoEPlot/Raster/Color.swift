/// An 8-bit sRGB colour with straight (non-premultiplied) alpha.
public struct Color: Equatable, Hashable, Sendable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8
    public var a: UInt8

    public init(r: UInt8, g: UInt8, b: UInt8, a: UInt8 = 255) {
        self.r = r
        self.g = g
        self.b = b
        self.a = a
    }

    /// `0xRRGGBB`, opaque.
    public init(hex: UInt32) {
        self.init(r: UInt8((hex >> 16) & 0xFF), g: UInt8((hex >> 8) & 0xFF), b: UInt8(hex & 0xFF))
    }

    public func withAlpha(_ alpha: Double) -> Color {
        Color(r: r, g: g, b: b, a: UInt8((max(0, min(1, alpha)) * 255).rounded()))
    }

    public static let white = Color(hex: 0xFFFFFF)
    public static let black = Color(hex: 0x000000)
    /// Text and axis colour: matplotlib draws near-black text.
    public static let ink = Color(hex: 0x262626)
    public static let gridGrey = Color(hex: 0xE5E5E5)
    public static let axisGrey = Color(hex: 0x808080)

    /// matplotlib's default colour cycle ("tab10").
    public static let tab10: [Color] = [
        0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD, 0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF,
    ].map { Color(hex: $0) }

    public static func cycle(_ index: Int) -> Color { tab10[((index % 10) + 10) % 10] }
}
