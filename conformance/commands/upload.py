"""`kaltura-conformance upload FILE`: the reference client as a tool of its own.

Credentials may come from the environment (KALTURA_ADMIN_SECRET, KALTURA_KS) so that they
stay out of shell history; they are never printed.
"""

from __future__ import annotations

import argparse
import os

import httpx

from conformance.clients import (
    FileSource,
    KalturaApi,
    KalturaCallError,
    KalturaTransportError,
    UploadError,
    UploadOptions,
    upload_file,
)

__all__ = ["add_arguments", "execute"]


def add_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("file", help="the file to upload")
    sub.add_argument("--service-url", default=os.environ.get("KALTURA_SERVICE_URL"))
    sub.add_argument("--partner-id", type=int, default=_env_int("KALTURA_PARTNER_ID"))
    sub.add_argument("--admin-secret", default=os.environ.get("KALTURA_ADMIN_SECRET"))
    sub.add_argument("--ks", default=os.environ.get("KALTURA_KS"), help="instead of a secret")
    sub.add_argument("--token-id", help="upload to this token (default: add one)")
    sub.add_argument("--chunk-size", type=int, default=4 << 20)
    sub.add_argument("--concurrency", type=int, default=4)


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else None


def execute(args: argparse.Namespace, prog: str) -> int:
    problem = _problem(args)
    if problem:
        print(f"{prog} upload: error: {problem}")
        return 2
    try:
        options = UploadOptions(chunk_size=args.chunk_size, concurrency=args.concurrency)
    except ValueError as error:
        print(f"{prog} upload: error: --{str(error).replace('_', '-')}")
        return 2
    with httpx.Client(timeout=120.0) as client:
        api = KalturaApi(client, args.service_url, args.ks)
        try:
            if args.ks is None:
                api.start_session(args.partner_id, args.admin_secret)
            name = os.path.basename(args.file)
            result = upload_file(
                api, FileSource(args.file), token_id=args.token_id, file_name=name, options=options
            )
        except (UploadError, KalturaCallError, KalturaTransportError) as error:
            print(f"upload failed: {error}")
            return 1
    print(f"uploaded {result.size} bytes to token {result.token_id} ({result.requests} requests)")
    return 0


def _problem(args: argparse.Namespace) -> str | None:
    if not os.path.isfile(args.file):
        return f"FILE={args.file!r} is not a readable file"
    if not args.service_url:
        return "--service-url (or KALTURA_SERVICE_URL) is required"
    if args.ks is None and (args.partner_id is None or not args.admin_secret):
        return "--partner-id and --admin-secret (or --ks) are required"
    return None
