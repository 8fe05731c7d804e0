/// Maps values in 0...1 to colours, the way matplotlib's 256-entry colormaps do (no interpolation).
public enum Colormap: Sendable {
    case viridis

    public func color(at t: Double) -> Color {
        guard t.isFinite else { return Color(hex: 0xFFFFFF) }
        let index = min(255, max(0, Int(t * 256)))
        return Color(hex: Self.viridisTable[index])
    }
}
