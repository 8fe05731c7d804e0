/// How a series is drawn.
public enum SeriesStyle: Sendable {
    case line
    case lineWithMarkers
    /// Markers only, for sparse points such as evaluations.
    case markers
    case dashed

    var drawsLine: Bool { self != .markers }
    var drawsMarkers: Bool { self == .markers || self == .lineWithMarkers }
}

/// One named curve of a line chart. Points whose x or y is not finite are skipped and break the line.
public struct Series: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    public var style: SeriesStyle
    /// nil: the next tab10 colour in the chart's order.
    public var color: Color?
    public var lineWidth: Double
    public var markerRadius: Double

    public init(name: String, x: [Double], y: [Double], style: SeriesStyle = .line, color: Color? = nil,
                lineWidth: Double = 1.75, markerRadius: Double = 3.5) {
        precondition(x.count == y.count, "series '\(name)' has \(x.count) x values but \(y.count) y values")
        self.name = name
        self.x = x
        self.y = y
        self.style = style
        self.color = color
        self.lineWidth = lineWidth
        self.markerRadius = markerRadius
    }

    /// y against 0, 1, 2, ….
    public init(name: String, y: [Double], style: SeriesStyle = .line, color: Color? = nil) {
        self.init(name: name, x: y.indices.map(Double.init), y: y, style: style, color: color)
    }
}
