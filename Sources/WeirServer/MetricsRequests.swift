import CoreMetrics
import KafkaProtocol
import WeirBroker

/// Per-API request metrics, fed by the dispatcher through `RequestObserver`:
///
///     weir_request_duration_seconds{api="Produce"}   histogram (its _count is the request count)
///     weir_request_bytes_total{api="Produce"}         counter, request frames on the wire
///     weir_response_bytes_total{api="Produce"}        counter, response frames on the wire
///
/// Cheap on the request path: one Timer and two Counters per API are made up front, for every
/// API the broker registers, and kept in a table indexed by API key, so a request costs an array
/// lookup, two atomic adds and a histogram record — no label dictionary, no lock of ours.
public final class RequestMetrics: RequestObserver {
    struct PerAPI: Sendable {
        let duration: CoreMetrics.Timer
        let requestBytes: Counter
        let responseBytes: Counter
    }

    /// Indexed by API key; nil for keys the broker does not serve.
    private let table: [PerAPI?]

    /// Histogram buckets for `weir_request_duration_seconds`: a Produce answered inline takes
    /// tens of microseconds, a Fetch long-poll up to its max.wait.ms.
    static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// - Parameter apiKeys: the APIs to count (`HandlerRegistry.advertised`); others are ignored.
    init(apiKeys: [Int16], factory: any MetricsFactory) {
        var table = [PerAPI?](repeating: nil, count: Int(apiKeys.max() ?? -1) + 1)
        for key in apiKeys where key >= 0 {
            let dimensions = [("api", ApiKey(rawValue: key)?.name ?? "\(key)")]
            table[Int(key)] = PerAPI(
                duration: CoreMetrics.Timer(label: "weir_request_duration_seconds", dimensions: dimensions, factory: factory),
                requestBytes: Counter(label: "weir_request_bytes_total", dimensions: dimensions, factory: factory),
                responseBytes: Counter(label: "weir_response_bytes_total", dimensions: dimensions, factory: factory))
        }
        self.table = table
    }

    public func requestCompleted(apiKey: Int16, durationNanos: Int64, requestBytes: Int, responseBytes: Int) {
        guard apiKey >= 0, Int(apiKey) < table.count, let metrics = table[Int(apiKey)] else { return }
        metrics.duration.recordNanoseconds(durationNanos)
        metrics.requestBytes.increment(by: requestBytes)
        if responseBytes > 0 { metrics.responseBytes.increment(by: responseBytes) }
    }
}
