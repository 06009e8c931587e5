import KafkaProtocol
import WeirStorage

/// ApiVersions (18): the table of what this broker implements, built from the handler registry.
struct ApiVersionsHandler: ApiHandler {
    typealias Request = ApiVersionsRequest
    let advertised: [(apiKey: Int16, min: Int16, max: Int16)]
    var versions: ClosedRange<Int16> { 0...3 }

    func handleImmediately(_ request: ApiVersionsRequest, context: RequestContext) -> Immediate<ApiVersionsResponse> {
        .now(response())
    }

    func handle(_ request: ApiVersionsRequest, context: RequestContext) async throws -> ApiVersionsResponse? {
        response()
    }

    private func response() -> ApiVersionsResponse {
        var response = ApiVersionsResponse()
        response.apiKeys = advertised.sorted { $0.apiKey < $1.apiKey }.map {
            ApiVersionsResponse.ApiVersion(apiKey: $0.apiKey, minVersion: $0.min, maxVersion: $0.max)
        }
        return response
    }
}
