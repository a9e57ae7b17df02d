#!/usr/bin/env python3
"""Load client for bench/run.sh: Python 3 standard library only.

Each subcommand prints one JSON object on stdout (progress goes to stderr) and
exits non-zero when a request answered an unexpected status or failed, so the
caller can fail loudly. The token comes from the environment (BENCH_TOKEN), the
auth body of `seq` from BENCH_BODY, to keep secrets out of the process list.

  load.py create  --base URL --n N [--batch B] [--conc C] --image ID --flavor ID
                  --network ID [--prefix P] [--deadline S] [--allow-timeout]
      POSTs N servers (N/B requests of min_count = max_count = B) from C
      keep-alive connections, then polls until no server of the project is in
      BUILD. Times: post_s (first POST sent -> last answer), active_s (first
      POST sent -> no BUILD left).
  load.py delete-all --base URL [--conc C] [--deadline S]
      Lists every server of the project, DELETEs them from C connections and
      polls until the list is empty. Times: post_s, empty_s (from the first
      DELETE sent).
  load.py seq     --base URL --method M --path P [--n N] [--expect CODE]
      N sequential requests on one connection; min/p50/mean/max in ms.
  load.py count   --base URL [--status S]
      Counts the project's servers (all pages).
  load.py pwhash  --db FILE --user NAME
      The argon2id parameters of a user's stored password hash (read-only).
"""
import argparse
import http.client
import json
import math
import os
import queue
import sys
import threading
import time
import urllib.parse

PAGE = 1000  # the compute API's largest page


class Failure(Exception):
    pass


def note(msg):
    print(f"# {msg}", file=sys.stderr, flush=True)


class Client:
    """One keep-alive HTTP/1.1 connection to hearthd. GETs are retried once on
    a dropped connection; POST and DELETE never are (they may have happened)."""

    def __init__(self, base, token, timeout=120.0):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.token, self.timeout, self.conn = token, timeout, None

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def call(self, method, path, body=None, headers=None):
        h = {"Accept": "application/json"}
        if self.token:
            h["X-Auth-Token"] = self.token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=h)
                resp = self.conn.getresponse()
                raw = resp.read()
                if (resp.getheader("Connection") or "").lower() == "close":
                    self.close()
                return resp.status, raw
            except (http.client.HTTPException, OSError) as e:
                self.close()
                if attempt == 0 and method == "GET":
                    continue
                raise Failure(f"{method} {path}: {type(e).__name__}: {e}") from None
        raise AssertionError("unreachable")

    def get_json(self, path):
        code, raw = self.call("GET", path)
        if code != 200:
            raise Failure(f"GET {path} answered HTTP {code}: {raw[:300]!r}")
        try:
            return json.loads(raw)
        except ValueError:
            raise Failure(f"GET {path} answered HTTP 200 with a body that is not JSON.") from None


