"""``adm-sim``: the simulated hardware rig, the virtual e-KTP and the virtual SAM.

adm-sim rig up | down | status | env
adm-sim card list | insert NIK [--fault F] [--pull-after N] [--delay-ms N] [--t0] | remove
adm-sim sam insert [--wrong-keys] [--t0] | remove
adm-sim finger present holder|other|none|poor|worn | fault F [--delay S] | unplug | replug
adm-sim qr scan TEXT [--crlf] | raw HEX | unplug | replug
adm-sim seed-demo [--home DIR] [--db URL]   demo citizens and documents into a server
"""

from __future__ import annotations

import argparse
import shlex
import sys

from protocol.nik import mask_nik
from sim.cards import FAULTS, card_holders
from sim.rig import Rig, RigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="adm-sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    rig_p = sub.add_parser("rig", help="start, stop or inspect the simulated rig")
    rig_p.add_argument("action", choices=["up", "down", "status", "env"])
    card_p = sub.add_parser("card", help="the virtual e-KTP on the reader")
    card_p.add_argument("action", choices=["list", "insert", "remove"])
    card_p.add_argument("nik", nargs="?")
    card_p.add_argument("--fault", choices=FAULTS, help="insert a faulty card")
    card_p.add_argument(
        "--pull-after",
        type=int,
        default=0,
        metavar="N",
        help="the card leaves the reader after N reads",
    )
    card_p.add_argument(
        "--delay-ms",
        type=int,
        default=0,
        metavar="MS",
        help="the card answers every command this much later",
    )
    t0_help = "answer as a T=0 chip does (61xx response chaining, 6Cxx for a wrong Le)"
    card_p.add_argument("--t0", action="store_true", help=t0_help)
    sam_p = sub.add_parser("sam", help="the virtual SAM in the contact slot")
    sam_p.add_argument("action", choices=["insert", "remove"])
    sam_p.add_argument("--wrong-keys", action="store_true", help="a SAM with the wrong keys")
    sam_p.add_argument("--t0", action="store_true", help=t0_help)
    finger_p = sub.add_parser("finger", help="the emulated fingerprint module")
    finger_p.add_argument("action", choices=["present", "fault", "unplug", "replug"])
    finger_p.add_argument("value", nargs="?", help="the finger (present) or the fault")
    finger_p.add_argument("--delay", type=float, default=1.5, help="seconds, for fault slow")
    qr_p = sub.add_parser("qr", help="the emulated QR scanner")
    qr_p.add_argument("action", choices=["scan", "raw", "unplug", "replug"])
    qr_p.add_argument("value", nargs="?", help="the text scanned, or bytes in hex (raw)")
    qr_p.add_argument("--crlf", action="store_true", help="end the line with CR LF, not CR")
    seed_p = sub.add_parser(
        "seed-demo", help="put the demo citizens and their approved documents into a server"
    )
    seed_p.add_argument("--home", default="adm-server-home", help="the server's key folder")
    seed_p.add_argument("--db", help="SQLAlchemy URL (default sqlite:///HOME/server.db)")
    fleet_p = sub.add_parser(
        "fleet", help="N simulated kiosks heartbeating and updating against a server of their own"
    )
    fleet_p.add_argument("count", type=int, help="how many kiosks")
    fleet_p.add_argument("--interval", type=float, default=5.0, help="seconds between heartbeats")
    fleet_p.add_argument("--seconds", type=float, default=120.0, help="how long to run")
    fleet_p.add_argument("--rollout", help="publish this version and roll it out to the fleet")
    fleet_p.add_argument("--canary-percent", type=int, default=5)
    fleet_p.add_argument("--max-failures", type=int, default=3)
    fleet_p.add_argument(
        "--broken", action="append", default=[], help="a version whose health gate fails"
    )
    fleet_p.add_argument("--home", help="working folder (default: a new temporary one)")
    fleet_p.add_argument("--db", help="the server's SQLAlchemy URL (default: SQLite in --home)")
    rig_p.set_defaults(func=lambda a: _rig(Rig(), a.action))
    fleet_p.set_defaults(func=_fleet)
    card_p.set_defaults(func=_card)
    sam_p.set_defaults(func=_sam)
    finger_p.set_defaults(func=_finger)
    qr_p.set_defaults(func=_qr)
    seed_p.set_defaults(func=lambda a: _seed(a.home, a.db))
    args = parser.parse_args(argv)
    if args.cmd == "card" and args.action == "insert" and not args.nik:
        parser.error("card insert needs a NIK (see: adm-sim card list)")
    try:
        return int(args.func(args))
    except RigError as exc:
        print(f"adm-sim: {exc}", file=sys.stderr)
        return 1


