import KafkaProtocol
import WeirStorage

/// DeleteAcls (31): removes every ACL each filter matches and lists them. Needs ALTER on the
/// cluster; without an authorizer, SECURITY_DISABLED. Takes effect at once: the authorizer's
/// cached decisions are keyed by the store's ACL version.
struct DeleteAclsHandler: ApiHandler {
    typealias Request = DeleteAclsRequest
    let acls: any MetadataStore
    let authorizer: Authorizer
    let io: IOPool
    var versions: ClosedRange<Int16> { 0...3 }

    func handle(_ request: DeleteAclsRequest, context: RequestContext) async throws -> DeleteAclsResponse? {
        var response = DeleteAclsResponse()
        guard authorizer.isEnabled else {
            response.filterResults = request.filters.map { _ in
                .init(errorCode: ErrorCode.securityDisabled.rawValue, errorMessage: "No Authorizer is configured.", matchingAcls: [])
            }
            return response
        }
        guard authorizer.authorize(context, .alter, .cluster, AclResource.clusterName) else {
            response.filterResults = request.filters.map { _ in
                .init(errorCode: ErrorCode.clusterAuthorizationFailed.rawValue, errorMessage: nil, matchingAcls: [])
            }
            return response
        }
        let all = acls.acls()
        var doomed = Set<AclBinding>()
        for f in request.filters {
            guard let filter = AclResource.filter(resourceType: f.resourceTypeFilter, resourceName: f.resourceNameFilter,
                                                  patternType: f.patternTypeFilter, principal: f.principalFilter,
                                                  host: f.hostFilter, operation: f.operation, permission: f.permissionType) else {
                response.filterResults.append(.init(errorCode: ErrorCode.invalidRequest.rawValue, errorMessage: "Invalid ACL filter", matchingAcls: []))
                continue
            }
            let matched = all.filter { filter.matches($0) }
            doomed.formUnion(matched)
            response.filterResults.append(.init(errorCode: 0, errorMessage: nil, matchingAcls: matched.map {
                .init(errorCode: 0, errorMessage: nil, resourceType: $0.resourceType.rawValue, resourceName: $0.resourceName,
                      patternType: $0.patternType.rawValue, principal: $0.principal, host: $0.host,
                      operation: $0.operation.rawValue, permissionType: $0.permission.rawValue)
            }))
        }
        if !doomed.isEmpty {
            let (acls, list) = (self.acls, Array(doomed))
            try await io.run { try acls.deleteAcls(list) }
        }
        return response
    }
}
