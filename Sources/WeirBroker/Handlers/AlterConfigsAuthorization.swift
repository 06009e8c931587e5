import KafkaProtocol
import WeirStorage

/// The check AlterConfigs and IncrementalAlterConfigs share: AlterConfigs on the topic, or on
/// the cluster for broker resources.
enum AlterConfigsAuthorization {
    static func denied(_ authorizer: Authorizer, _ context: RequestContext, _ resourceType: Int8, _ name: String) -> ErrorCode? {
        switch resourceType {
        case DescribeConfigsHandler.topicResource:
            return authorizer.authorize(context, .alterConfigs, .topic, name) ? nil : .topicAuthorizationFailed
        case DescribeConfigsHandler.brokerResource:
            return authorizer.authorize(context, .alterConfigs, .cluster, AclResource.clusterName) ? nil : .clusterAuthorizationFailed
        default:
            return nil
        }
    }
}
