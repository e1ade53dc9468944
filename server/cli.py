"""``adm-server``: run the central server, migrate it, manage its PKI, officer work.

    adm-server [--db URL] [--home DIR] serve [--host H] [--port P] [--workers N]
    adm-server migrate
    adm-server pki init [--hostname NAME ...] [--owner USER] | requests [--all]
                   | sign-kiosk REQUEST --fingerprint HEX | reject REQUEST | revoke ID
                   | official --name N --nip NIP --title T
    adm-server officer [--as NAME] register KIND NIK [--data FILE] | approve APP_ID | revoke NUMBER
                       | supersede OLD NEW | set-pin NIK PIN | qr-token NIK
                       | reissue-code NUMBER | release JOB_ID|NUMBER | documents [--nik NIK]
                       | kiosks | outbox
    adm-server verify QRTEXT [--key FILE] [--online URL [--ca FILE]]

The database URL comes from ``--db``, ``$ADM_SERVER_DB`` or ``sqlite:///HOME/server.db``;
the key folder from ``--home``, ``$ADM_SERVER_HOME`` or ``./adm-server-home``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from server.pki import PkiError, ServerHome


def _home(args: argparse.Namespace) -> ServerHome:
    return ServerHome(Path(args.home or os.environ.get("ADM_SERVER_HOME") or "adm-server-home"))


def _url(args: argparse.Namespace, home: ServerHome) -> str:
    return str(args.db or os.environ.get("ADM_SERVER_DB") or f"sqlite:///{home.path / 'server.db'}")


class CannotRun(Exception):
    """The command cannot run at all (no keys yet, no usable database): exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="adm-server", description="ADM central server")
    p.add_argument("--db", help="SQLAlchemy URL (default $ADM_SERVER_DB or HOME/server.db)")
    p.add_argument("--home", help="key folder (default $ADM_SERVER_HOME or ./adm-server-home)")
    sub = p.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="serve the HTTPS API (mTLS for kiosks)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8443)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--db-threads",
        type=int,
        default=None,
        help="threads per worker for database work (default: 0, inline, on SQLite; 2 on "
        "PostgreSQL; a few more for a database across a network)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=500,
        help="open connections per worker; more are closed at once (default 500)",
    )
    serve.add_argument(
        "--head-timeout",
        type=float,
        default=10.0,
        help="seconds for a request head to arrive (default 10); the body gets twice that",
    )
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    dbp = sub.add_parser("db", help="the database: status, backup, point-in-time restore")
    dsub = dbp.add_subparsers(dest="db_cmd", required=True)
    dsub.add_parser("status", help="primary, standbys and their lag, archiving, last backup")
    bk = dsub.add_parser("backup", help="a base backup (pgBackRest), or a copy of SQLite")
    bk.add_argument("--type", choices=("full", "diff", "incr"), default="full")
    bk.add_argument("--out", type=Path, help="SQLite only: the copy (default HOME/backups/)")
    rs = dsub.add_parser("restore", help="restore to a moment into a new data folder")
    rs.add_argument("--to", required=True, help="the moment, e.g. '2026-12-06 10:15:00+00'")
    rs.add_argument("--pgdata", type=Path, required=True, help="an empty folder")
    dbp.set_defaults(func=cmd_db)

    pki = sub.add_parser("pki", help="CA, server and kiosk certificates, issuer key")
    psub = pki.add_subparsers(dest="pki_cmd", required=True)
    init = psub.add_parser("init")
    init.add_argument("--hostname", action="append", default=[])
    init.add_argument(
        "--owner",
        help="the serving user (adm-server): given the files serving needs; the CA key "
        "stays the CA holder's alone",
    )
    init.set_defaults(func=cmd_pki_init)
    reqs = psub.add_parser("requests", help="kiosks' certificate requests waiting")
    reqs.add_argument("--all", action="store_true", help="also those decided")
    reqs.set_defaults(func=cmd_pki_requests)
    sign = psub.add_parser(
        "sign-kiosk", help="sign a kiosk's certificate request (where the CA key is kept)"
    )
    sign.add_argument("request", help="the request id (adm-server pki requests)")
    sign.add_argument(
        "--fingerprint", required=True, help="the key fingerprint the kiosk shows (read out)"
    )
    sign.add_argument("--as", dest="person", help="who signs, for the audit log")
    sign.set_defaults(func=cmd_pki_sign)
    rej = psub.add_parser("reject", help="refuse a kiosk's certificate request")
    rej.add_argument("request")
    rej.add_argument("--as", dest="person", help="who refuses, for the audit log")
    rej.set_defaults(func=cmd_pki_reject)
    rev = psub.add_parser("revoke")
    rev.add_argument("kiosk_id")
    rev.set_defaults(func=cmd_pki_revoke)
    off_cmd = psub.add_parser("official", help="the official whose name signs approved documents")
    off_cmd.add_argument("--name", required=True)
    off_cmd.add_argument("--nip", required=True)
    off_cmd.add_argument("--title", required=True)
    off_cmd.set_defaults(func=cmd_pki_official)

    off = sub.add_parser("officer", help="office work: applications, documents, kiosks")
    off.add_argument(
        "--as",
        dest="person",
        help="who does this, for the audit log (default $ADM_OFFICER, else the login name)",
    )
    osub = off.add_subparsers(dest="off_cmd", required=True)
    reg = osub.add_parser("register")
    reg.add_argument("kind")
    reg.add_argument("nik")
    reg.add_argument("--data", type=Path, help="JSON file with the document's fields")
    app = osub.add_parser("approve")
    app.add_argument("application_id", type=int)
    osub.add_parser("reissue-code").add_argument("number")
    revoke = osub.add_parser("revoke")
    revoke.add_argument("number")
    revoke.add_argument("--reason", required=True, help="why (audit log and console)")
    sup = osub.add_parser("supersede")
    sup.add_argument("old")
    sup.add_argument("new")
    pin = osub.add_parser("set-pin")
    pin.add_argument("nik")
    pin.add_argument("pin")
    osub.add_parser("qr-token").add_argument("nik")
    osub.add_parser(
        "release", help="end a print job's reservation now (a kiosk that died for good)"
    ).add_argument("job", metavar="JOB_ID|NUMBER")
    osub.add_parser("held", help="print jobs a kiosk could not tell were printed")
    decide = osub.add_parser(
        "resolve", help="the office's decision on a held print job, after looking at the printer"
    )
    decide.add_argument("job", metavar="JOB_ID|NUMBER")
    outcome = decide.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--printed", action="store_true", help="the document came out")
    outcome.add_argument("--not-printed", action="store_true", help="it did not: offer it again")
    docs = osub.add_parser("documents")
    docs.add_argument("--nik")
    osub.add_parser("kiosks")
    osub.add_parser("outbox")
    for command in osub.choices.values():
        command.set_defaults(func=cmd_officer)

    user = sub.add_parser("user", help="accounts of the office's web console")
    usub = user.add_subparsers(dest="user_cmd", required=True)
    add = usub.add_parser("add", help="a new account (the password is asked for)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=("officer", "supervisor", "technician"))
    add.add_argument("--totp", action="store_true", help="also require an authenticator code")
    usub.add_parser("passwd", help="set a new password").add_argument("username")
    usub.add_parser("totp", help="enrol a new authenticator (TOTP) secret").add_argument("username")
    usub.add_parser("disable").add_argument("username")
    usub.add_parser("enable").add_argument("username")
    usub.add_parser("list")
    for command in usub.choices.values():
        command.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )
        command.set_defaults(func=cmd_user)
    sub.add_parser(
        "metrics-token", help="a new bearer token for Prometheus (/metrics, alerts feed)"
    ).set_defaults(func=cmd_metrics_token)
    rel = sub.add_parser("release", help="kiosk releases the fleet can be rolled out to")
    rsub = rel.add_subparsers(dest="release_cmd", required=True)
    pub = rsub.add_parser(
        "publish", help="record a signed bundle and serve it to kiosks (copied into HOME/releases)"
    )
    pub.add_argument("bundle", type=Path, help="the signed update bundle")
    pub.add_argument("--version", required=True, help="the release's version, e.g. 1.7.0")
    pub.add_argument(
        "--url", help="where kiosks fetch it instead (a web server beside this one; not copied)"
    )
    rsub.add_parser("list", help="published releases and the fleet's versions")
    for command in rsub.choices.values():
        command.set_defaults(func=cmd_release)

    ver = sub.add_parser("verify", help="check a printed QR offline (and online)")
    ver.add_argument("qrtext", help="the QR's link, its token, or an older ADM1. text")
    ver.add_argument("--key", type=Path, help="issuer public key (default HOME/issuer.pub)")
    ver.add_argument("--online", help="server URL to ask for the document's status")
    ver.add_argument(
        "--ca", type=Path, help="CA certificate the server must be signed by (default HOME/ca)"
    )
    ver.set_defaults(func=cmd_verify)
    page = sub.add_parser(
        "verifier-page", help="write the offline checker (one HTML file with the issuer keys)"
    )
    page.add_argument("out", type=Path)
    page.add_argument("--lang", choices=("id", "en"), default="id")
    page.set_defaults(func=cmd_verifier_page)
    return p


