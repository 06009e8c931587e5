import Foundation

/// `meta.properties` in the data directory, as Kafka writes it in each log directory:
///
///     cluster.id=<the cluster's id>
///     node.id=<this broker's node id>
///
/// Written at a broker's first join; afterwards it must match, so a data directory is never
/// served into another cluster, or under another node id. A directory that has topics but no
/// `meta.properties` holds a single broker's data: a cluster member refuses it (its topics are
/// not the cluster's, and the broker would delete them to match the cluster).
enum MetaProperties {
    static func check(directory: String, clusterId: String, nodeId: Int32, hasTopics: Bool) throws {
        let path = directory + "/meta.properties"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            var values: [String: String] = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
            }
            if let stored = values["cluster.id"], stored != clusterId {
                throw EtcdCluster.JoinRefused(description: "the data directory \(directory) belongs to cluster \(stored), not \(clusterId) (meta.properties)")
            }
            if let stored = values["node.id"], stored != "\(nodeId)" {
                throw EtcdCluster.JoinRefused(description: "the data directory \(directory) belongs to node.id \(stored), not \(nodeId) (meta.properties)")
            }
            return
        }
        if hasTopics {
            throw EtcdCluster.JoinRefused(description: "the data directory \(directory) holds a single broker's topics; a cluster member starts from an empty directory (or one of this cluster's)")
        }
        let text = "# Written by Weir when this broker first joined its cluster.\ncluster.id=\(clusterId)\nnode.id=\(nodeId)\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
