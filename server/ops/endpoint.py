"""`GET /metrics` for the operator's network: a listener of its own, never the public port.

prometheus-client's own HTTP server, in a thread: a scrape costs the event loop nothing,
and nothing about it can be reached through the port members use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import start_http_server

__all__ = ["serve_metrics"]

log = logging.getLogger("hearth.metrics")


def serve_metrics(host: str, port: int | None) -> Callable[[], None]:
    """Start serving the Prometheus text format on host:port (nothing when port is None);
    returns what stops it. A port already in use fails start-up, loudly."""
    if port is None:
        return lambda: None
    server, thread = start_http_server(port, addr=host)
    log.info("metrics on http://%s:%d/metrics", host, port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
