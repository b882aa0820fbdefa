"""`kaltura-conformance serve`: the loopback server as a process, for clients in any language.

It runs for days, so what it keeps is bounded: a window of the latest exchanges in the
trace (`--trace-window`), a listen backlog for bursts of connects (`--backlog`) and a cap on
connections served at once (`--max-connections`; the next ones get a quick 503).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import signal
import threading

from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.server import DEFAULT_BACKLOG, DEFAULT_MAX_CONNECTIONS, LoopbackServer

__all__ = [
    "DEFAULT_TRACE_WINDOW",
    "add_arguments",
    "endpoint_config",
    "execute",
    "return_large_buffers",
]

DEFAULT_TRACE_WINDOW = 2000  # exchanges kept (~1.4 KB each: a few MB at most)
# glibc raises its mmap threshold after each large free (up to 32 MiB), so request bodies of
# a few MiB then come from per-thread arenas and stay there: 16 concurrent 8 MiB JSON bodies,
# 4 rounds, RSS 55 -> 343 MiB. Fixed at 4 MiB, buffers that large go back at once: 55 -> 57.
_MMAP_THRESHOLD = 4 << 20
_M_MMAP_THRESHOLD = -3  # mallopt parameter number (malloc.h)


def add_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sub.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    sub.add_argument("--partner-id", type=int, help="partner id (default: a fresh one)")
    sub.add_argument("--admin-secret", help="admin secret (default: a random one)")
    sub.add_argument(
        "--final-wait",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="how long a close waits for missing chunks (Kaltura: 44)",
    )
    sub.add_argument(
        "--trace-window",
        type=int,
        default=DEFAULT_TRACE_WINDOW,
        metavar="N",
        help=f"exchanges kept in the trace (default {DEFAULT_TRACE_WINDOW})",
    )
    sub.add_argument(
        "--backlog",
        type=int,
        default=DEFAULT_BACKLOG,
        metavar="N",
        help=f"listen queue for bursts of connects (default {DEFAULT_BACKLOG})",
    )
    sub.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"connections served at once; more get a 503 (default {DEFAULT_MAX_CONNECTIONS})",
    )


def execute(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Serve until interrupted, after printing where and with which credentials."""
    if not 0 <= args.port <= 65535:
        parser.exit(2, f"{parser.prog} serve: error: --port={args.port} must be in 0..65535\n")
    try:
        endpoint = KalturaEndpoint(endpoint_config(args))
        partner = endpoint.add_partner(args.partner_id, args.admin_secret)
        server = LoopbackServer(
            endpoint,
            args.host,
            args.port,
            backlog=args.backlog,
            max_connections=args.max_connections,
        )
    except (ValueError, OSError) as error:
        parser.exit(2, f"{parser.prog} serve: error: {_option(str(error))}: {error}\n")
    return_large_buffers()
    with server:
        print(f"service url:  {server.url}", flush=True)
        print(f"partner id:   {partner.partner_id}", flush=True)
        print(f"admin secret: {partner.admin_secret}", flush=True)
        print(f"final wait:   {args.final_wait} s (Ctrl-C to stop)", flush=True)
        _wait_for_interrupt()
    endpoint.close()
    return 0


def endpoint_config(args: argparse.Namespace) -> EndpointConfig:
    """The endpoint `serve` runs: the close wait asked for, and a bounded trace."""
    return EndpointConfig(final_wait=args.final_wait, trace_window=args.trace_window)


def return_large_buffers() -> bool:
    """Make glibc give large buffers back to the system when freed; False elsewhere."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD))


def _option(message: str) -> str:
    """The option a construction error is about."""
    for name in ("final_wait", "trace_window", "backlog", "max_connections"):
        if message.startswith(name) or f"{name}=" in message:
            return "--" + name.replace("_", "-")
    return "--host/--port"


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
