"""Serving the application: granian, one worker process per core.

granian parses HTTP in Rust and hands each request to the WSGI application in one
of ``threads`` Python threads per worker; workers share the port, and one that
dies is started again. Measured on 2 cores with the city (`python -m bench
locate`, wrk as the client): a bare WSGI function answers ~54,000 requests/s
through granian and ~4,700 through waitress (the Python server used before), and
located points ~1,700/s against ~1,150 with waitress, whose own request handling
took a fifth of each request. Four threads per worker: measured best for locate
(more threads wait on each other for the GIL), and enough that a long request (an
import, a cold coverage) does not hold up a worker's other requests.

Each worker builds the application itself (``target`` is imported in the worker),
so it opens its own database pool; configuration reaches it through the
``GRIDGOV_*`` environment variables ``create_app`` reads.

With a certificate and its key granian speaks HTTPS itself (rustls), from TLS 1.2
on: phones give GPS, the camera, service workers and the wake lock only to a
secure page, and a phone on the centre's network reaches the server by an
address that is not its own loopback.
"""

import os

__all__ = ["serve", "default_processes", "DEFAULT_THREADS"]

DEFAULT_THREADS = 4


def default_processes():
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def serve(target, host, port, threads=DEFAULT_THREADS, processes=1, factory=False,
          cert=None, key=None):
    """Serve the WSGI application ``target`` (``"module:name"``; with ``factory``,
    a function returning it) on ``host:port`` until SIGINT or SIGTERM; over HTTPS
    with the PEM files ``cert`` (the certificate, then its chain) and ``key``."""
    from pathlib import Path

    from granian import Granian
    from granian.constants import Interfaces, SSLProtocols
    from granian.log import LogLevels

    tls = ({"ssl_cert": Path(cert), "ssl_key": Path(key),
            # TLS 1.2 too: the phones of a town's grid workers are not all new
            "ssl_protocol_min": SSLProtocols.tls12} if cert else {})
    Granian(target, address=host, port=port, interface=Interfaces.WSGI,
            workers=processes, blocking_threads=threads, factory=factory,
            respawn_failed_workers=True, respawn_interval=1.0,
            log_level=LogLevels.warning, **tls).serve()
