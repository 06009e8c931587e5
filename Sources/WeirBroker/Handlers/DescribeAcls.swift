import KafkaProtocol
import WeirStorage

/// DescribeAcls (29): the ACLs a filter matches, grouped by resource pattern. Needs DESCRIBE on
/// the cluster; without an authorizer, SECURITY_DISABLED.
struct DescribeAclsHandler: ApiHandler {
    typealias Request = DescribeAclsRequest
    let acls: any MetadataStore
    let authorizer: Authorizer
    var versions: ClosedRange<Int16> { 0...3 }

    func handleImmediately(_ request: DescribeAclsRequest, context: RequestContext) -> Immediate<DescribeAclsResponse> {
        .now(describe(request, context: context))
    }

    func handle(_ request: DescribeAclsRequest, context: RequestContext) async throws -> DescribeAclsResponse? {
        describe(request, context: context)
    }

    private func describe(_ request: DescribeAclsRequest, context: RequestContext) -> DescribeAclsResponse {
        var response = DescribeAclsResponse()
        guard authorizer.isEnabled else {
            response.errorCode = ErrorCode.securityDisabled.rawValue
            response.errorMessage = "No Authorizer is configured."
            return response
        }
        guard authorizer.authorize(context, .describe, .cluster, AclResource.clusterName) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            return response
        }
        guard let filter = AclResource.filter(resourceType: request.resourceTypeFilter, resourceName: request.resourceNameFilter,
                                              patternType: request.patternTypeFilter, principal: request.principalFilter,
                                              host: request.hostFilter, operation: request.operation,
                                              permission: request.permissionType) else {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            response.errorMessage = "Invalid ACL filter"
            return response
        }
        let matched = acls.acls().filter { filter.matches($0) }
        let grouped = Dictionary(grouping: matched) { ResourceKey(type: $0.resourceType, name: $0.resourceName, pattern: $0.patternType) }
        response.resources = grouped.keys.sorted().map { key in
            .init(resourceType: key.type.rawValue, resourceName: key.name, patternType: key.pattern.rawValue,
                  acls: grouped[key]!.sorted { ($0.principal, $0.host, $0.operation.rawValue, $0.permission.rawValue)
                      < ($1.principal, $1.host, $1.operation.rawValue, $1.permission.rawValue) }.map {
                    .init(principal: $0.principal, host: $0.host, operation: $0.operation.rawValue, permissionType: $0.permission.rawValue)
                  })
        }
        return response
    }
}

struct ResourceKey: Hashable, Comparable {
    var type: AclResourceType
    var name: String
    var pattern: AclPatternType

    static func < (a: ResourceKey, b: ResourceKey) -> Bool {
        (a.type.rawValue, a.name, a.pattern.rawValue) < (b.type.rawValue, b.name, b.pattern.rawValue)
    }
}
