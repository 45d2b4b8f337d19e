#!/usr/bin/env python3
"""Writes Vetline's Grafana dashboards (deploy/grafana/*.json): an overview and one per
service. Edit this file, run it, and commit its output with it:

    python3 deploy/grafana/generate_dashboards.py

`--check PROMTOOL` (the ctest `grafana_dashboards`) writes nothing: it fails when a
committed dashboard differs from what this file generates, or when promtool does not
parse one of the dashboards' PromQL expressions.
Every panel queries only series the services export (or the recording rules of
deploy/prometheus/vetline-rules.yml); the ctest `observability: every metric the
dashboards and rules name is exported by a running stack` scrapes a running stack and
fails on a name nobody exports.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BOARDS = {}  # file name -> dashboard JSON text
DS = {"type": "prometheus", "uid": "${datasource}"}

# Which shared parts each service has (services/*/..._component.cc): an outbox it relays
# and serves as a feed, and the other services' outboxes it follows (consumer label
# "<service>.<source>").
SERVICES = {
    "identity": {"title": "Identity", "outbox": False, "consumes": []},
    "clients": {"title": "Clients", "outbox": True, "consumes": ["conversations"]},
    "pims_sync": {"title": "PIMS sync", "outbox": False, "consumes": ["booking", "conversations"]},
    "media": {"title": "Media", "outbox": True, "consumes": []},
    "conversations": {"title": "Conversations", "outbox": True,
                      "consumes": ["clients", "media", "booking", "payments"]},
    "booking": {"title": "Booking", "outbox": True, "consumes": []},
    "payments": {"title": "Payments", "outbox": True, "consumes": []},
}


class Board:
    def __init__(self, uid, title, description):
        self.uid, self.title, self.description = uid, title, description
        self.panels = []
        self.y = 0
        self.x = 0
        self.next_id = 1

    def row(self, title):
        self._newline()
        self.panels.append({"type": "row", "title": title, "id": self._id(), "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1

    def panel(self, title, targets, unit="short", kind="timeseries", width=8, description="",
              max_value=None):
        if self.x + width > 24:
            self._newline()
        p = {
            "type": kind,
            "title": title,
            "id": self._id(),
            "datasource": DS,
            "gridPos": {"h": 8, "w": width, "x": self.x, "y": self.y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}} if kind == "timeseries" else {},
            "targets": [{"datasource": DS, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
                        for i, (expr, legend) in enumerate(targets)],
        }
        if description:
            p["description"] = description
        if max_value is not None:
            p["fieldConfig"]["defaults"]["max"] = max_value
        self.panels.append(p)
        self.x += width

    def _newline(self):
        if self.x:
            self.y += 8
            self.x = 0

    def _id(self):
        self.next_id += 1
        return self.next_id - 1

    def write(self):
        board = {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["vetline"],
            "timezone": "browser",
            "schemaVersion": 38,
            "version": 1,
            "editable": True,
            "refresh": "30s",
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": [{
                "name": "datasource", "label": "Prometheus", "type": "datasource",
                "query": "prometheus", "current": {}, "hide": 0,
            }]},
            "links": [{"title": "Vetline", "type": "dashboards", "tags": ["vetline"], "asDropdown": True}],
            "annotations": {"list": []},
            "panels": self.panels,
        }
        BOARDS[self.uid + ".json"] = json.dumps(board, indent=2) + "\n"


def rpc_panels(b, svc):
    sel = 'service="%s"' % svc
    b.row("RPCs")
    b.panel("Requests per second by method",
            [('sum by (method) (rate(vetline_rpc_server_handled_total{%s}[5m]))' % sel, "{{method}}")], "reqps")
    b.panel("Server errors (share of calls)",
            [('vetline:rpc_errors:ratio_rate5m{%s}' % sel, "{{method}}")], "percentunit",
            description="INTERNAL, UNKNOWN, DATA_LOSS, UNAVAILABLE and DEADLINE_EXCEEDED answers; "
                        "alert VetlineRpcErrors above 2%.")
    b.panel("p99 latency by method",
            [('vetline:rpc_latency_seconds:p99_5m{%s}' % sel, "{{method}}")], "s",
            description="Alert VetlineRpcSlow above 0.5 s for 15 minutes.")
    b.panel("Answers by status code",
            [('sum by (code) (rate(vetline_rpc_server_handled_total{%s}[5m]))' % sel, "{{code}}")], "reqps")
    b.panel("p50 latency by method",
            [('histogram_quantile(0.5, sum by (method, le) (rate(vetline_rpc_server_handling_seconds_bucket{%s}[5m])))'
              % sel, "{{method}}")], "s")
    b.panel("Mean latency",
            [('sum(rate(vetline_rpc_server_handling_seconds_sum{%s}[5m])) / '
              'sum(rate(vetline_rpc_server_handling_seconds_count{%s}[5m]))' % (sel, sel), "mean")], "s")


def pool_panels(b, svc):
    sel = 'pool="%s"' % svc
    b.row("PostgreSQL pool")
    b.panel("Connections open and in use",
            [('sum by (instance) (vetline_pg_pool_connections{%s})' % sel, "open {{instance}}"),
             ('sum by (instance) (vetline_pg_pool_in_use{%s})' % sel, "in use {{instance}}")])
    b.panel("Saturation (in use / open)",
            [('vetline:pg_pool:saturation{%s}' % sel, "{{job}}")], "percentunit", max_value=1,
            description="Alert VetlinePoolSaturated above 90% with callers waiting.")
    b.panel("Callers waiting and timeouts",
            [('sum(vetline_pg_pool_waiting{%s})' % sel, "waiting"),
             ('sum(increase(vetline_pg_pool_acquire_timeouts_total{%s}[5m]))' % sel, "timeouts / 5m")],
            description="Alert VetlinePoolTimeouts on any timeout.")


def outbox_panels(b, svc, spec):
    if not spec["outbox"] and not spec["consumes"]:
        return
    b.row("Events (outbox)")
    if spec["outbox"]:
        b.panel("Events waiting to be published",
                [('max(vetline_outbox_depth{schema="%s"})' % svc, "depth")])
        b.panel("Oldest unpublished event",
                [('max(vetline_outbox_oldest_age_seconds{schema="%s"})' % svc, "age")], "s",
                description="Alert VetlineOutboxBacklog above 5 minutes.")
    if spec["consumes"]:
        b.panel("Lag of the feeds it follows",
                [('max by (consumer) (vetline_outbox_consumer_lag_seconds{consumer=~"%s\\\\..*"})' % svc,
                  "{{consumer}}")], "s",
                description="Age of the last event handled, per followed service; alert "
                            "VetlineConsumerLag above 2 minutes.")


def service_board(svc, spec):
    b = Board("vetline-" + svc.replace("_", "-"), "Vetline / " + spec["title"],
              "The %s service: its RPCs, its PostgreSQL pool and its events." % spec["title"])
    rpc_panels(b, svc)
    if svc == "pims_sync":
        b.row("PIMS sync per clinic")
        b.panel("Since the last successful sync",
                [('max by (clinic) (vetline_pims_sync_lag_seconds)', "{{clinic}}")], "s",
                description="Alert VetlinePimsSyncStale above 36 hours.")
        b.panel("Failed runs in 24 hours",
                [('max by (clinic) (vetline_pims_sync_failed_runs_24h)', "{{clinic}}")],
                description="Alert VetlinePimsSyncFailing at 3 or more.")
        b.panel("Rows per second of the last successful run",
                [('max by (clinic) (vetline_pims_sync_rows_per_second)', "{{clinic}}")])
    if svc == "media":
        b.row("Live media")
        b.panel("Live calls, publications, subscriptions, recorders",
                [('sum by (what) (vetline_media_live)', "{{what}}")])
        b.panel("Live calls per replica",
                [('sum by (instance) (vetline_media_live{what="calls"})', "{{instance}}")],
                description="A new call goes to the least-loaded replica.")
        b.panel("Call event streams (SSE watchers)",
                [('sum by (instance) (vetline_media_event_streams)', "{{instance}}")])
    pool_panels(b, svc)
    outbox_panels(b, svc, spec)
    b.write()


def gateway_board():
    b = Board("vetline-gateway", "Vetline / Gateway",
              "The HTTP gateway: requests by route, latency, rate limits and load shedding.")
    b.row("HTTP")
    b.panel("Requests per second by route",
            [('sum by (route) (rate(vetline_http_requests_total[5m]))', "{{route}}")], "reqps")
    b.panel("5xx answers (share of requests)",
            [('vetline:http_errors:ratio_rate5m', "{{route}}")], "percentunit",
            description="Alert VetlineGatewayErrors above 2%.")
    b.panel("p99 latency by route",
            [('vetline:http_latency_seconds:p99_5m', "{{route}}")], "s")
    b.panel("Answers by status",
            [('sum by (code) (rate(vetline_http_requests_total[5m]))', "{{code}}")], "reqps")
    b.panel("4xx answers by route",
            [('sum by (route) (rate(vetline_http_requests_total{code=~"4.."}[5m]))', "{{route}}")], "reqps")
    b.panel("p50 latency by route",
            [('histogram_quantile(0.5, sum by (route, le) (rate(vetline_http_request_duration_seconds_bucket[5m])))',
              "{{route}}")], "s")
    b.row("Protection")
    b.panel("Refused by a rate limit",
            [('sum(rate(vetline_http_rate_limited_total[5m]))', "rate limited")], "reqps")
    b.panel("Refused at capacity",
            [('sum by (what) (rate(vetline_http_overload_refused_total[5m]))', "{{what}}")], "reqps",
            description="backend_calls, login_queue or stopping; alert VetlineGatewayOverloaded "
                        "above 1/s: add gateway replicas.")
    b.panel("Requests per second per replica",
            [('sum by (instance) (rate(vetline_http_requests_total[5m]))', "{{instance}}")], "reqps")
    b.write()


def overview_board():
    b = Board("vetline-overview", "Vetline / Overview",
              "The whole deployment at a glance; open a service's dashboard from the links.")
    b.row("Traffic and errors")
    b.panel("HTTP requests per second",
            [('sum(rate(vetline_http_requests_total[5m]))', "all"),
             ('sum(rate(vetline_http_requests_total{code=~"5.."}[5m]))', "5xx")], "reqps")
    b.panel("RPCs per second by service",
            [('sum by (service) (rate(vetline_rpc_server_handled_total[5m]))', "{{service}}")], "reqps")
    b.panel("Worst RPC error share by service",
            [('max by (service) (vetline:rpc_errors:ratio_rate5m)', "{{service}}")], "percentunit")
    b.panel("Worst RPC p99 by service",
            [('max by (service) (vetline:rpc_latency_seconds:p99_5m)', "{{service}}")], "s")
    b.panel("Worst HTTP p99 (route)",
            [('topk(5, vetline:http_latency_seconds:p99_5m)', "{{route}}")], "s")
    b.panel("Refused by the gateway",
            [('sum by (what) (rate(vetline_http_overload_refused_total[5m]))', "at capacity: {{what}}"),
             ('sum(rate(vetline_http_rate_limited_total[5m]))', "rate limited")], "reqps")
    b.row("Backlogs")
    b.panel("Oldest unpublished event by service",
            [('max by (schema) (vetline_outbox_oldest_age_seconds)', "{{schema}}")], "s")
    b.panel("Feed consumer lag",
            [('max by (consumer) (vetline_outbox_consumer_lag_seconds)', "{{consumer}}")], "s")
    b.panel("PostgreSQL pool saturation",
            [('max by (pool) (vetline:pg_pool:saturation)', "{{pool}}")], "percentunit", max_value=1)
    b.row("Clinics and calls")
    b.panel("Clinics whose last sync is over 36 h old",
            [('count(vetline_pims_sync_lag_seconds > 129600) or vector(0)', "stale")], kind="stat", width=6)
    b.panel("Clinics with 3+ failed syncs in 24 h",
            [('count(vetline_pims_sync_failed_runs_24h >= 3) or vector(0)', "failing")], kind="stat", width=6)
    b.panel("Live calls",
            [('sum(vetline_media_live{what="calls"})', "calls")], kind="stat", width=6)
    b.panel("Open event streams (media)",
            [('sum(vetline_media_event_streams)', "streams")], kind="stat", width=6)
    b.write()


def expressions(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for value in node:
            yield from expressions(value)


def check(promtool):
    failures = []
    for name, text in sorted(BOARDS.items()):
        path = os.path.join(HERE, name)
        if not os.path.exists(path) or open(path).read() != text:
            failures.append("%s is not what generate_dashboards.py writes: run it and commit" % name)
    # promtool parses PromQL only inside rule files: every expression as a recording rule.
    rules = []
    for name, text in sorted(BOARDS.items()):
        for i, expr in enumerate(expressions(json.loads(text))):
            rules.append({"record": "dashboard:%s:%d" % (name[:-5].replace("-", "_"), i), "expr": expr})
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        json.dump({"groups": [{"name": "dashboards", "rules": rules}]}, f)  # JSON is YAML
        f.flush()
        result = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
        if result.returncode != 0:
            failures.append("promtool does not parse a dashboard expression:\n" + result.stdout + result.stderr)
    for f in failures:
        print(f, file=sys.stderr)
    print("%d dashboards, %d expressions checked" % (len(BOARDS), len(rules)))
    return 1 if failures else 0


if __name__ == "__main__":
    overview_board()
    gateway_board()
    for name, spec in SERVICES.items():
        service_board(name, spec)
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2]))
    for name, text in BOARDS.items():
        with open(os.path.join(HERE, name), "w") as out:
            out.write(text)
