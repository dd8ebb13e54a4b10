#!/usr/bin/env python3
"""Soak run of Firewatch (issue 16, item 5), driven by scripts/soak.

Starts, on 127.0.0.1 only: synthetic exporters (TARGETS ports, SERIES series in all, a share
of them renamed every CHURN_EVERY seconds), a webhook sink, `firewatch alertmanager` and
`firewatch server` (scraping the exporters, rules every 15 s, alerts to the Alertmanager).
Then, for DURATION seconds: a configuration reload every minute, a steady query load (2
queries a second), RSS sampled every 10 s. At the end it checks and prints:

- memory: RSS per head series, the median of the last fifth of the run against that of the
  first fifth after the warm-up (a quarter of the run; churn adds head series until the head
  is compacted), and RSS itself; every sample in $OUT/rss.tsv;
- errors: every ERROR line of the server's and the Alertmanager's logs (none expected);
- samples: per target, `up` samples stored against the scrapes the exporter answered;
- queries: failed queries (none expected);
- notifications: per alert group, none missing (a gap over repeat_interval plus slack) and none
  duplicated (two within group_interval).

Exits 1 when a check fails. Everything it starts is stopped at the end.
"""

import http.server
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

BIN = os.environ["FIREWATCH_BIN"]
DURATION = int(os.environ.get("DURATION", "3600"))
SERIES = int(os.environ.get("SERIES", "200000"))
TARGETS = int(os.environ.get("TARGETS", "20"))
SCRAPE = int(os.environ.get("SCRAPE", "15"))
CHURN_EVERY = int(os.environ.get("CHURN_EVERY", "300"))
CHURN_SHARE = float(os.environ.get("CHURN_SHARE", "0.1"))
OUT = os.environ.get("OUT", "/tmp/firewatch-soak")
GROUP_INTERVAL, REPEAT_INTERVAL = 30, 60

lock = threading.Lock()
scrapes = {}  # target -> scrapes answered
notifications = {}  # group key -> [arrival times]
stop = threading.Event()


