/// Why a Produce request's records were refused: the Kafka error code for the partition's
/// response and a message for the broker's log (and the response's errorMessage field).
public struct BatchValidationError: Error, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
