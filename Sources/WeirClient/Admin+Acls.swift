import KafkaProtocol

/// An ACL (or an ACL filter) with Kafka's wire codes, for CreateAcls, DescribeAcls and DeleteAcls.
public struct AclEntry: Sendable, Equatable, Hashable {
    public var resourceType: Int8
    public var resourceName: String?
    public var patternType: Int8
    public var principal: String?
    public var host: String?
    public var operation: Int8
    public var permission: Int8

    public init(resourceType: Int8, resourceName: String?, patternType: Int8, principal: String?, host: String?,
                operation: Int8, permission: Int8) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }
}

/// ACL administration, as kafka-acls.sh does it.
extension Admin {
    public func createAcls(_ acls: [AclEntry]) async throws {
        var request = CreateAclsRequest()
        request.creations = acls.map {
            .init(resourceType: $0.resourceType, resourceName: $0.resourceName ?? "", resourcePatternType: $0.patternType,
                  principal: $0.principal ?? "", host: $0.host ?? "*", operation: $0.operation, permissionType: $0.permission)
        }
        let response = try await call(request)
        for r in response.results {
            try KafkaError.check(r.errorCode, message: r.errorMessage, context: "creating ACLs")
        }
    }

    /// The ACLs `filter` matches.
    public func describeAcls(_ filter: AclEntry) async throws -> [AclEntry] {
        var request = DescribeAclsRequest()
        request.resourceTypeFilter = filter.resourceType
        request.resourceNameFilter = filter.resourceName
        request.patternTypeFilter = filter.patternType
        request.principalFilter = filter.principal
        request.hostFilter = filter.host
        request.operation = filter.operation
        request.permissionType = filter.permission
        let response = try await call(request)
        try KafkaError.check(response.errorCode, message: response.errorMessage, context: "describing ACLs")
        return response.resources.flatMap { r in
            r.acls.map {
                AclEntry(resourceType: r.resourceType, resourceName: r.resourceName, patternType: r.patternType,
                         principal: $0.principal, host: $0.host, operation: $0.operation, permission: $0.permissionType)
            }
        }
    }

    /// Deletes what each filter matches; returns the deleted ACLs.
    @discardableResult
    public func deleteAcls(_ filters: [AclEntry]) async throws -> [AclEntry] {
        var request = DeleteAclsRequest()
        request.filters = filters.map {
            .init(resourceTypeFilter: $0.resourceType, resourceNameFilter: $0.resourceName, patternTypeFilter: $0.patternType,
                  principalFilter: $0.principal, hostFilter: $0.host, operation: $0.operation, permissionType: $0.permission)
        }
        let response = try await call(request)
        var deleted: [AclEntry] = []
        for r in response.filterResults {
            try KafkaError.check(r.errorCode, message: r.errorMessage, context: "deleting ACLs")
            deleted += r.matchingAcls.map {
                AclEntry(resourceType: $0.resourceType, resourceName: $0.resourceName, patternType: $0.patternType,
                         principal: $0.principal, host: $0.host, operation: $0.operation, permission: $0.permissionType)
            }
        }
        return deleted
    }
}