def free_port():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Exporter(http.server.BaseHTTPRequestHandler):
    """One target: SERIES/TARGETS gauges, a generation label that churns."""

    target = 0
    started = time.time()

    def log_message(self, *a):
        pass

    def do_GET(self):
        n = SERIES // TARGETS
        gen = int((time.time() - self.started) // CHURN_EVERY)
        churned = int(n * CHURN_SHARE)
        with lock:
            count = scrapes.get(self.target, 0) + 1
        lines = ["# TYPE soak_value gauge"]
        for i in range(n):
            g = gen if i < churned else 0
            lines.append(f'soak_value{{series="{i}",gen="{g}"}} {count + i}')
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with lock:
            scrapes[self.target] = count


class Sink(http.server.BaseHTTPRequestHandler):
    """The Alertmanager's webhook receiver: records each notification by group key."""

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        key = json.loads(body).get("groupKey", "?")
        with lock:
            notifications.setdefault(key, []).append(time.time())
        self.send_response(200)
        self.end_headers()


def serve(handler, port):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def get(port, path, timeout=30):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.read()


def query(port, q, t=None):
    path = "/api/v1/query?query=" + urllib.parse.quote(q)
    if t is not None:
        path += f"&time={t}"
    return json.loads(get(port, path))["data"]["result"]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_ready(port, proc, name):
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited with {proc.returncode}")
        try:
            get(port, "/-/ready", timeout=2)
            return
        except Exception:
            time.sleep(0.5)
    sys.exit(f"{name} not ready in 120 s")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    ports = [free_port() for _ in range(TARGETS)]
    for t, p in enumerate(ports):
        serve(type(f"Exporter{t}", (Exporter,), {"target": t}), p)
    sink = free_port()
    serve(Sink, sink)
    am_port, fw_port = free_port(), free_port()
    with open(f"{OUT}/alertmanager.yml", "w") as f:
        f.write(
            f"route:\n  receiver: sink\n  group_by: [alertname, target]\n  group_wait: 5s\n"
            f"  group_interval: {GROUP_INTERVAL}s\n  repeat_interval: {REPEAT_INTERVAL}s\n"
            f"receivers:\n- name: sink\n  webhook_configs:\n  - url: http://127.0.0.1:{sink}/\n"
        )
    with open(f"{OUT}/rules.yml", "w") as f:
        f.write(
            "groups:\n- name: soak\n  interval: 15s\n  rules:\n"
            "  - record: target:soak_value:count\n    expr: count by (instance) (soak_value)\n"
            "  - record: target:soak_value:sum_rate\n    expr: sum by (instance) (rate(soak_value[1m]))\n"
            "  - alert: SoakTargetUp\n    expr: up{job=\"soak\"} == 1\n"
            "    labels:\n      target: '{{ $labels.instance }}'\n"
        )

    def config(gen):
        targets = ", ".join(f"'127.0.0.1:{p}'" for p in ports)
        return (
            f"global:\n  scrape_interval: {SCRAPE}s\n  scrape_timeout: {min(SCRAPE, 10)}s\n"
            f"  evaluation_interval: 15s\n  external_labels:\n    reload: '{gen}'\n"
            f"rule_files: [rules.yml]\n"
            f"alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['127.0.0.1:{am_port}']\n"
            f"scrape_configs:\n- job_name: soak\n  static_configs:\n  - targets: [{targets}]\n"
        )

    with open(f"{OUT}/prometheus.yml", "w") as f:
        f.write(config(0))
    am = subprocess.Popen(
        [BIN, "alertmanager", f"--config.file={OUT}/alertmanager.yml",
         f"--storage.path={OUT}/am", f"--web.listen-address=127.0.0.1:{am_port}",
         "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=open(f"{OUT}/alertmanager.log", "w"))
    fw = subprocess.Popen(
        [BIN, "server", f"--config.file={OUT}/prometheus.yml",
         f"--storage.tsdb.path={OUT}/data", f"--web.listen-address=127.0.0.1:{fw_port}",
         "--web.enable-lifecycle"],
        stdout=subprocess.DEVNULL, stderr=open(f"{OUT}/server.log", "w"))
    failures = []
    try:
        wait_ready(am_port, am, "alertmanager")
        wait_ready(fw_port, fw, "firewatch server")
        print(f"soak: {SERIES} series on {TARGETS} targets, scrape {SCRAPE}s, "
              f"churn {CHURN_SHARE:.0%} every {CHURN_EVERY}s, {DURATION}s; output in {OUT}",
              flush=True)
        query_errors = [0, 0]

        def query_load():
            qs = ["sum(target:soak_value:count)", "topk(5, target:soak_value:sum_rate)",
                  "count(soak_value)", "sum by (instance) (rate(soak_value[5m]))"]
            i = 0
            while not stop.is_set():
                q = qs[i % len(qs)]
                i += 1
                try:
                    if i % 2:
                        query(fw_port, q)
                    else:
                        end = time.time()
                        get(fw_port, "/api/v1/query_range?query=" + urllib.parse.quote(q)
                            + f"&start={end - 900}&end={end}&step=15")
                    query_errors[0] += 1
                except Exception as e:
                    query_errors[1] += 1
                    print(f"query failed: {q}: {e}", flush=True)
                stop.wait(0.5)

        threading.Thread(target=query_load, daemon=True).start()
        rss = []
        start = time.time()
        next_reload = start + 60
        gen = 0
        while time.time() - start < DURATION:
            if fw.poll() is not None:
                failures.append(f"firewatch server exited with {fw.returncode}")
                break
            try:
                head = json.loads(get(fw_port, "/api/v1/status/tsdb"))["data"]["headStats"]["numSeries"]
            except Exception:
                head = 0
            rss.append((time.time() - start, rss_kib(fw.pid), head))
            if time.time() >= next_reload:
                gen += 1
                with open(f"{OUT}/prometheus.yml", "w") as f:
                    f.write(config(gen))
                req = urllib.request.Request(f"http://127.0.0.1:{fw_port}/-/reload", method="POST")
                try:
                    urllib.request.urlopen(req, timeout=60).read()
                except Exception as e:
                    failures.append(f"reload {gen} failed: {e}")
                next_reload += 60
            time.sleep(10)
        stop.set()
        elapsed = time.time() - start
        # Let the last scrapes land before counting.
        time.sleep(SCRAPE + 2)
        with lock:
            answered = dict(scrapes)
        at = time.time()
        stored = {}
        for s in query(fw_port, f'count_over_time(up{{job="soak"}}[{int(at - start) + 600}s])', at):
            port = int(s["metric"]["instance"].rsplit(":", 1)[1])
            stored[ports.index(port)] = int(float(s["value"][1]))
        lost = {t: (answered.get(t, 0), stored.get(t, 0)) for t in range(TARGETS)
                if stored.get(t, 0) + 1 < answered.get(t, 0)}
        series_now = json.loads(get(fw_port, "/api/v1/status/tsdb"))["data"]["headStats"]["numSeries"]
        # Churn adds head series until the head is compacted: memory is compared per head
        # series as well as in total. Queries and scrapes make RSS swing by a few times between
        # samples, so the first and the last fifth of the run after the warm-up (a quarter) are
        # each summed up by their medians.
        with open(f"{OUT}/rss.tsv", "w") as f:
            f.write("seconds\trss_kib\thead_series\n")
            f.writelines(f"{t:.0f}\t{k}\t{h}\n" for t, k, h in rss)
        warm = [(t, k, h) for (t, k, h) in rss if t >= elapsed / 4 and h > 0]
        span = (elapsed - elapsed / 4) / 5

        def medians(window):
            if not window:
                return 0, 1
            return (statistics.median(k for _, k, _ in window),
                    statistics.median(h for _, _, h in window))

        rss_warm, head_warm = medians([w for w in warm if w[0] < elapsed / 4 + span])
        rss_end, head_end = medians([w for w in warm if w[0] >= elapsed - span])
        rss_warm, rss_end = int(rss_warm), int(rss_end)
        per_warm, per_end = rss_warm * 1024 / head_warm, rss_end * 1024 / head_end
        errors = []
        for name in ("server.log", "alertmanager.log"):
            with open(f"{OUT}/{name}") as f:
                errors += [f"{name}: {l.rstrip()}" for l in f if re.search(r"\bERROR\b", l)]
        with lock:
            notes = {k: list(v) for k, v in notifications.items()}
        dups, gaps = [], []
        for k, ts in notes.items():
            for a, b in zip(ts, ts[1:]):
                if b - a < GROUP_INTERVAL * 0.8:
                    dups.append((k, round(b - a, 1)))
                if b - a > REPEAT_INTERVAL + GROUP_INTERVAL + 20:
                    gaps.append((k, round(b - a, 1)))
        expected_groups = TARGETS if elapsed > 60 else 0
        report = {
            "duration_s": round(elapsed),
            "head_series": series_now,
            "scrapes_answered": sum(answered.values()),
            "up_samples_stored": sum(stored.values()),
            "targets_with_lost_samples": lost,
            "rss_mib_after_warmup_median": rss_warm // 1024,
            "rss_mib_end_median": rss_end // 1024,
            "rss_mib_max": max((k for _, k, _ in rss), default=0) // 1024,
            "rss_bytes_per_head_series_after_warmup": round(per_warm),
            "rss_bytes_per_head_series_end": round(per_end),
            "queries_ok": query_errors[0],
            "queries_failed": query_errors[1],
            "error_log_lines": len(errors),
            "reloads": gen,
            "notification_groups": len(notes),
            "notifications": sum(len(v) for v in notes.values()),
            "duplicated_notifications": dups[:10],
            "late_notifications": gaps[:10],
        }
        print(json.dumps(report, indent=1))
        with open(f"{OUT}/report.json", "w") as f:
            json.dump(report, f, indent=1)
        if lost:
            failures.append(f"samples lost on {len(lost)} targets: {lost}")
        if rss_warm and per_end > per_warm * 1.25:
            failures.append(f"memory per head series grew after warm-up: {per_warm:.0f} -> {per_end:.0f} bytes "
                            f"({rss_warm // 1024} -> {rss_end // 1024} MiB, {head_warm} -> {head_end} series)")
        if errors:
            failures.append(f"{len(errors)} ERROR log lines, first: {errors[:3]}")
        if query_errors[1]:
            failures.append(f"{query_errors[1]} queries failed")
        if dups or gaps:
            failures.append(f"notifications duplicated {dups[:3]} or late {gaps[:3]}")
        if len(notes) < expected_groups:
            failures.append(f"notifications for {len(notes)} of {expected_groups} alert groups")
    finally:
        stop.set()
        for p in (fw, am):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
    for f in failures:
        print(f"FAIL: {f}")
    print("soak: " + ("FAILED" if failures else "passed"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    # A SIGTERM (an interrupted run) unwinds through main's `finally`, which stops the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