def main(argv: list[str] | None = None) -> int:
    """Exit codes as every ADM command: 0 done, 1 the operation failed (an officer rule,
    a bad signature, a PKI refusal), 2 it could not run (arguments, no keys, database)."""
    from protocol.seal import SealError
    from protocol.signing import SignatureError
    from server.officer import OfficerError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CannotRun as exc:
        print(f"adm-server: {exc}", file=sys.stderr)
        return 2
    except (PkiError, OfficerError, SignatureError, SealError) as exc:
        print(f"adm-server: {exc}", file=sys.stderr)
        return 1


def _ready_home(args: argparse.Namespace) -> ServerHome:
    home = _home(args)
    if not home.initialised:
        raise CannotRun(f"{home.path} has no keys: run 'adm-server pki init' first")
    return home


def _database(args: argparse.Namespace, home: ServerHome) -> tuple[str, Any]:
    """The database URL and a migrated engine for it."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from server.db import make_engine

    url = _url(args, home)
    try:
        return url, make_engine(url)
    except (ArgumentError, OperationalError) as exc:
        raise CannotRun(f"database {url}: {str(exc).splitlines()[0]}") from None


def cmd_pki_init(args: argparse.Namespace) -> int:
    home = _home(args)
    made = home.init(tuple(args.hostname) or ("localhost", "127.0.0.1"))
    print(f"pki: {'created' if made else 'already present'} in {home.path}")
    if args.owner:
        home.hand_to(args.owner)
        print(f"pki: the serving files belong to {args.owner}; {home.ca_key.name} stays yours")
    return 0


def cmd_pki_official(args: argparse.Namespace) -> int:
    _home(args).set_official(name=args.name, nip=args.nip, title=args.title)
    print(f"official: {args.name} signs the documents approved from now on")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from server.migrate import current

    url, engine = _database(args, _ready_home(args))
    print(f"migrate: {url} at revision {current(engine)}")
    engine.dispose()
    return 0


def _request(db: Any, request_id: str) -> Any:
    from server.db import KioskRequest

    rows = list(
        db.scalars(
            select_requests(KioskRequest).where(KioskRequest.id.startswith(request_id.strip()))
        )
    )
    if len(request_id.strip()) < 8 or len(rows) != 1:
        raise CannotRun(f"no single certificate request {request_id!r} (adm-server pki requests)")
    return rows[0]


def select_requests(model: Any) -> Any:
    from sqlalchemy import select

    return select(model).order_by(model.created_at)


def cmd_pki_requests(args: argparse.Namespace) -> int:
    from server.db import KioskRequest, session_factory

    _, engine = _database(args, _ready_home(args))
    with session_factory(engine)() as db:
        query = select_requests(KioskRequest)
        if not args.all:
            query = query.where(KioskRequest.status == "pending")
        rows = list(db.scalars(query))
    for r in rows:
        at = r.created_at.strftime("%Y-%m-%d %H:%M")
        print(f"{r.id[:12]}  {r.kiosk_id:24s} {r.status:8s} {at}  {r.fingerprint}")
    if not rows:
        print("no certificate requests waiting" if not args.all else "no certificate requests")
    return 0


def cmd_pki_sign(args: argparse.Namespace) -> int:
    """Sign a kiosk's request where the CA key is kept; the kiosk's key stays on the
    kiosk.  The fingerprint the technician reads from the kiosk must be the request's:
    anyone can send a request in a kiosk's name, only the kiosk shows its key."""
    from server import officer
    from server.db import AuditEntry, session_factory, utcnow

    home = _ready_home(args)
    _, engine = _database(args, home)
    given = "".join(c for c in args.fingerprint.lower() if c in "0123456789abcdef")
    with session_factory(engine)() as db:
        row = _request(db, args.request)
        if row.status != "pending":
            raise PkiError(f"request {row.id[:12]} is {row.status}, not waiting")
        if given != row.fingerprint:
            who = _person(args)
            db.add(
                AuditEntry(
                    actor=who,
                    action="kiosk_key_fingerprint_mismatch",
                    subject=row.kiosk_id,
                    detail={"request": row.id[:8]},
                )
            )
            db.commit()
            raise PkiError(
                f"the fingerprint does not match request {row.id[:12]} of {row.kiosk_id}: "
                "not signed (is the request the kiosk's own?)"
            )
        cert, serial = home.sign_kiosk_request(row.csr)
        who = _person(args)
        row.cert, row.serial, row.status = cert, serial, "signed"
        row.decided_at, row.decided_by = utcnow(), who
        officer.register_kiosk(db, row.kiosk_id, serial, officer=who)  # commits
    print(f"kiosk {row.kiosk_id}: certificate {serial} signed; the kiosk collects it")
    return 0


