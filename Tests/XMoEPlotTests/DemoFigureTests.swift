import Foundation
import Testing
@testable import XMoEPlot

/// The figure a training report would draw; also written to $XMOE_PLOT_DEMO when set, for looking at.
func demoFigure() -> Figure {
    var state: UInt64 = 42
    func noise() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53) - 0.5
    }
    let steps = (0..<2000).map(Double.init)
    let loss = steps.map { 2.2 + 8.6 * exp(-$0 / 250) + 0.35 * noise() }
    let evalSteps = stride(from: 0.0, through: 2000, by: 200).map { $0 }
    let evalLoss = evalSteps.map { 2.35 + 8.6 * exp(-$0 / 250) }
    let lr: [Double] = steps.map { step in
        if step < 100 { return 3e-4 * (step + 1) / 100 }
        let cosine: Double = 0.5 * (1 + cos(Double.pi * (step - 100) / 1900))
        return 3e-5 + (3e-4 - 3e-5) * cosine
    }
    var heat = [[Double]]()
    for expert in 0..<16 {
        var row = [Double]()
        for column in 0..<200 {
            let wave: Double = sin(Double(expert) * 0.9 + Double(column) / 25)
            let decay: Double = exp(-Double(column) / 120)
            row.append(1.0 / 16 + 0.04 * wave * decay + 0.004 * noise())
        }
        heat.append(row)
    }
    return Figure(title: "run demo-16e: training", columns: 2, panels: [
        .line(LineChart(title: "Loss", xLabel: "step", yLabel: "loss", series: [
            Series(name: "train", x: steps, y: loss),
            Series(name: "eval", x: evalSteps, y: evalLoss, style: .lineWithMarkers),
        ])),
        .line(LineChart(title: "Learning rate", xLabel: "step", yLabel: "lr", series: [
            Series(name: "lr", x: steps, y: lr),
        ], logY: true)),
        .heatmap(Heatmap(title: "Expert load (layer 3)", xLabel: "step", yLabel: "expert", values: heat,
                         xValues: (0..<200).map { Double($0 * 10) }, colorbarLabel: "fraction of tokens")),
        .line(LineChart(title: "Gradient norm", xLabel: "step", yLabel: "norm", series: [
            Series(name: "grad norm", x: steps, y: steps.map { 1 + 3 * exp(-$0 / 100) + 0.2 * noise() }),
            Series(name: "clip", x: [0, 2000], y: [1, 1], style: .dashed),
        ])),
    ])
}

@Suite struct DemoFigureTests {
    @Test func demoFigureRendersToADecodablePNG() throws {
        let figure = demoFigure()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = ProcessInfo.processInfo.environment["XMOE_PLOT_DEMO"] ?? directory.appendingPathComponent("demo.png").path
        try figure.writePNG(to: path)
        let decoded = try decodeWithPython(path)
        #expect(decoded.width == 1280)
        #expect(decoded.height == 2 * 420 + BitmapFont.large.height + 16)
    }
}