def _fleet(args: argparse.Namespace) -> int:
    from sim.fleet import main

    if args.count < 1:
        print("adm-sim: fleet needs at least one kiosk", file=sys.stderr)
        return 2
    return main(args)


def _finger(args: argparse.Namespace) -> int:
    from sim.serial_devices import FINGER_FAULTS, FINGERS

    rig = Rig()
    if args.action == "present":
        if args.value not in FINGERS:
            print(f"adm-sim: finger present {'|'.join(FINGERS)}", file=sys.stderr)
            return 2
        rig.serial("fingerprint", finger=args.value)
        print(f"finger on the sensor: {args.value}")
    elif args.action == "fault":
        if args.value not in FINGER_FAULTS:
            print(f"adm-sim: finger fault {'|'.join(FINGER_FAULTS)}", file=sys.stderr)
            return 2
        rig.serial("fingerprint", fault=args.value, delay=args.delay)
        print(f"fingerprint module fault: {args.value}")
    else:
        rig.serial("fingerprint", **{args.action: True})
        print(f"fingerprint module {args.action}ged at {rig.serial_link('fingerprint')}")
    return 0


def _qr(args: argparse.Namespace) -> int:
    rig = Rig()
    if args.action in ("scan", "raw"):
        if args.value is None:
            print(f"adm-sim: qr {args.action} needs a value", file=sys.stderr)
            return 2
        if args.action == "scan":
            rig.serial("qr", scan=args.value, eol="\r\n" if args.crlf else "\r")
        else:
            try:
                bytes.fromhex(args.value)
            except ValueError:
                print("adm-sim: qr raw takes bytes in hex", file=sys.stderr)
                return 2
            rig.serial("qr", raw=args.value)
        print("scanned")
    else:
        rig.serial("qr", **{args.action: True})
        print(f"QR scanner {args.action}ged at {rig.serial_link('qr')}")
    return 0


def _sam(args: argparse.Namespace) -> int:
    rig = Rig()
    if args.action == "remove":
        print("SAM removed" if rig._stop("sam") else "no SAM was inserted")
        return 0
    rig.insert_sam(wrong_keys=args.wrong_keys, t0=args.t0)
    print("SAM inserted" + (" (wrong keys)" if args.wrong_keys else ""))
    return 0


def _card(args: argparse.Namespace) -> int:
    rig = Rig()
    if args.action == "list":
        for person in card_holders():
            print(f"{person['nik']}  {person['name']}")
        return 0
    if args.action == "remove":
        print("card removed" if rig.remove_card() else "no card was inserted")
        return 0
    match = [p for p in card_holders() if p["nik"] == args.nik]
    if not match:
        print(f"adm-sim: no demo e-KTP holder with NIK {args.nik}", file=sys.stderr)
        return 2
    rig.insert_card(
        args.nik,
        fault=args.fault or "",
        pull_after=args.pull_after,
        delay_ms=args.delay_ms,
        t0=args.t0,
    )
    fault = f" [{args.fault}]" if args.fault else ""
    print(f"card inserted: {match[0]['name']} ({mask_nik(args.nik)}){fault}")
    return 0


def _seed(home_dir: str, db_url: str | None) -> int:
    """Demo data for a server (never run against a real one: its PINs and codes are
    derived from public NIKs)."""
    from pathlib import Path

    from server.db import make_engine, session_factory
    from server.pki import ServerHome
    from sim.population import ISSUING_OFFICIAL
    from sim.seed import seed_demo

    home = ServerHome(Path(home_dir))
    if not home.official_file.is_file():
        home.set_official(**ISSUING_OFFICIAL)
    if not home.initialised:
        print(f"adm-sim: {home.path} has no keys: run 'adm-server pki init' first", file=sys.stderr)
        return 2
    engine = make_engine(db_url or f"sqlite:///{home.path / 'server.db'}")
    try:
        with session_factory(engine)() as db:
            added = seed_demo(db, home.pepper())
    finally:
        engine.dispose()
    print(f"seed-demo: {added} document(s) added")
    return 0


def _rig(rig: Rig, action: str) -> int:
    if action == "up":
        rig.up()
        print(f"rig up in {rig.dir}")
        for name, state in rig.status().items():
            print(f"  {name:18} {state}")
    elif action == "down":
        stopped = rig.down()
        print(f"rig down: stopped {', '.join(stopped) or 'nothing'}")
    elif action == "status":
        for name, state in rig.status().items():
            print(f"{name:18} {state}")
        return 0 if rig.is_up() else 1
    else:
        for key, value in rig.env().items():
            print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
