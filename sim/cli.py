"""``adm-sim``: the simulated hardware rig and the virtual e-KTP.

adm-sim rig up | down | status | env
adm-sim card list | insert NIK | remove
"""

from __future__ import annotations

import argparse
import shlex
import sys

from drivers.card.base import mask_nik
from sim.population import citizens
from sim.rig import Rig, RigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="adm-sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    rig_p = sub.add_parser("rig", help="start, stop or inspect the simulated rig")
    rig_p.add_argument("action", choices=["up", "down", "status", "env"])
    card_p = sub.add_parser("card", help="the virtual e-KTP on the reader")
    card_p.add_argument("action", choices=["list", "insert", "remove"])
    card_p.add_argument("nik", nargs="?")
    args = parser.parse_args(argv)
    rig = Rig()
    try:
        if args.cmd == "rig":
            if args.action == "up":
                rig.up()
                print(f"rig up in {rig.dir}")
                for name, state in rig.status().items():
                    print(f"  {name:18} {state}")
            elif args.action == "down":
                stopped = rig.down()
                print(f"rig down: stopped {', '.join(stopped) or 'nothing'}")
            elif args.action == "status":
                status = rig.status()
                for name, state in status.items():
                    print(f"{name:18} {state}")
                return 0 if rig.is_up() else 1
            else:
                for key, value in rig.env().items():
                    print(f"export {key}={shlex.quote(value)}")
            return 0
        if args.action == "list":
            for person in citizens():
                print(f"{person['nik']}  {person['name']}")
            return 0
        if args.action == "remove":
            print("card removed" if rig.remove_card() else "no card was inserted")
            return 0
        if not args.nik:
            parser.error("card insert needs a NIK (see: adm-sim card list)")
        match = [p for p in citizens() if p["nik"] == args.nik]
        if not match:
            print(f"adm-sim: no demo citizen with NIK {args.nik}", file=sys.stderr)
            return 2
        rig.insert_card(match[0]["nik"], match[0]["name"])
        print(f"card inserted: {match[0]['name']} ({mask_nik(args.nik)})")
        return 0
    except RigError as exc:
        print(f"adm-sim: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
