import KafkaProtocol
import WeirStorage

// ListGroups, DescribeGroups and DeleteGroups.
extension GroupCoordinator {
    /// ListGroups: every group, sorted by id, optionally only those in the named states
    /// (Kafka's state names, compared case-insensitively as the admin client does).
    public func listGroups(statesFilter: [String] = []) -> [GroupListing] {
        guard !isShutDown else { return [] }
        let wanted = Set(statesFilter.map { $0.lowercased() })
        return groups.values
            .filter { wanted.isEmpty || wanted.contains($0.state.kafkaName.lowercased()) }
            .map(\.listing)
            .sorted { $0.groupId < $1.groupId }
    }

    /// DescribeGroups, in request order. An unknown group is described as Dead with no error
    /// (what DescribeGroups v0-5 clients expect).
    public func describeGroups(_ groupIds: [String]) -> [GroupDescription] {
        groupIds.map { id in
            if isShutDown {
                return GroupDescription(groupId: id, error: .coordinatorNotAvailable, state: "", protocolType: "",
                                        protocolName: "", members: [])
            }
            return groups[id]?.groupDescription
                ?? GroupDescription(groupId: id, error: .none, state: ConsumerGroup.State.dead.kafkaName,
                                    protocolType: "", protocolName: "", members: [])
        }
    }

    /// DeleteGroups: removes each Empty group and its committed offsets. A group with members
    /// gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.
    public func deleteGroups(_ groupIds: [String]) -> [String: ErrorCode] {
        var results: [String: ErrorCode] = [:]
        for id in groupIds where results[id] == nil {
            guard !isShutDown else {
                results[id] = .coordinatorNotAvailable
                continue
            }
            guard var group = groups.removeValue(forKey: id) else {
                results[id] = .groupIdNotFound
                continue
            }
            let code = group.deleteRequested()
            guard code == .none else {
                groups[id] = group
                results[id] = code
                continue
            }
            disarm(id)
            logger.info("group \(id): deleted")
            do {
                try offsets.deleteGroup(id)
                results[id] = ErrorCode.none
            } catch {
                logger.error("cannot delete the committed offsets of group \(id): \(error)")
                results[id] = .unknownServerError
            }
        }
        return results
    }
}
