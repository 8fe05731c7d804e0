public enum HorizontalAlignment: Sendable { case left, center, right }
public enum VerticalAlignment: Sendable { case top, middle, bottom }

/// How a string is drawn: font, integer pixel scale, colour, and whether it reads bottom-to-top.
public struct TextStyle: Sendable {
    public var font: BitmapFont
    public var scale: Int
    public var color: Color
    /// Rotated 90° counter-clockwise, as y-axis labels are.
    public var vertical: Bool

    public init(font: BitmapFont = .regular, scale: Int = 1, color: Color = .ink, vertical: Bool = false) {
        self.font = font
        self.scale = max(1, scale)
        self.color = color
        self.vertical = vertical
    }
}

extension Canvas {
    /// The box `text` occupies when anchored at (x, y) with the given alignments, which apply to the box
    /// in canvas coordinates (for vertical text too).
    public static func textBox(_ text: String, x: Double, y: Double, style: TextStyle = TextStyle(),
                               align: HorizontalAlignment = .left, vAlign: VerticalAlignment = .top) -> Rect {
        let along = Double(style.font.measure(text, scale: style.scale))
        let across = Double(style.font.height * style.scale)
        let w = style.vertical ? across : along, h = style.vertical ? along : across
        let left: Double
        switch align {
        case .left: left = x
        case .center: left = x - w / 2
        case .right: left = x - w
        }
        let top: Double
        switch vAlign {
        case .top: top = y
        case .middle: top = y - h / 2
        case .bottom: top = y - h
        }
        return Rect(x: left.rounded(), y: top.rounded(), width: w, height: h)
    }

    /// Draws `text` and returns the box it occupies.
    @discardableResult
    public mutating func drawText(_ text: String, x: Double, y: Double, style: TextStyle = TextStyle(),
                                  align: HorizontalAlignment = .left, vAlign: VerticalAlignment = .top) -> Rect {
        let box = Canvas.textBox(text, x: x, y: y, style: style, align: align, vAlign: vAlign)
        let font = style.font, scale = style.scale
        let originX = Int(box.x), originY = Int(box.y)
        for (index, scalar) in text.utf8.enumerated() {
            for gy in 0..<font.height {
                for gx in 0..<font.width where font.isInk(scalar, x: gx, y: gy) {
                    // Glyph-space pixel (u, v) along/across the text direction.
                    let u = (index * font.width + gx) * scale, v = gy * scale
                    for sy in 0..<scale {
                        for sx in 0..<scale {
                            if style.vertical {
                                blend(x: originX + v + sy, y: originY + Int(box.height) - 1 - (u + sx), color: style.color)
                            } else {
                                blend(x: originX + u + sx, y: originY + v + sy, color: style.color)
                            }
                        }
                    }
                }
            }
        }
        return box
    }
}