def cmd_pki_reject(args: argparse.Namespace) -> int:
    from server.db import AuditEntry, session_factory, utcnow

    _, engine = _database(args, _ready_home(args))
    with session_factory(engine)() as db:
        row = _request(db, args.request)
        if row.status != "pending":
            raise PkiError(f"request {row.id[:12]} is {row.status}, not waiting")
        who = _person(args)
        row.status, row.decided_at, row.decided_by = "rejected", utcnow(), who
        db.add(
            AuditEntry(
                actor=who, action="kiosk_key_rejected", subject=row.kiosk_id,
                detail={"request": row.id[:8]},
            )
        )  # fmt: skip
        db.commit()
    print(f"request {row.id[:12]} of {row.kiosk_id}: rejected")
    return 0


def _password(args: argparse.Namespace) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CannotRun("the two passwords differ")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    from server.console import accounts
    from server.db import session_factory

    home = _ready_home(args)
    _, engine = _database(args, home)
    actor = _person(args).replace("officer:", "cli:", 1)
    with session_factory(engine)() as db:
        try:
            if args.user_cmd == "add":
                secret = accounts.add_user(
                    db, args.username, args.role, _password(args), totp=args.totp, actor=actor
                )
                print(f"user {args.username} added ({args.role})")
                if secret:
                    import pyotp

                    uri = pyotp.TOTP(secret).provisioning_uri(name=args.username, issuer_name="ADM")
                    print(f"authenticator secret (enrol it now, it is not shown again): {secret}")
                    print(f"  {uri}")
            elif args.user_cmd == "passwd":
                accounts.set_password(db, args.username, _password(args), actor=actor)
                print(f"user {args.username}: password set; its sessions ended")
            elif args.user_cmd == "totp":
                import pyotp

                secret = accounts.set_totp(db, args.username, actor=actor)
                uri = pyotp.TOTP(secret).provisioning_uri(name=args.username, issuer_name="ADM")
                print(f"authenticator secret (enrol it now, it is not shown again): {secret}")
                print(f"  {uri}")
            elif args.user_cmd in ("disable", "enable"):
                accounts.set_disabled(db, args.username, args.user_cmd == "disable", actor=actor)
                print(f"user {args.username}: {args.user_cmd}d")
            else:
                for u in accounts.users(db):
                    flags = " ".join(
                        f for f, on in (("totp", u.totp_secret), ("disabled", u.disabled)) if on
                    )
                    print(f"{u.username:24s} {u.role:11s} {flags}")
        except accounts.AccountError as exc:
            raise CannotRun(str(exc)) from None
    return 0


