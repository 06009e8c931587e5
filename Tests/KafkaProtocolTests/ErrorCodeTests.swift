import KafkaProtocol
import Testing

@Suite struct ErrorCodeTests {
    /// Interpolating an error code must name it, not recurse (a broker once crashed logging one).
    @Test func interpolationNamesTheCase() {
        #expect("\(ErrorCode.corruptMessage)" == "corruptMessage")
        #expect(ErrorCode.corruptMessage.logDescription == "corruptMessage (2)")
        #expect(String(describing: ErrorCode.unknownServerError) == "unknownServerError")
    }
}
