#!/usr/bin/env bash
# `make run-cluster`: etcd and three Weir brokers on this machine — brokers on
# 127.0.0.1:9092-9094 (node.id 1-3), etcd on 127.0.0.1:2379, data under ./data/cluster/,
# every line prefixed by its process. Ctrl-C stops them all.
#
#   make run-cluster
#   .build/release/weir topics --bootstrap-server 127.0.0.1:9092 --create --topic t --partitions 6
#   .build/release/weir topics --bootstrap-server 127.0.0.1:9092 --describe --topic t
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/cluster}
WEIR=${WEIR:-.build/release/weir}
ETCD_PORT=${ETCD_PORT:-2379}
mkdir -p "$DATA"

pids=()
stop() {
  trap - INT TERM EXIT
  echo "[run-cluster] stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# etcd keeps one hour of history (auto-compaction), enough for any broker's watch to resume.
etcd --name weir-etcd --data-dir "$DATA/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster "weir-etcd=http://127.0.0.1:$((ETCD_PORT + 1))" \
  --auto-compaction-mode periodic --auto-compaction-retention 1h \
  2>&1 | sed -u 's/^/[etcd] /' &
pids+=($!)
for _ in $(seq 50); do
  ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ETCD_PORT" endpoint health >/dev/null 2>&1 && break
  sleep 0.2
done

for node in 1 2 3; do
  port=$((9091 + node))
  mkdir -p "$DATA/node$node"
  "$WEIR" broker config/server.properties \
    --override "node.id=$node" \
    --override "listeners=PLAINTEXT://127.0.0.1:$port" \
    --override "log.dirs=$DATA/node$node" \
    --override "etcd.connect=127.0.0.1:$ETCD_PORT/weir" \
    --override "admin.listener=127.0.0.1:$((9643 + node))" \
    2>&1 | sed -u "s/^/[node$node] /" &
  pids+=($!)
done
echo "[run-cluster] brokers on 127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094; etcd on 127.0.0.1:$ETCD_PORT; Ctrl-C stops all"
wait
