/// A width × height RGBA8 image, row-major from the top-left, with source-over blending.
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    /// RGBA bytes, `4 * (y * width + x)` for pixel (x, y).
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: Color = .white) {
        precondition(width > 0 && height > 0, "Canvas needs a positive size, got \(width)x\(height)")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 4)
        for i in 0..<(width * height) {
            pixels[4 * i] = background.r
            pixels[4 * i + 1] = background.g
            pixels[4 * i + 2] = background.b
            pixels[4 * i + 3] = background.a
        }
    }

    public func pixel(x: Int, y: Int) -> Color {
        let i = 4 * (y * width + x)
        return Color(r: pixels[i], g: pixels[i + 1], b: pixels[i + 2], a: pixels[i + 3])
    }

    /// Blends `color` over pixel (x, y) with extra coverage in 0...1; pixels outside are ignored.
    @inline(__always)
    public mutating func blend(x: Int, y: Int, color: Color, coverage: Double = 1) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let alpha = coverage * Double(color.a) / 255
        guard alpha > 0 else { return }
        let i = 4 * (y * width + x)
        if alpha >= 1 {
            pixels[i] = color.r
            pixels[i + 1] = color.g
            pixels[i + 2] = color.b
            pixels[i + 3] = 255
            return
        }
        let dstA = Double(pixels[i + 3]) / 255
        let outA = alpha + dstA * (1 - alpha)
        func mix(_ src: UInt8, _ dst: UInt8) -> UInt8 {
            let value = (Double(src) * alpha + Double(dst) * dstA * (1 - alpha)) / outA
            return UInt8(max(0, min(255, value.rounded())))
        }
        pixels[i] = mix(color.r, pixels[i])
        pixels[i + 1] = mix(color.g, pixels[i + 1])
        pixels[i + 2] = mix(color.b, pixels[i + 2])
        pixels[i + 3] = UInt8((outA * 255).rounded())
    }

    /// Fills the pixels whose centres lie in [x, x+w) × [y, y+h), clipped to the canvas.
    public mutating func fillRect(_ rect: Rect, color: Color) {
        let x0 = max(0, Int(rect.x.rounded())), y0 = max(0, Int(rect.y.rounded()))
        let x1 = min(width, Int((rect.x + rect.width).rounded())), y1 = min(height, Int((rect.y + rect.height).rounded()))
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 {
            for x in x0..<x1 { blend(x: x, y: y, color: color) }
        }
    }

    /// A one-pixel-wide rectangle outline inside `rect`.
    public mutating func strokeRect(_ rect: Rect, color: Color) {
        fillRect(Rect(x: rect.x, y: rect.y, width: rect.width, height: 1), color: color)
        fillRect(Rect(x: rect.x, y: rect.maxY - 1, width: rect.width, height: 1), color: color)
        fillRect(Rect(x: rect.x, y: rect.y, width: 1, height: rect.height), color: color)
        fillRect(Rect(x: rect.maxX - 1, y: rect.y, width: 1, height: rect.height), color: color)
    }

    /// An anti-aliased filled circle centred at (cx, cy) in pixel-centre coordinates.
    public mutating func fillCircle(cx: Double, cy: Double, radius: Double, color: Color) {
        let x0 = Int((cx - radius - 1).rounded(.down)), x1 = Int((cx + radius + 1).rounded(.up))
        let y0 = Int((cy - radius - 1).rounded(.down)), y1 = Int((cy + radius + 1).rounded(.up))
        for y in max(0, y0)...max(0, min(height - 1, y1)) {
            for x in max(0, x0)...max(0, min(width - 1, x1)) {
                let dx = Double(x) - cx, dy = Double(y) - cy
                let coverage = radius + 0.5 - (dx * dx + dy * dy).squareRoot()
                if coverage > 0 { blend(x: x, y: y, color: color, coverage: min(1, coverage)) }
            }
        }
    }

    /// Copies `other` into this canvas with its top-left corner at (x, y).
    public mutating func draw(_ other: Canvas, atX x: Int, y: Int) {
        for row in 0..<other.height where y + row >= 0 && y + row < height {
            for col in 0..<other.width where x + col >= 0 && x + col < width {
                let s = 4 * (row * other.width + col), d = 4 * ((y + row) * width + x + col)
                for k in 0..<4 { pixels[d + k] = other.pixels[s + k] }
            }
        }
    }
}

/// An axis-aligned rectangle in pixel coordinates (y grows downwards).
public struct Rect: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var maxX: Double { x + width }
    public var maxY: Double { y + height }

    public func contains(x px: Double, y py: Double) -> Bool {
        px >= x && px <= maxX && py >= y && py <= maxY
    }

    public func intersects(_ other: Rect) -> Bool {
        x < other.maxX && other.x < maxX && y < other.maxY && other.y < maxY
    }
}
