import Testing
@testable import XMoEPlot

@Suite struct HeatmapTests {
    // matplotlib's published viridis endpoints.
    static let viridisLow = Color(hex: 0x440154)
    static let viridisHigh = Color(hex: 0xFDE725)

    @Test func extremeCellsGetTheViridisEndpoints() {
        var values = [[Double]](repeating: [0.5, 0.4, 0.6, 0.55], count: 3)
        values[1][2] = -2   // minimum
        values[2][0] = 7    // maximum
        let heatmap = Heatmap(title: "load", xLabel: "step", yLabel: "expert", values: values, colorbarLabel: "share")
        let canvas = heatmap.render(width: 640, height: 420)
        let layout = heatmap.layout(in: Rect(x: 0, y: 0, width: 640, height: 420))
        let area = layout.plotArea
        func cellCentre(row: Int, column: Int) -> Color {
            canvas.pixel(x: Int(area.x + (Double(column) + 0.5) * area.width / 4),
                         y: Int(area.y + (Double(row) + 0.5) * area.height / 3))
        }
        #expect(cellCentre(row: 1, column: 2) == Self.viridisLow)
        #expect(cellCentre(row: 2, column: 0) == Self.viridisHigh)
        let middle = cellCentre(row: 0, column: 0)
        #expect(middle != Self.viridisLow && middle != Self.viridisHigh)
        let bar = layout.colorbar
        #expect(canvas.pixel(x: Int(bar.x + bar.width / 2), y: Int(bar.y)) == Self.viridisHigh)
        #expect(canvas.pixel(x: Int(bar.x + bar.width / 2), y: Int(bar.maxY) - 1) == Self.viridisLow)
    }

    @Test func rowTicksAreIntegersAtCellCentres() {
        let heatmap = Heatmap(title: "", xLabel: "", yLabel: "expert",
                              values: (0..<16).map { r in (0..<5).map { Double(r * $0) } })
        let layout = heatmap.layout(in: Rect(x: 0, y: 0, width: 640, height: 420))
        let cell = layout.plotArea.height / 16
        for tick in layout.yTicks {
            let row = Int(tick.label)!
            #expect(abs(tick.position - (layout.plotArea.y + (Double(row) + 0.5) * cell)) < 1e-9)
        }
        #expect(layout.yTicks.count >= 3)
    }

    @Test func constantAndEmptyMatricesRender() {
        _ = Heatmap(title: "c", xLabel: "", yLabel: "", values: [[1, 1], [1, 1]]).render(width: 300, height: 200)
        _ = Heatmap(title: "e", xLabel: "", yLabel: "", values: []).render(width: 300, height: 200)
        let nan = Heatmap(title: "n", xLabel: "", yLabel: "", values: [[.nan, 1], [2, 3]])
        #expect(nan.color(for: .nan) == Heatmap.missingColor)
    }
}