def cmd_metrics_token(args: argparse.Namespace) -> int:
    home = _ready_home(args)
    token = home.new_metrics_token()
    print(token)
    print(
        f"(shown once; its hash is in {home.metrics_token_file}; restart the server to use it)",
        file=sys.stderr,
    )
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    """Publish a release (its digest recorded, the bundle copied where the API serves it)
    or list them.  The bundle's signature is not checked here: the server is not what
    kiosks trust for that, their own keyring is (docs/server.md, "Fleet updates")."""
    import hashlib
    import shutil

    from server import rollout
    from server.db import Release, session_factory

    home = _ready_home(args)
    _, engine = _database(args, home)
    with session_factory(engine)() as db:
        if args.release_cmd == "list":
            for r in db.query(Release).order_by(Release.published_at):
                at = f"{r.published_at:%Y-%m-%d %H:%M}"
                print(f"{r.version:<16} {r.size:>12} {r.sha256[:16]}  {at}  {r.url}")
            for version, count in rollout.versions(db):
                print(f"running {version or '(not reported)'}: {count} kiosk(s)")
            return 0
        bundle: Path = args.bundle
        if not bundle.is_file():
            print(f"adm-server: {bundle}: no such file", file=sys.stderr)
            return 1
        digest, size = hashlib.sha256(), 0
        with bundle.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        try:
            release = rollout.publish(
                db, args.version, digest.hexdigest(), size, args.url, _person(args)
            )
        except rollout.RolloutError as exc:
            reason = {"version": "not a valid version", "exists": "already published"}
            print(f"adm-server: {args.version}: {reason.get(str(exc), exc)}", file=sys.stderr)
            return 1
        if args.url is None:
            home.releases_dir.mkdir(parents=True, exist_ok=True)
            target = home.releases_dir / f"{args.version}.bundle"
            partial = target.with_suffix(".partial")
            shutil.copyfile(bundle, partial)
            with partial.open("rb") as f:
                os.fsync(f.fileno())
            partial.replace(target)  # kiosks never see half a bundle
        db.commit()
        print(f"published {release.version}: {size} bytes, sha256 {release.sha256}, {release.url}")
    return 0


