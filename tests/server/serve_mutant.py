"""Serve one mutant server (`mutants.py`) in a process of its own, like `kaltura-conformance
serve` does for the reference server, so that the live mode can be pointed at it:

    python tests/server/serve_mutant.py arrival-order [--final-wait 0.2]

Prints the same four lines as `serve` (service url, partner id, admin secret, final wait),
then serves until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import signal
import sys
import threading
from pathlib import Path
from types import ModuleType

from conformance.endpoints import EndpointConfig
from conformance.endpoints.server import LoopbackServer


def _mutants() -> ModuleType:
    path = Path(__file__).with_name("mutants.py")
    spec = importlib.util.spec_from_file_location("serve_mutants", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def main() -> int:
    mutants = _mutants()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(mutants.MUTANTS))
    parser.add_argument("--final-wait", type=float, default=0.2)
    args = parser.parse_args()
    endpoint = mutants.MUTANTS[args.name].endpoint(EndpointConfig(final_wait=args.final_wait))
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
