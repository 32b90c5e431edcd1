"""Load test of `htr serve`: N concurrent clients on loopback, bounded in requests and time.

Starts the service in a subprocess on a free loopback port, sends real IAM-OnDB testset_t lines
(PNG uploads, and one in four as pen strokes), and reports throughput, p50/p95 latency, the
server's memory (RSS) before, at peak and after, and every status code. Clients that get 503
wait the Retry-After the server asks for, as a polite client does. Exits 1 if any response was
a 5xx other than the deliberate 503, or if a request failed outright.

    python benchmarks/load_test.py --clients 8 --requests 400 --duration 120
    python benchmarks/load_test.py --clients 32 --workers 2 --queue 4   # overload: 503s shed it
"""
from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx2
import numpy as np
from PIL import Image

from htr.datasets.iam_ondb import IamOnDB

ROOT = Path(__file__).resolve().parents[1]


def payloads(data_root: Path, n: int) -> list[dict]:
    """httpx2 keyword arguments for n requests: PNG uploads of real lines, one in four as strokes."""
    lines = IamOnDB(data_root, "testset_t", height=64)
    out = []
    for i in range(n):
        if i % 4 == 3:
            strokes = [s.round(1).tolist() for s in lines.strokes(i)]
            out.append({"json": {"strokes": strokes}})
        else:
            buf = io.BytesIO()
            Image.fromarray(lines[i].image).save(buf, "PNG")
            out.append({"files": {"image": (f"{lines.ids[i]}.png", buf.getvalue(), "image/png")}})
    return out


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, queue: int, model: str | None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "htr", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--queue", str(queue)] + (["--model", model] if model else [])
    log = tempfile.TemporaryFile("w+")  # the server's own messages, shown if it dies
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise SystemExit(f"server exited with code {server.returncode}:\n{log.read()[-3000:]}")
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx2.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("server did not answer /health within 60 s")


def run(url: str, bodies: list[dict], clients: int, max_requests: int, duration: float) -> dict:
    """Clients share one request counter and one deadline; each keeps its own connection."""
    results: list[tuple[int, float]] = []   # (status or 0 for a failed request, seconds)
    lock = threading.Lock()
    issued = [0]
    deadline = time.monotonic() + duration

    def client() -> None:
        with httpx2.Client(timeout=60) as http:
            while time.monotonic() < deadline:
                with lock:
                    if issued[0] >= max_requests:
                        return
                    k = issued[0]
                    issued[0] += 1
                t0 = time.perf_counter()
                try:
                    r = http.post(f"{url}/v1/read", **bodies[k % len(bodies)])
                    status = r.status_code
                except httpx2.HTTPError:
                    status = 0
                with lock:
                    results.append((status, time.perf_counter() - t0))
                if status == 503:
                    time.sleep(min(float(r.headers.get("retry-after", 1)), max(deadline - time.monotonic(), 0)))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ok = np.array([s for code, s in results if code == 200])
    return {
        "requests": len(results), "wall_s": round(wall, 2),
        "throughput_rps": round(len(ok) / wall, 2),
        "p50_ms": round(float(np.percentile(ok, 50)) * 1000, 1) if len(ok) else None,
        "p95_ms": round(float(np.percentile(ok, 95)) * 1000, 1) if len(ok) else None,
        "status": dict(sorted(Counter(code for code, _ in results).items())),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400, help="stop after this many requests")
    ap.add_argument("--duration", type=float, default=120.0, help="or after this many seconds")
    ap.add_argument("--workers", type=int, default=2, help="server: reads at once")
    ap.add_argument("--queue", type=int, default=8, help="server: reads waiting before 503")
    ap.add_argument("--model", help="server: model directory (default: the bundled one)")
    ap.add_argument("--root", default=str(ROOT.parent / "shared" / "data" / "iam-ondb"))
    args = ap.parse_args()

    bodies = payloads(Path(args.root), 32)
    port = free_port()
    server = start_server(port, args.workers, args.queue, args.model)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx2.Client(timeout=60) as http:  # warm-up: first reads allocate the model's buffers
            for body in bodies[:8]:
                http.post(f"{url}/v1/read", **body).raise_for_status()
        rss = {"before": rss_mib(server.pid), "peak": 0.0}
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.1):
                rss["peak"] = max(rss["peak"], rss_mib(server.pid))

        sampler = threading.Thread(target=sample)
        sampler.start()
        report = run(url, bodies, args.clients, args.requests, args.duration)
        stop.set()
        sampler.join()
        rss["after"] = rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    bad = {code: n for code, n in report["status"].items() if code == 0 or (code >= 500 and code != 503)}
    report = {"clients": args.clients, "workers": args.workers, "queue": args.queue, **report,
              "failures_other_than_503": sum(bad.values()),
              "rss_mib": {k: round(v, 1) for k, v in rss.items()}, "cpus": os.cpu_count()}
    print(json.dumps(report))
    if bad:
        print(f"load_test: failures other than 503 (0 = no answer): {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
