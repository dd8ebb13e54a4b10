#!/bin/sh
# Compaction side by side: Prometheus 2.42 compacting the blocks that benches/compact.rs
# generated and compacted (run it first with FW_COMPACT_KEEP=DIR FW_COMPACT_RSS=<series>).
# Each case directory holds three blocks and a fourth, newer one (Prometheus's planner never
# compacts the newest block); Prometheus is started on a copy with block ranges that make the
# three a planned compaction, and this prints the duration it logs for "compact blocks", its
# peak RSS before (blocks opened, idle) and after compacting (VmHWM: mapped pages included).
# Usage: compact_vs_prometheus.sh DIR
set -eu
keep=${1:?usage: compact_vs_prometheus.sh DIR}
command -v prometheus >/dev/null || { echo "prometheus not installed (apt-get install prometheus)"; exit 1; }
for case in 2h 6h; do
    [ -d "$keep/$case" ] || continue
    case $case in 2h) min=40m ;; *) min=2h ;; esac
    work=$(mktemp -d)
    cp -r "$keep/$case" "$work/data"
    printf 'global: {}\n' >"$work/prometheus.yml"
    prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
        --web.listen-address=127.0.0.1:0 --storage.tsdb.retention.time=100y \
        --storage.tsdb.min-block-duration=$min --storage.tsdb.max-block-duration=6h \
        >"$work/log" 2>&1 &
    pid=$!
    sleep 20
    before=$(awk '/VmHWM/ {print int($2/1024)}' /proc/$pid/status)
    i=0
    while ! grep -q 'msg="compact blocks"' "$work/log"; do
        i=$((i + 1))
        if [ $i -gt 240 ]; then echo "$case: no compaction within 4 minutes"; break; fi
        sleep 1
    done
    sleep 2
    after=$(awk '/VmHWM/ {print int($2/1024)}' /proc/$pid/status)
    kill $pid
    wait $pid 2>/dev/null || true
    line=$(grep 'msg="compact blocks"' "$work/log" | head -1)
    duration=$(echo "$line" | sed -n 's/.*duration=\([^ ]*\).*/\1/p')
    count=$(echo "$line" | sed -n 's/.* count=\([0-9]*\).*/\1/p')
    echo "prometheus compact $case: $count blocks in $duration, peak RSS idle ${before} MiB, after compaction ${after} MiB"
    rm -rf "$work"
done
