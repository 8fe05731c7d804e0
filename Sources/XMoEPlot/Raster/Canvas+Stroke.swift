/// A point in pixel coordinates; integer values are pixel centres.
public struct Point: Equatable, Sendable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    var isFinite: Bool { x.isFinite && y.isFinite }
}

extension Canvas {
    /// Strokes an anti-aliased polyline; non-finite points break it into separate runs.
    ///
    /// Coverage is accumulated per pixel as the maximum over all segments before blending once,
    /// so joints of a long dense series neither darken nor show seams. `dash` is an on/off pattern
    /// in pixels measured along the line; `clip` limits drawing to a rectangle.
    public mutating func strokePolyline(_ points: [Point], width lineWidth: Double, color: Color,
                                        dash: [Double]? = nil, clip: Rect? = nil) {
        let bounds = clip ?? Rect(x: 0, y: 0, width: Double(width), height: Double(height))
        let x0 = max(0, Int(bounds.x.rounded(.down))), y0 = max(0, Int(bounds.y.rounded(.down)))
        let x1 = min(width, Int(bounds.maxX.rounded(.up))), y1 = min(height, Int(bounds.maxY.rounded(.up)))
        guard x0 < x1, y0 < y1 else { return }
        var mask = CoverageMask(x0: x0, y0: y0, width: x1 - x0, height: y1 - y0)
        let halfWidth = lineWidth / 2
        let pattern = (dash ?? []).filter { $0 > 0 }
        var dashState = DashState(pattern: pattern)
        var previous: Point?
        for point in points {
            guard point.isFinite else {
                previous = nil
                dashState.reset()
                continue
            }
            if let start = previous {
                if pattern.isEmpty {
                    mask.addSegment(start, point, halfWidth: halfWidth)
                } else {
                    dashState.forEachOnPiece(from: start, to: point) { mask.addSegment($0, $1, halfWidth: halfWidth) }
                }
            } else if pattern.isEmpty || dashState.isOn {
                mask.addSegment(point, point, halfWidth: halfWidth)
            }
            previous = point
        }
        mask.composite(onto: &self, color: color)
    }

    /// A straight anti-aliased line.
    public mutating func strokeLine(from a: Point, to b: Point, width: Double, color: Color, dash: [Double]? = nil) {
        strokePolyline([a, b], width: width, color: color, dash: dash)
    }
}

/// Per-pixel coverage over a rectangular window of the canvas, touched region tracked for compositing.
private struct CoverageMask {
    let x0: Int, y0: Int, width: Int, height: Int
    var coverage: [Float]
    var minX = Int.max, minY = Int.max, maxX = Int.min, maxY = Int.min

    init(x0: Int, y0: Int, width: Int, height: Int) {
        self.x0 = x0
        self.y0 = y0
        self.width = width
        self.height = height
        coverage = [Float](repeating: 0, count: width * height)
    }

    /// Coverage of a pixel is the capsule's half-width + 0.5 minus the pixel centre's distance to the
    /// segment, clamped to 0...1: a box-filter approximation that keeps thin lines smooth.
    mutating func addSegment(_ a: Point, _ b: Point, halfWidth: Double) {
        let reach = halfWidth + 1
        let left = max(x0, Int((min(a.x, b.x) - reach).rounded(.down)))
        let right = min(x0 + width - 1, Int((max(a.x, b.x) + reach).rounded(.up)))
        let top = max(y0, Int((min(a.y, b.y) - reach).rounded(.down)))
        let bottom = min(y0 + height - 1, Int((max(a.y, b.y) + reach).rounded(.up)))
        guard left <= right, top <= bottom else { return }
        let dx = b.x - a.x, dy = b.y - a.y
        let lengthSquared = dx * dx + dy * dy
        // A thin line narrower than a pixel keeps its full width but fades, so it neither vanishes nor bloats.
        let effectiveHalf = max(halfWidth, 0.5)
        let fade = min(1, halfWidth / 0.5)
        for py in top...bottom {
            let fy = Double(py) - a.y
            for px in left...right {
                let fx = Double(px) - a.x
                var t = lengthSquared > 0 ? (fx * dx + fy * dy) / lengthSquared : 0
                t = max(0, min(1, t))
                let ex = fx - t * dx, ey = fy - t * dy
                let distance = (ex * ex + ey * ey).squareRoot()
                let value = Float(min(1, effectiveHalf + 0.5 - distance) * fade)
                guard value > 0 else { continue }
                let i = (py - y0) * width + (px - x0)
                if value > coverage[i] { coverage[i] = value }
            }
        }
        minX = min(minX, left)
        maxX = max(maxX, right)
        minY = min(minY, top)
        maxY = max(maxY, bottom)
    }

    func composite(onto canvas: inout Canvas, color: Color) {
        guard minX <= maxX, minY <= maxY else { return }
        for py in minY...maxY {
            for px in minX...maxX {
                let value = coverage[(py - y0) * width + (px - x0)]
                if value > 0 { canvas.blend(x: px, y: py, color: color, coverage: Double(value)) }
            }
        }
    }
}

/// Walks an on/off dash pattern along consecutive segments.
private struct DashState {
    let pattern: [Double]
    var index = 0
    var remaining: Double

    init(pattern: [Double]) {
        self.pattern = pattern
        remaining = pattern.first ?? 0
    }

    var isOn: Bool { index % 2 == 0 }

    mutating func reset() {
        index = 0
        remaining = pattern.first ?? 0
    }

    mutating func forEachOnPiece(from a: Point, to b: Point, _ body: (Point, Point) -> Void) {
        let dx = b.x - a.x, dy = b.y - a.y
        let length = (dx * dx + dy * dy).squareRoot()
        guard length > 0 else { return }
        var travelled = 0.0
        while travelled < length {
            let step = min(remaining, length - travelled)
            if isOn {
                let s = travelled / length, e = (travelled + step) / length
                body(Point(x: a.x + s * dx, y: a.y + s * dy), Point(x: a.x + e * dx, y: a.y + e * dy))
            }
            travelled += step
            remaining -= step
            if remaining <= 1e-9 {
                index = (index + 1) % pattern.count
                remaining = pattern[index]
            }
        }
    }
}
