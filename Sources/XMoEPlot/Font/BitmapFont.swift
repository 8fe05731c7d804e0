/// A monospaced bitmap font covering printable ASCII (32...126); other characters draw as '?'.
public struct BitmapFont: Sendable {
    /// Cell size in pixels; every glyph advances by `width`.
    public let width: Int
    public let height: Int
    /// Rows from the cell top to the baseline.
    public let ascent: Int
    /// `height` rows per glyph, bit `width - 1 - x` set where pixel x is ink.
    let rows: [UInt16]

    init(width: Int, height: Int, ascent: Int, rows: [UInt16]) {
        precondition(rows.count == 95 * height, "font table has \(rows.count) rows, expected \(95 * height)")
        self.width = width
        self.height = height
        self.ascent = ascent
        self.rows = rows
    }

    /// Body text: X11 misc-fixed 7x13.
    public static let regular = misc7x13
    /// Panel titles: X11 misc-fixed 9x15 bold.
    public static let bold = misc9x15Bold
    /// Figure titles: X11 misc-fixed 10x20.
    public static let large = misc10x20

    func isInk(_ scalar: UInt8, x: Int, y: Int) -> Bool {
        let code = (32...126).contains(scalar) ? Int(scalar) : Int(UInt8(ascii: "?"))
        return rows[(code - 32) * height + y] & (1 << UInt16(width - 1 - x)) != 0
    }

    /// Width in pixels of `text` drawn at `scale`.
    public func measure(_ text: String, scale: Int = 1) -> Int { text.utf8.count * width * scale }
}