def cmd_pki_revoke(args: argparse.Namespace) -> int:
    from server import officer
    from server.db import session_factory

    _, engine = _database(args, _ready_home(args))
    with session_factory(engine)() as db:
        officer.revoke_kiosk(db, args.kiosk_id)
    print(f"kiosk {args.kiosk_id}: revoked")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    home = _ready_home(args)
    if os.access(home.ca_key, os.R_OK):
        # Signing is not this process's job (adm-server pki sign-kiosk is, where the CA
        # key is kept); a readable CA key here is one a network-facing process could leak.
        print(
            f"adm-server: warning: the CA key {home.ca_key} is readable by the serving "
            "process; keep it on the office's signing host (see docs/server.md)",
            file=sys.stderr,
        )
    url, engine = _database(args, home)
    engine.dispose()
    return _serve(args, home, url)


def cmd_officer(args: argparse.Namespace) -> int:
    from server.db import session_factory

    home = _ready_home(args)
    _, engine = _database(args, home)
    with session_factory(engine)() as db:
        return _officer(args, db, home)


def _person(args: argparse.Namespace) -> str:
    """The person behind an officer command, for the audit log (never just "officer")."""
    import getpass

    who = getattr(args, "person", None) or os.environ.get("ADM_OFFICER") or ""
    if not who:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            raise CannotRun("who is acting? give --as NAME (or set ADM_OFFICER)") from None
    return f"officer:{who}"[:64]


