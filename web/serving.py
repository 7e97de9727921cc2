"""Serving the application: waitress, in one process or several sharing one socket.

waitress is a threaded server in one process, and Python's GIL lets one thread run
Python at a time: on a machine with two cores, one process uses at most one of
them for the application (measured: ~500 locate requests/s, `bench/README.md`).
``serve(..., processes=N)`` opens the listening socket once and forks N workers
that each run waitress on it (the kernel hands each new connection to one of
them), and replaces a worker that dies. Each worker builds its own application
(``make_app``) after the fork, so it opens its own database pool: connections are
never shared across processes.

Written here because waitress has no worker processes of its own, and gunicorn,
which has, sends a ``Server: gunicorn`` header that our responses must not carry
(web/security.py strips the banner; a server-level header is out of its reach).
"""

import os
import signal
import socket
import sys
import time

import waitress

__all__ = ["serve", "default_processes"]


def default_processes():
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _listen(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _run(make_app, sock, threads):
    # ident="": no Server banner; _quiet: the "serving on" line is ours to print
    waitress.serve(make_app(), sockets=[sock], threads=threads, ident="",
                   _quiet=True)


def serve(make_app, host, port, threads=8, processes=1):
    """Serve ``make_app()`` on ``host:port`` until interrupted.

    Parameters
    ----------
    make_app : callable
        Returns the WSGI application; called once in each worker.
    threads : int
        waitress threads per worker.
    processes : int
        Workers; 1 serves in this process.
    """
    sock = _listen(host, port)
    if processes <= 1:
        try:
            _run(make_app, sock, threads)
        except KeyboardInterrupt:
            pass
        return
    workers = {}
    stopping = False

    def start():
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            status = 0
            try:
                _run(make_app, sock, threads)
            except KeyboardInterrupt:
                pass
            except BaseException as exc:  # noqa: BLE001 -- report, then leave
                print(f"gridgov worker {os.getpid()}: {exc!r}", file=sys.stderr)
                status = 1
            os._exit(status)
        workers[pid] = time.monotonic()

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True
        for pid in list(workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(processes):
        start()
    while workers:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        started = workers.pop(pid, None)
        if stopping or started is None:
            continue
        print(f"gridgov worker {pid} ended ({os.waitstatus_to_exitcode(status)}); "
              "starting another", file=sys.stderr)
        if time.monotonic() - started < 1:
            time.sleep(1)  # a worker that dies at once: do not spin
        start()
    sock.close()
