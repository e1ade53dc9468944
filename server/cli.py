"""``adm-server``: run the reference central server and manage its demo data."""

from __future__ import annotations

import argparse
import os
import sys

from server.db import DEFAULT_URL, make_engine, session_factory


def _url(args: argparse.Namespace) -> str:
    return str(args.db or os.environ.get("ADM_SERVER_DB") or DEFAULT_URL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="adm-server", description="ADM central server")
    parser.add_argument("--db", help=f"SQLAlchemy URL (default $ADM_SERVER_DB or {DEFAULT_URL})")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--seed-demo", action="store_true", help="seed demo data first")
    sub.add_parser("seed-demo", help="add the demo population and approved documents")
    args = parser.parse_args(argv)

    engine = make_engine(_url(args))
    if args.cmd == "seed-demo" or getattr(args, "seed_demo", False):
        from server.seed import seed_demo

        with session_factory(engine)() as session:
            added = seed_demo(session)
        print(f"seed-demo: {added} document(s) added to {_url(args)}")
        if args.cmd == "seed-demo":
            return 0

    import uvicorn

    from server.app import create_app

    uvicorn.run(create_app(engine), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
