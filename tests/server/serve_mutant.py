"""Serve one mutant server (`mutant_servers.py`) in a process of its own.

Like `kaltura-conformance serve` does for the reference server, so that the live mode can
be pointed at it:

    python tests/server/serve_mutant.py arrival-order [--final-wait 0.2]

Prints the same four lines as `serve` (service url, partner id, admin secret, final wait),
then serves until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from mutant_servers import MUTANTS  # this script's directory is on sys.path

from conformance.endpoints import EndpointConfig
from conformance.endpoints.server import LoopbackServer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(MUTANTS))
    parser.add_argument("--final-wait", type=float, default=0.2)
    args = parser.parse_args()
    endpoint = MUTANTS[args.name].endpoint(EndpointConfig(final_wait=args.final_wait))
    partner = endpoint.add_partner()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LoopbackServer(endpoint) as server:
        print(f"service url:  {server.url}", flush=True)
        print(f"partner id:   {partner.partner_id}", flush=True)
        print(f"admin secret: {partner.admin_secret}", flush=True)
        print(f"final wait:   {args.final_wait} s (mutant {args.name})", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    endpoint.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
