"""The /metrics HTTP endpoint: GPU metrics, then the exporter's own (prometheus-client).

The exporter's own metrics are what an operator needs to trust it: how long a scrape takes,
how often pod attribution failed, and the process's CPU and memory (prometheus-client's
process collector), which is also how the scrape-cost benchmark measures the agent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector, generate_latest

from gpuplane.telemetry.exporter import GpuExporter
from gpuplane.telemetry.exposition import CONTENT_TYPE

DEFAULT_PORT = 9400  # dcgm-exporter's, so existing scrape configs find gpuplane unchanged


class MetricsServer:
    """Serves `render()` plus self-metrics on http://address:port/metrics, in a thread."""

    def __init__(
        self, render: Callable[[], str], address: str = "127.0.0.1", port: int = DEFAULT_PORT
    ) -> None:
        self._render = render
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self._duration = Gauge(
            "gpuplane_exporter_scrape_duration_seconds",
            "How long the last scrape of the GPU metrics took.",
            registry=self.registry,
        )
        self._failures = Counter(
            "gpuplane_exporter_scrape_errors",
            "Scrapes whose GPU metrics could not be read.",
            registry=self.registry,
        )
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((address, port), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="gpuplane-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._httpd.server_address[0])
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def scrape(self) -> str:
        """One scrape's text, as the endpoint serves it."""
        # Scrapes are serialised: the backend and the attribution are read by one at a time.
        with self._lock:
            start = time.perf_counter()
            try:
                text = self._render()
            except Exception:
                self._failures.inc()
                raise
            finally:
                self._duration.set(time.perf_counter() - start)
        return text + generate_latest(self.registry).decode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] == "/metrics":
                    try:
                        body = server.scrape().encode()
                    except Exception as exc:
                        self._reply(500, f"GPU metrics unreadable: {exc}\n".encode(), "text/plain")
                        return
                    self._reply(200, body, CONTENT_TYPE)
                elif self.path == "/health":
                    self._reply(200, b"ok\n", "text/plain")
                else:
                    self._reply(404, b"not found: try /metrics\n", "text/plain")

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # a scrape every 15 s is not news

        return Handler


def serve_exporter(
    exporter: GpuExporter, address: str = "127.0.0.1", port: int = DEFAULT_PORT
) -> MetricsServer:
    """Start serving `exporter` on address:port (0 picks a free port); stop() when done."""
    return MetricsServer(exporter.render, address, port).start()