def _officer(args: argparse.Namespace, db: Any, home: ServerHome) -> int:
    from sqlalchemy import select

    from server import officer
    from server.db import Outbox, utcnow
    from server.sealing import unseal

    pepper = home.pepper()
    who = _person(args)
    cmd = args.off_cmd
    if cmd == "register":
        data = json.loads(args.data.read_text(encoding="utf-8")) if args.data else {}
        app = officer.register(db, args.kind, args.nik, data, officer=who)
        print(f"application {app.id} registered ({app.kind})")
    elif cmd == "approve":
        done = officer.approve(
            db,
            pepper,
            args.application_id,
            home.official(),
            officer=who,
            sender=home.sender_public(),
        )
        print(f"document {done.document.number} approved; print code {done.print_code}")
        print("(the code waits in the outbox for the citizen, sealed for the sender)")
    elif cmd == "revoke":
        officer.revoke(db, args.number, reason=args.reason, officer=who)
        print(f"document {args.number}: revoked")
    elif cmd == "release":
        res = officer.release(db, args.job, officer=who)
        print(f"print job {res.job_id} of kiosk {res.kiosk_id}: released; document printable again")
    elif cmd == "held":
        for res in officer.held(db):
            since = f"{res.settled_at:%Y-%m-%d %H:%M}" if res.settled_at else "?"
            print(f"{res.job_id}  kiosk {res.kiosk_id}  since {since}  {res.reason}")
    elif cmd == "resolve":
        res = officer.resolve_hold(db, args.job, printed=args.printed, officer=who)
        end = "printed" if args.printed else "offered again"
        print(f"print job {res.job_id} of kiosk {res.kiosk_id}: {end}")
    elif cmd == "supersede":
        officer.supersede(db, args.old, args.new, officer=who)
        print(f"document {args.old}: superseded by {args.new}")
    elif cmd == "reissue-code":
        code = officer.reissue_code(
            db, pepper, args.number, officer=who, sender=home.sender_public()
        )
        print(f"document {args.number}: new print code {code}")
    elif cmd == "set-pin":
        officer.set_pin(db, pepper, args.nik, args.pin, officer=who)
        print("PIN set")
    elif cmd == "qr-token":
        print(officer.qr_token(db, pepper, args.nik, officer=who, sender=home.sender_public()))
    elif cmd == "documents":
        for d in officer.documents(db, args.nik):
            print(f"{d.id:5d}  {d.number:32s} {d.kind:16s} {d.status:10s} {d.printed_kiosk or ''}")
    elif cmd == "kiosks":
        for k in officer.kiosks(db):
            seen = k.last_seen.isoformat(timespec="seconds") if k.last_seen else "never"
            print(f"{k.id:20s} {k.status:8s} last seen {seen}  {json.dumps(k.last_status)}")
    elif cmd == "outbox":
        # This command is the sender: it opens each waiting message's sealed secret with
        # the sender's key, hands the message over (here: prints it), then deletes the
        # secret.  What stays in the database is the text without it.
        sender = None
        for m in db.scalars(select(Outbox).order_by(Outbox.id)):
            masked = f"{m.nik[:6]}******{m.nik[-4:]}"
            if m.sent_at is not None:
                print(f"{m.id:5d} {masked}  sent {m.sent_at:%Y-%m-%d %H:%M}")
                continue
            text = m.text
            if m.sealed is not None:
                sender = sender or home.sender_private()
                text = text.replace("{secret}", unseal(sender, m.sealed))
            print(f"{m.id:5d} {masked}  {text}")
            m.sealed, m.sent_at = None, utcnow()
        db.commit()
    return 0


