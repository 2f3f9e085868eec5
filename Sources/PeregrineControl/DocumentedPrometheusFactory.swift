import CoreMetrics
import Prometheus

/// A swift-metrics factory that registers every metric in a swift-prometheus registry with its
/// `# HELP` text (the stock `PrometheusMetricsFactory` registers none, which `promtool check
/// metrics` refuses). Help comes from a table by metric name; recorders become gauges.
/// Thread-safe (the registry locks).
struct DocumentedPrometheusFactory: CoreMetrics.MetricsFactory {
    let registry: PrometheusCollectorRegistry
    let help: [String: String]
    /// Unregisters on destroy.
    let stock: PrometheusMetricsFactory

    init(registry: PrometheusCollectorRegistry, help: [String: String]) {
        self.registry = registry
        self.help = help
        stock = PrometheusMetricsFactory(registry: registry)
    }

    func text(_ name: String) -> String { help[name] ?? name.replacing("_", with: " ") }

    /// The metric `label` with its help text (the whole name is the label: no unit suffix added).
    func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: text(label))
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        stock.makeTimer(label: label, dimensions: dimensions)
    }

    func destroyCounter(_ handler: any CounterHandler) { stock.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        stock.destroyFloatingPointCounter(handler)
    }
    func destroyRecorder(_ handler: any RecorderHandler) { stock.destroyRecorder(handler) }
    func destroyMeter(_ handler: any MeterHandler) { stock.destroyMeter(handler) }
    func destroyTimer(_ handler: any TimerHandler) { stock.destroyTimer(handler) }
}