def pct(sorted_values, p):
    """Nearest-rank percentile of an ascending list (p in 0..100)."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


def servers_page(cl, status=None, marker=None, limit=PAGE):
    q = {"limit": str(limit)}
    if status:
        q["status"] = status
    if marker:
        q["marker"] = marker
    return cl.get_json("/compute/v2.1/servers?" + urllib.parse.urlencode(q))["servers"]


def list_ids(cl, status=None):
    ids, marker = [], None
    while True:
        page = servers_page(cl, status, marker)
        ids.extend(s["id"] for s in page)
        if len(page) < PAGE:
            return ids
        marker = page[-1]["id"]


def any_server(cl, status=None):
    return len(servers_page(cl, status, limit=1)) > 0


def run_pool(base, token, jobs, conc, fn):
    """Runs fn(client, job) -> (status, latency_s, error or None) for every job
    from conc threads, each with its own connection. Returns (codes {status:
    count}, ascending latencies, the first few errors)."""
    q = queue.Queue()
    for j in jobs:
        q.put(j)
    codes, lats, errors = {}, [], []
    lock = threading.Lock()

    def worker():
        cl = Client(base, token)
        try:
            while True:
                try:
                    j = q.get_nowait()
                except queue.Empty:
                    return
                try:
                    status, lat, detail = fn(cl, j)
                except Failure as e:
                    status, lat, detail = 0, 0.0, str(e)
                with lock:
                    codes[status] = codes.get(status, 0) + 1
                    lats.append(lat)
                    if detail and len(errors) < 5:
                        errors.append(detail)
        finally:
            cl.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, conc))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes, sorted(lats), errors


def ms(x):
    return None if x is None else round(x * 1000.0, 2)


def wait_until(cl, cond, deadline_s, poll_s, t0, what):
    """Polls cond() until true; returns (seconds since t0, timed_out)."""
    end = time.monotonic() + deadline_s
    last_note = time.monotonic()
    while not cond():
        now = time.monotonic()
        if now > end:
            return now - t0, True
        if now - last_note > 10:
            note(f"still waiting for {what} ({now - t0:.0f} s)")
            last_note = now
        time.sleep(poll_s)
    return time.monotonic() - t0, False


def cmd_create(a, token):
    nreq = (a.n + a.batch - 1) // a.batch
    jobs = []
    left = a.n
    for i in range(nreq):
        count = min(a.batch, left)
        left -= count
        srv = {"name": f"{a.prefix}-{i + 1}", "imageRef": a.image, "flavorRef": a.flavor,
               "networks": [{"uuid": a.network}]}
        if count > 1:
            srv["min_count"] = count
            srv["max_count"] = count
        jobs.append(json.dumps({"server": srv}).encode())

    def post(cl, body):
        t = time.monotonic()
        code, raw = cl.call("POST", "/compute/v2.1/servers", body)
        lat = time.monotonic() - t
        return code, lat, None if code == 202 else f"POST /servers answered HTTP {code}: {raw[:300]!r}"

    cl = Client(a.base, token)
    before = len(list_ids(cl))
    note(f"creating {a.n} servers in {nreq} requests from {a.conc} connections "
         f"({before} servers already in the project)")
    t0 = time.monotonic()
    codes, lats, errors = run_pool(a.base, token, jobs, a.conc, post)
    post_s = time.monotonic() - t0
    out = {"n": a.n, "requests": nreq, "batch": a.batch, "conc": a.conc,
           "codes": {str(k): v for k, v in sorted(codes.items())}, "post_s": round(post_s, 3),
           "post_p50_ms": ms(pct(lats, 50)), "post_p99_ms": ms(pct(lats, 99))}
    if errors or set(codes) != {202}:
        out["error"] = errors or [f"unexpected answers {codes}"]
        print(json.dumps(out))
        return 1
    note(f"{nreq} POSTs answered 202 in {post_s:.2f} s; waiting until none is in BUILD")
    active_s, timed_out = wait_until(cl, lambda: not any_server(cl, "BUILD"), a.deadline, a.poll,
                                     t0, "the servers to leave BUILD")
    out.update({"active_s": round(active_s, 3), "timed_out": timed_out})
    total = len(list_ids(cl))
    active = len(list_ids(cl, "ACTIVE"))
    err = list_ids(cl, "ERROR")
    out.update({"total": total, "active": active, "error_servers": len(err),
                "build_left": total - active - len(err)})
    rc = 0
    if err:
        detail = cl.get_json(f"/compute/v2.1/servers/{err[0]}")["server"].get("fault")
        out["error"] = [f"{len(err)} servers went to ERROR, e.g. {err[0]}: {detail}"]
        rc = 1
    elif total != before + a.n:
        out["error"] = [f"the project holds {total} servers, expected {before + a.n}"]
        rc = 1
    elif timed_out and not a.allow_timeout:
        out["error"] = [f"{total - active} servers were still not ACTIVE after {a.deadline} s"]
        rc = 1
    print(json.dumps(out))
    return rc


def cmd_delete_all(a, token):
    cl = Client(a.base, token)
    ids = list_ids(cl)
    note(f"deleting {len(ids)} servers from {a.conc} connections")

    def delete(cl, sid):
        t = time.monotonic()
        code, raw = cl.call("DELETE", f"/compute/v2.1/servers/{sid}")
        lat = time.monotonic() - t
        return code, lat, None if code == 204 else f"DELETE {sid} answered HTTP {code}: {raw[:300]!r}"

    t0 = time.monotonic()
    codes, lats, errors = run_pool(a.base, token, ids, a.conc, delete)
    post_s = time.monotonic() - t0
    out = {"n": len(ids), "conc": a.conc, "codes": {str(k): v for k, v in sorted(codes.items())},
           "post_s": round(post_s, 3), "delete_p50_ms": ms(pct(lats, 50)),
           "delete_p99_ms": ms(pct(lats, 99))}
    if errors or (ids and set(codes) != {204}):
        out["error"] = errors or [f"unexpected answers {codes}"]
        print(json.dumps(out))
        return 1
    note(f"{len(ids)} DELETEs answered 204 in {post_s:.2f} s; waiting for an empty list")
    empty_s, timed_out = wait_until(cl, lambda: not any_server(cl), a.deadline, a.poll, t0,
                                    "an empty server list")
    out.update({"empty_s": round(empty_s, 3), "timed_out": timed_out})
    if timed_out:
        out["remaining"] = len(list_ids(cl))
        out["error"] = [f"{out['remaining']} servers were still listed after {a.deadline} s"]
        print(json.dumps(out))
        return 1
    print(json.dumps(out))
    return 0


def cmd_seq(a, token):
    cl = Client(a.base, token)
    body = os.environ.get("BENCH_BODY") or None
    body = body.encode() if body else None
    lats = []
    for _ in range(a.n):
        t = time.monotonic()
        code, raw = cl.call(a.method, a.path, body)
        lats.append(time.monotonic() - t)
        if code != a.expect:
            print(json.dumps({"error": [f"{a.method} {a.path} answered HTTP {code}, expected "
                                        f"{a.expect}: {raw[:300]!r}"]}))
            return 1
    cl.close()
    s = sorted(lats)
    print(json.dumps({"n": a.n, "min_ms": ms(s[0]), "p50_ms": ms(pct(s, 50)),
                      "mean_ms": ms(sum(s) / len(s)), "max_ms": ms(s[-1])}))
    return 0


def cmd_count(a, token):
    cl = Client(a.base, token)
    print(json.dumps({"count": len(list_ids(cl, a.status))}))
    return 0


def cmd_pwhash(a, _token):
    import re
    import sqlite3
    db = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True, timeout=10)
    try:
        row = db.execute("SELECT password_hash FROM users WHERE name = ?", (a.user,)).fetchone()
    finally:
        db.close()
    if not row:
        print(json.dumps({"error": [f"no user '{a.user}' in {a.db}"]}))
        return 1
    m = re.match(r"^\$(argon2i?d?)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$", row[0])
    if not m:
        print(json.dumps({"error": [f"the hash of '{a.user}' is not an argon2 string"]}))
        return 1
    print(json.dumps({"alg": m.group(1), "mem_kib": int(m.group(3)), "mem_mib": int(m.group(3)) / 1024,
                      "ops": int(m.group(4)), "lanes": int(m.group(5))}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--base", required=True)
        sp.add_argument("--poll", type=float, default=0.05, help="seconds between polls")
        sp.add_argument("--deadline", type=float, default=300.0, help="seconds to wait at most")

    c = sub.add_parser("create")
    common(c)
    c.add_argument("--n", type=int, required=True)
    c.add_argument("--batch", type=int, default=1)
    c.add_argument("--conc", type=int, default=16)
    c.add_argument("--image", required=True)
    c.add_argument("--flavor", required=True)
    c.add_argument("--network", required=True)
    c.add_argument("--prefix", default="bench")
    c.add_argument("--allow-timeout", action="store_true")
    d = sub.add_parser("delete-all")
    common(d)
    d.add_argument("--conc", type=int, default=16)
    s = sub.add_parser("seq")
    common(s)
    s.add_argument("--method", default="GET")
    s.add_argument("--path", required=True)
    s.add_argument("--n", type=int, default=20)
    s.add_argument("--expect", type=int, default=200)
    n = sub.add_parser("count")
    common(n)
    n.add_argument("--status")
    h = sub.add_parser("pwhash")
    h.add_argument("--db", required=True)
    h.add_argument("--user", required=True)
    a = p.parse_args()
    token = os.environ.get("BENCH_TOKEN", "")
    fn = {"create": cmd_create, "delete-all": cmd_delete_all, "seq": cmd_seq, "count": cmd_count,
          "pwhash": cmd_pwhash}[a.cmd]
    try:
        return fn(a, token)
    except Failure as e:
        print(json.dumps({"error": [str(e)]}))
        return 1


if __name__ == "__main__":
    sys.exit(main())