def _https_only(address: str) -> None:
    """The online status is believed only from a server that proved itself with the
    deployment's CA: an address that is not https could be answered by anyone on the
    path, so it is refused before anything is sent."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(address)
        ok = parts.scheme == "https" and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise CannotRun(
            f"--online {address!r}: not an https:// address; the status is believed only "
            "over TLS checked against the deployment CA"
        )


def cmd_verify(args: argparse.Namespace) -> int:
    """Offline: the signature with the issuer key (and the other offices' keys of
    server.toml).  Online: the document's state from the server, over TLS checked against
    the deployment CA (an impostor answering "valid" for a revoked document must not be
    believed).  Takes a seal link or token, or an older ``ADM1.`` text (paper printed
    before seals keeps verifying)."""
    from protocol import seal
    from protocol.signing import QR_PREFIX, SignatureError, load_public_key, verify_qr

    if args.online:
        _https_only(args.online)
    home = _home(args)
    key_file = Path(args.key or home.issuer_pub)
    try:
        key = load_public_key(key_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise CannotRun(f"issuer key {key_file}: {exc}") from None
    if args.qrtext.strip().startswith(QR_PREFIX + "."):
        fields = verify_qr(key, args.qrtext)
        print(f"signature: valid (issuer key {key_file})")
        print(f"document: {fields.get('k')} {fields.get('n')}")
        path = f"/verify/{fields.get('v')}"
    else:
        token = seal.token_of(args.qrtext)
        peers = home.verification().peers if home.config_file.is_file() else {}
        keys = {seal.raw_key_id(key): key} | {kid: p.key for kid, p in peers.items()}
        found, kid = seal.check(token, keys)
        signer = f"issuer key {key_file}" if kid == seal.raw_key_id(key) else peers[kid].office
        print(f"signature: valid ({signer})")
        print(f"document: {found.kind} {found.number} issued {found.issued.isoformat()}")
        path = f"/v/{token}"
    if not args.online:
        return 0
    import ssl

    import httpx

    ca = Path(args.ca or home.ca_cert)
    try:
        context = ssl.create_default_context(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        raise CannotRun(f"CA certificate {ca}: {exc}") from None
    url = f"{args.online.rstrip('/')}{path}"
    try:
        answer = httpx.get(url, verify=context, timeout=10, headers={"Accept-Language": "en"})
        if path.startswith("/verify/"):
            answer.raise_for_status()
            status = answer.json()["status"]
        else:
            found_state = re.search(r'data-state="([a-z_]+)"', answer.text)
            if found_state is None:
                raise ValueError("no verdict")
            status = found_state.group(1)
    except httpx.HTTPError as exc:
        raise SignatureError(f"online check at {args.online} failed: {exc}") from None
    except (ValueError, KeyError, TypeError, RecursionError):
        raise SignatureError(f"online check at {args.online}: not a verification answer") from None
    print(f"status: {status}")
    return 0 if status in ("valid", "active") else 1


def cmd_db(args: argparse.Namespace) -> int:
    """``db status | backup | restore``: asks the nodes, pg_auto_failover's replication
    and pgBackRest (server.dbops); never replicates or archives by itself."""
    from server import dbops

    home = _home(args)
    url = _url(args, home)
    try:
        backup = dbops.BackupConfig.load(home.config_file)
        if args.db_cmd == "status":
            found = dbops.health(url, backup)
            print("\n".join(dbops.describe(found, dbops.now())))
            return 0 if found.dialect == "sqlite" or found.primary is not None else 1
        if args.db_cmd == "backup":
            if not url.startswith("postgresql"):
                stamp = dbops.now().strftime("%Y%m%dT%H%M%SZ")
                out = args.out or home.path / "backups" / f"server-{stamp}.db"
                print(f"copied to {dbops.sqlite_backup(url, out)}")
                return 0
            backup.run("backup", f"--type={args.type}")
            when = dbops.last_backup(backup)
            print(f"{args.type} backup done; newest backup finished {when:%Y-%m-%d %H:%M:%S} UTC")
            return 0
        dbops.restore(backup, args.to, args.pgdata)
        print(
            f"restored to {args.to} in {args.pgdata}: start it (pg_ctl -D {args.pgdata} start), "
            "check it, then make it the cluster's new first node"
        )
        return 0
    except dbops.DbOpsError as exc:
        print(f"adm-server: {exc}", file=sys.stderr)
        return 1


def cmd_verifier_page(args: argparse.Namespace) -> int:
    """The offline checker with this server's issuer key and its peers' keys embedded:
    a verifier without network opens the file in a browser."""
    from server.public import offline_page, public_keys

    home = _ready_home(args)
    config = home.verification()
    office = config.office or str(home.official().get("title", "")) or "Dukcapil"
    html, _csp = offline_page(public_keys(home.issuer().public, office, config), args.lang)
    args.out.write_text(html, encoding="utf-8")
    print(f"offline checker written to {args.out} ({1 + len(config.peers)} issuer keys)")
    return 0


class _WorkerDeaths:
    """A logging filter for uvicorn's supervisor: its notice that a worker process died
    is an INFO line, lost at the warning level a server runs at.  A dying worker is an
    error an operator must see; the rest of uvicorn's INFO chatter stays out."""

    def filter(self, record: Any) -> bool:
        import logging

        text = record.getMessage()
        if text.startswith("Child process [") and text.endswith("died"):
            pid = text[len("Child process [") : text.index("]")]
            record.msg, record.args = "worker process %s died; a new one is started", (pid,)
            record.levelno, record.levelname = logging.ERROR, "ERROR"
            return True
        return bool(record.levelno >= logging.WARNING)


LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"deaths": {"()": _WorkerDeaths}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "plain",
            "filters": ["deaths"],
        }
    },
    "loggers": {
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "adm": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}


def _notify_when_serving(port: int, home: ServerHome, workers: int) -> None:
    """Under systemd (``Type=notify``): READY=1 once the API answers on its port.  The
    migrations ran before (``cmd_serve`` migrates, then serves)."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return
    import ssl
    import threading
    import time
    import urllib.request

    from protocol.notify import Notifier

    def wait() -> None:
        ctx = ssl.create_default_context(cafile=str(home.ca_cert))
        ctx.check_hostname = False  # asking itself on the loopback address
        for _ in range(600):
            try:
                with urllib.request.urlopen(
                    f"https://127.0.0.1:{port}/api/v1/health", context=ctx, timeout=2
                ) as answer:
                    if answer.status == 200:
                        Notifier().ready(f"serving on port {port} with {workers} worker(s)")
                        return
            except OSError:
                pass
            time.sleep(0.2)

    threading.Thread(target=wait, name="notify-ready", daemon=True).start()


def _journal_config() -> dict[str, Any]:
    """``LOG_CONFIG`` with the journal's native socket instead of stderr (under systemd)."""
    config = json.loads(json.dumps(LOG_CONFIG, default=str))
    config["filters"] = LOG_CONFIG["filters"]
    config["handlers"]["stderr"] = {
        "()": "protocol.journal.JournalHandler",
        "identifier": "adm-server",
        "filters": ["deaths"],
    }
    return config


def _serve(args: argparse.Namespace, home: ServerHome, url: str) -> int:
    import uvicorn

    from protocol import journal
    from server.tls import ConnectionLimits, uvicorn_tls_options

    limits = ConnectionLimits(
        head_timeout=args.head_timeout,
        body_timeout=2 * args.head_timeout,
        max_connections=args.max_connections,
    )
    os.environ.update(limits.to_env())  # for the worker processes (server.tls)
    os.environ["ADM_SERVER_HOME"] = str(home.path)
    os.environ["ADM_SERVER_DB"] = url
    if args.workers > 1:
        # The workers' request latencies add up in /metrics (prometheus-client's files),
        # started empty: counts from an earlier run are not this run's.
        # In the unit's runtime folder (RuntimeDirectory=): the key folder is not the
        # serving user's to write in (pki init --owner), and these files die with the run.
        shared = Path(os.environ.get("RUNTIME_DIRECTORY", home.path)) / "metrics-mp"
        shutil.rmtree(shared, ignore_errors=True)
        shared.mkdir(mode=0o700)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    if args.db_threads is not None:
        os.environ["ADM_SERVER_DB_THREADS"] = str(args.db_threads)
    _notify_when_serving(args.port, home, args.workers)
    uvicorn.run(
        "server.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=_journal_config() if journal.wanted() else LOG_CONFIG,
        **uvicorn_tls_options(home),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
