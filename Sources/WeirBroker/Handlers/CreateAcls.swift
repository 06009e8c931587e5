import KafkaProtocol
import WeirStorage

/// CreateAcls (30): adds ACLs, each checked as Kafka checks it (a concrete resource type, LITERAL
/// or PREFIXED, a concrete operation, ALLOW or DENY, a `Type:name` principal, `kafka-cluster` as
/// the cluster's name). Needs ALTER on the cluster; without an authorizer, SECURITY_DISABLED.
struct CreateAclsHandler: ApiHandler {
    typealias Request = CreateAclsRequest
    let acls: any MetadataStore
    let authorizer: Authorizer
    let io: IOPool
    var versions: ClosedRange<Int16> { 0...3 }

    func handle(_ request: CreateAclsRequest, context: RequestContext) async throws -> CreateAclsResponse? {
        var response = CreateAclsResponse()
        guard authorizer.isEnabled else {
            response.results = request.creations.map { _ in .init(errorCode: ErrorCode.securityDisabled.rawValue, errorMessage: "No Authorizer is configured.") }
            return response
        }
        guard authorizer.authorize(context, .alter, .cluster, AclResource.clusterName) else {
            response.results = request.creations.map { _ in .init(errorCode: ErrorCode.clusterAuthorizationFailed.rawValue, errorMessage: nil) }
            return response
        }
        var results: [CreateAclsResponse.AclCreationResult] = []
        var valid: [AclBinding] = []
        for c in request.creations {
            switch AclResource.binding(c) {
            case .success(let binding):
                valid.append(binding)
                results.append(.init(errorCode: 0, errorMessage: nil))
            case .failure(let problem):
                results.append(.init(errorCode: ErrorCode.invalidRequest.rawValue, errorMessage: problem.message))
            }
        }
        if !valid.isEmpty {
            let (acls, bindings) = (self.acls, valid)
            try await io.run { try acls.createAcls(bindings) }
        }
        response.results = results
        return response
    }
}

/// Shared checks and conversions of the ACL handlers.
enum AclResource {
    static let clusterName = "kafka-cluster"

    struct Problem: Error {
        var message: String
    }

    static func binding(_ c: CreateAclsRequest.AclCreation) -> Result<AclBinding, Problem> {
        guard let type = AclResourceType(rawValue: c.resourceType), ![.any, .unknown].contains(type) else {
            return .failure(Problem(message: "Invalid resource type \(c.resourceType)"))
        }
        guard let pattern = AclPatternType(rawValue: c.resourcePatternType), pattern == .literal || pattern == .prefixed else {
            return .failure(Problem(message: "Invalid resource pattern type \(c.resourcePatternType): LITERAL or PREFIXED"))
        }
        guard let operation = AclOperation(rawValue: c.operation), ![.any, .unknown].contains(operation) else {
            return .failure(Problem(message: "Invalid operation \(c.operation)"))
        }
        guard let permission = AclPermission(rawValue: c.permissionType), permission == .allow || permission == .deny else {
            return .failure(Problem(message: "Invalid permission type \(c.permissionType)"))
        }
        guard !c.resourceName.isEmpty else { return .failure(Problem(message: "Resource name must not be empty")) }
        guard KafkaPrincipal(parsing: c.principal) != nil else {
            return .failure(Problem(message: "Could not parse principal from `\(c.principal)` (no colon is present separating the principal type from the principal name)"))
        }
        guard !c.host.isEmpty else { return .failure(Problem(message: "Host must not be empty (use * for any host)")) }
        if type == .cluster, c.resourceName != clusterName || pattern != .literal {
            return .failure(Problem(message: "The only valid name for the CLUSTER resource is \(clusterName)"))
        }
        for field in [c.resourceName, c.principal, c.host] where field.contains("\u{0}") {
            return .failure(Problem(message: "ACL fields must not contain NUL characters"))
        }
        return .success(AclBinding(resourceType: type, resourceName: c.resourceName, patternType: pattern,
                                   principal: c.principal, host: c.host, operation: operation, permission: permission))
    }

    /// A DescribeAcls/DeleteAcls filter; nil when one of its codes is not a filter value.
    static func filter(resourceType: Int8, resourceName: String?, patternType: Int8, principal: String?, host: String?,
                       operation: Int8, permission: Int8) -> AclBindingFilter? {
        guard let type = AclResourceType(rawValue: resourceType), type != .unknown,
              let pattern = AclPatternType(rawValue: patternType), pattern != .unknown,
              let op = AclOperation(rawValue: operation), op != .unknown,
              let perm = AclPermission(rawValue: permission), perm != .unknown
        else { return nil }
        return AclBindingFilter(resourceType: type, resourceName: resourceName, patternType: pattern, principal: principal,
                                host: host, operation: op, permission: perm)
    }
}
