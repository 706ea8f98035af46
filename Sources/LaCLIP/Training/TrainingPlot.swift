import Foundation

/// Line charts of training curves as a standalone SVG file (any browser or image viewer opens it): one panel
/// per quantity (loss, zero-shot accuracy, ...), one coloured curve per run (mode or seed), with axes, ticks
/// and a legend. Written by the package, no plotting library needed.
public struct TrainingPlot: Sendable {
    /// One curve.
    public struct Series: Sendable {
        /// The legend entry.
        public var name: String
        /// `(x, y)` points in order of x; non-finite points are left out.
        public var points: [(x: Double, y: Double)]

        /// Creates a curve.
        /// - Parameters:
        ///   - name: The legend entry.
        ///   - points: The points.
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    /// One chart.
    public struct Panel: Sendable {
        /// The title above the chart.
        public var title: String
        /// The x-axis label.
        public var xLabel: String
        /// The curves.
        public var series: [Series]

        /// Creates a panel.
        /// - Parameters:
        ///   - title: The title.
        ///   - xLabel: The x-axis label.
        ///   - series: The curves.
        public init(title: String, xLabel: String = "step", series: [Series]) {
            self.title = title
            self.xLabel = xLabel
            self.series = series
        }
    }

    /// The charts, side by side.
    public var panels: [Panel]

    /// Creates a plot.
    /// - Parameter panels: The charts.
    public init(panels: [Panel]) { self.panels = panels }

    /// The standard plot of runs: training loss and every evaluation score against the step, one curve per run.
    /// - Parameter runs: The runs by name, in legend order.
    public static func curves(of runs: [(name: String, history: TrainingHistory)]) -> TrainingPlot {
        var panels = [
            Panel(title: "training loss", series: runs.map { run in
                Series(name: run.name, points: run.history.steps.map { (Double($0.step), $0.loss) })
            })
        ]
        let scoreNames = Set(runs.flatMap { $0.history.evaluations.flatMap { $0.scores.keys } }).sorted()
        for score in scoreNames {
            panels.append(Panel(title: score, series: runs.map { run in
                Series(name: run.name, points: run.history.evaluations.compactMap { record in
                    record.scores[score].map { (Double(record.step), $0) }
                })
            }))
        }
        return TrainingPlot(panels: panels)
    }

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    /// The SVG document.
    public func svg() -> String {
        let panelWidth = 420.0, panelHeight = 300.0
        let left = 60.0, right = 15.0, top = 30.0, bottom = 45.0
        let legendHeight = 20.0 * Double(panels.map(\.series.count).max() ?? 0) + 10
        let width = panelWidth * Double(Swift.max(panels.count, 1))
        let height = panelHeight + legendHeight
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="white"/>

            """
        for (index, panel) in panels.enumerated() {
            let x0 = Double(index) * panelWidth + left, y0 = top
            let w = panelWidth - left - right, h = panelHeight - top - bottom
            let points = panel.series.flatMap { $0.points }.filter { $0.x.isFinite && $0.y.isFinite }
            var (xMin, xMax) = (points.map(\.x).min() ?? 0, points.map(\.x).max() ?? 1)
            var (yMin, yMax) = (points.map(\.y).min() ?? 0, points.map(\.y).max() ?? 1)
            if xMax <= xMin { xMax = xMin + 1 }
            if yMax <= yMin { (yMin, yMax) = (yMin - 0.5, yMax + 0.5) }
            let pad = (yMax - yMin) * 0.05
            yMin -= pad
            yMax += pad
            func px(_ x: Double) -> Double { x0 + (x - xMin) / (xMax - xMin) * w }
            func py(_ y: Double) -> Double { y0 + h - (y - yMin) / (yMax - yMin) * h }
            out += "<text x=\"\(f(x0 + w / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">\(escape(panel.title))</text>\n"
            out += "<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(w))\" height=\"\(f(h))\" fill=\"none\" stroke=\"#444\"/>\n"
            for tick in 0...4 {
                let yv = yMin + (yMax - yMin) * Double(tick) / 4, xv = xMin + (xMax - xMin) * Double(tick) / 4
                out += "<line x1=\"\(f(x0))\" y1=\"\(f(py(yv)))\" x2=\"\(f(x0 + w))\" y2=\"\(f(py(yv)))\" stroke=\"#ddd\"/>\n"
                out += "<text x=\"\(f(x0 - 5))\" y=\"\(f(py(yv) + 4))\" text-anchor=\"end\">\(label(yv))</text>\n"
                out += "<text x=\"\(f(px(xv)))\" y=\"\(f(y0 + h + 15))\" text-anchor=\"middle\">\(label(xv))</text>\n"
            }
            out += "<text x=\"\(f(x0 + w / 2))\" y=\"\(f(y0 + h + 32))\" text-anchor=\"middle\">\(escape(panel.xLabel))</text>\n"
            for (s, series) in panel.series.enumerated() {
                let color = Self.colors[s % Self.colors.count]
                let valid = series.points.filter { $0.x.isFinite && $0.y.isFinite }
                if valid.count == 1 {
                    out += "<circle cx=\"\(f(px(valid[0].x)))\" cy=\"\(f(py(valid[0].y)))\" r=\"3\" fill=\"\(color)\"/>\n"
                } else if !valid.isEmpty {
                    let path = valid.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                    out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
                }
                let ly = panelHeight + 10 + 20 * Double(s)
                out += "<line x1=\"\(f(x0))\" y1=\"\(f(ly))\" x2=\"\(f(x0 + 20))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"3\"/>\n"
                out += "<text x=\"\(f(x0 + 26))\" y=\"\(f(ly + 4))\">\(escape(series.name))</text>\n"
            }
        }
        out += "</svg>\n"
        return out
    }

    /// Writes the SVG atomically.
    /// - Parameter url: The file (`.svg`).
    /// - Throws: File errors.
    public func write(to url: URL) throws {
        try Data(svg().utf8).write(to: url, options: .atomic)
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private func label(_ value: Double) -> String {
        let magnitude = Swift.abs(value)
        if magnitude >= 1000 || (magnitude < 0.01 && magnitude > 0) { return String(format: "%.2g", value) }
        return magnitude >= 10 ? String(format: "%.0f", value) : String(format: "%.3g", value)
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
