/// A request or record that cannot be decoded. Handlers turn it into a closed connection
/// (malformed request) or a Kafka error code (malformed record batch); it never crashes the broker.
public enum ProtocolError: Error, Equatable, CustomStringConvertible {
    /// The buffer ended before `what` was complete.
    case truncated(String)
    /// A value is out of range or inconsistent (negative length, bad varint, bad UTF-8 …).
    case invalid(String)
    /// An API key / version pair Weir has no definition for.
    case unsupportedVersion(apiKey: Int16, version: Int16)

    public var description: String {
        switch self {
        case .truncated(let what): return "truncated: \(what)"
        case .invalid(let what): return "invalid: \(what)"
        case .unsupportedVersion(let key, let version): return "unsupported api key \(key) version \(version)"
        }
    }
}
