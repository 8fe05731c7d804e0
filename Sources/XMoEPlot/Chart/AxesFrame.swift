/// A tick on an axis: where it sits in pixels and what it says.
public struct AxisTick: Equatable, Sendable {
    public let position: Double
    public let label: String
}

/// The decoration shared by line charts and heatmaps: margins, title, axis labels, ticks, grid, spines.
struct AxesFrame: Sendable {
    static let padding = 10.0
    static let tickLength = 4.0
    static let tickGap = 3.0
    static let labelGap = 6.0
    static let spineColor = Color(hex: 0x404040)
    static let titleStyle = TextStyle(font: .bold)
    static let tickStyle = TextStyle(font: .regular, color: Color(hex: 0x333333))

    var title: String
    var xLabel: String
    var yLabel: String

    /// Top and bottom of the plot area inside `frame`; they depend only on which texts are present.
    func verticalExtent(in frame: Rect) -> (top: Double, bottom: Double) {
        let lineHeight = Double(BitmapFont.regular.height)
        var top = frame.y + Self.padding
        if !title.isEmpty { top += Double(BitmapFont.bold.height) + 10 }
        var bottom = frame.maxY - Self.padding - (lineHeight + Self.tickLength + Self.tickGap + 1)
        if !xLabel.isEmpty { bottom -= lineHeight + Self.labelGap }
        return (top.rounded(), bottom.rounded())
    }

    /// Left edge of the plot area once the widest y tick label is known.
    func left(in frame: Rect, yTickLabels: [String]) -> Double {
        let widest = yTickLabels.map { BitmapFont.regular.measure($0) }.max() ?? 0
        var left = frame.x + Self.padding + Double(widest) + Self.tickLength + Self.tickGap + 1
        if !yLabel.isEmpty { left += Double(BitmapFont.regular.height) + Self.labelGap + 2 }
        return left.rounded()
    }

    /// The largest tick count (from `maxCount` down) whose labels, centred on their ticks, keep a gap.
    static func fittingTicks(maxCount: Int, minGap: Double = 14,
                             make: (Int) -> [AxisTick]) -> [AxisTick] {
        var count = max(2, maxCount)
        while true {
            let ticks = make(count)
            let widths = ticks.map { Double(BitmapFont.regular.measure($0.label)) }
            var fits = true
            for i in ticks.indices.dropFirst() {
                let gap = abs(ticks[i].position - ticks[i - 1].position) - (widths[i] + widths[i - 1]) / 2
                if gap < minGap { fits = false }
            }
            if fits || count <= 2 { return ticks }
            count -= 1
        }
    }

    func drawGrid(into canvas: inout Canvas, plotArea: Rect, xTicks: [AxisTick], yTicks: [AxisTick]) {
        for tick in xTicks {
            canvas.fillRect(Rect(x: tick.position.rounded(), y: plotArea.y, width: 1, height: plotArea.height),
                            color: .gridGrey)
        }
        for tick in yTicks {
            canvas.fillRect(Rect(x: plotArea.x, y: tick.position.rounded(), width: plotArea.width, height: 1),
                            color: .gridGrey)
        }
    }

    /// Spines, tick marks, tick labels, axis labels and the title.
    func drawDecoration(into canvas: inout Canvas, frame: Rect, plotArea: Rect,
                        xTicks: [AxisTick], yTicks: [AxisTick]) {
        canvas.strokeRect(Rect(x: plotArea.x - 1, y: plotArea.y - 1, width: plotArea.width + 2, height: plotArea.height + 2),
                          color: Self.spineColor)
        let below = plotArea.maxY + 1
        for tick in xTicks {
            let x = tick.position.rounded()
            canvas.fillRect(Rect(x: x, y: below, width: 1, height: Self.tickLength), color: Self.spineColor)
            canvas.drawText(tick.label, x: x + 0.5, y: below + Self.tickLength + Self.tickGap, style: Self.tickStyle,
                            align: .center, vAlign: .top)
        }
        let leftOf = plotArea.x - 1
        for tick in yTicks {
            let y = tick.position.rounded()
            canvas.fillRect(Rect(x: leftOf - Self.tickLength, y: y, width: Self.tickLength, height: 1), color: Self.spineColor)
            canvas.drawText(tick.label, x: leftOf - Self.tickLength - Self.tickGap, y: y + 0.5, style: Self.tickStyle,
                            align: .right, vAlign: .middle)
        }
        if !xLabel.isEmpty {
            canvas.drawText(xLabel, x: plotArea.x + plotArea.width / 2, y: frame.maxY - Self.padding,
                            align: .center, vAlign: .bottom)
        }
        if !yLabel.isEmpty {
            canvas.drawText(yLabel, x: frame.x + Self.padding, y: plotArea.y + plotArea.height / 2,
                            style: TextStyle(vertical: true), align: .left, vAlign: .middle)
        }
        if !title.isEmpty {
            canvas.drawText(title, x: plotArea.x + plotArea.width / 2, y: frame.y + Self.padding,
                            style: Self.titleStyle, align: .center, vAlign: .top)
        }
    }
}
