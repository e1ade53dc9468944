"""``adm-kiosk``: run the kiosk, run it in simulation, check a configuration.

This is the entry layer: the one place that may reach the screens (``ui``) and the
simulator (``sim``) as well as the kiosk.  The screen-bearing commands import them
lazily, so ``config check`` works on a machine without a display stack.

Exit codes, the same in ``adm-kiosk``, ``adm-server`` and ``adm-sim``: 0 done; 1 the
operation ran and failed (a check failed, a device or the server refused); 2 it could
not run (bad arguments, a bad or missing configuration, a missing file).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kiosk import config as kconfig


def _logging(verbose: bool) -> None:
    from protocol import journal

    level = logging.DEBUG if verbose else logging.INFO
    if journal.wanted():
        # Under systemd: structured entries on the journal's socket (the journal adds
        # the time; the unit's name and the kiosk's fields identify the entry).
        handler: logging.Handler = journal.JournalHandler("adm-kiosk")
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        logging.basicConfig(level=level, handlers=[handler])
    else:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    # The state-machine library narrates every callback at INFO; the flow logs transitions.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Migrations narrate every plugin and step; the store reports what matters.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _config(args: argparse.Namespace) -> kconfig.Config | None:
    """The configuration named by ``--config`` (default /etc/adm/kiosk.toml); None after
    printing the error, which names the key."""
    try:
        return kconfig.load(Path(args.config) if args.config else kconfig.SYSTEM_FILE)
    except kconfig.ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return None


def _compose(cfg: kconfig.Config) -> Any:
    """The kiosk for ``cfg``: real parts for production, the simulator's for a demo."""
    if cfg.kiosk.mode == "demo":
        from sim.compose import build

        return build(cfg)
    from kiosk.app import KioskApp

    return KioskApp(cfg)


def cmd_simulate(args: argparse.Namespace) -> int:
    headless = args.headless or (not args.window and not _has_display())
    if headless:
        from sim.demo import run_demo
        from sim.rig import Rig

        out = Path(args.out)
        result = run_demo(out, lang=args.lang)
        env = {**os.environ, **Rig().env()}
        print()
        print("ADM kiosk simulation: one citizen session, headless")
        print(f"  citizen      {result.name} (NIK {result.masked_nik})")
        for doc in result.documents:
            jobs = subprocess.run(
                ["lpstat", "-W", "completed", "-o", doc.queue],
                capture_output=True,
                text=True,
                env=env,
            ).stdout.splitlines()
            done = [j for j in jobs if j.startswith(f"{doc.queue}-{doc.cups_job} ")]
            print(f"  document     {doc.title} {doc.number}")
            print(
                f"    CUPS job   {doc.queue}-{doc.cups_job} "
                f"({'completed' if done else 'not in the completed list'})"
            )
            if doc.card_serial:
                print(f"    blank card {doc.card_serial} (consumed)")
            print(f"    paper      {doc.spool_file}")
            print(f"    PDF copy   {doc.pdf}")
        print(f"  screenshots  {len(result.screenshots)} in {out}/")
        for shot in result.screenshots:
            print(f"               {shot.name}")
        return 0

    from sim.rig import Rig

    rig = Rig()
    rig.up()
    try:
        cfg = kconfig.load(Path(args.config) if args.config else kconfig.DEMO_FILE)
    except kconfig.ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    if cfg.server.backend == "embedded" and not args.config:
        # The demo server's database and keys live with the rig, not in the working folder.
        cfg.server.database = f"sqlite:///{rig.dir / 'demo-server.db'}"
        cfg.server.home = str(rig.dir / "server-home")
        cfg.kiosk.store = str(rig.dir / "kiosk.db")
    if cfg.kiosk.mode != "demo":
        print("adm-kiosk simulate: the configuration is not a demo", file=sys.stderr)
        return 2
    process = None
    if cfg.server.backend == "embedded":
        # First: the server starts on the other core while the kiosk imports its stack.
        from sim.server_process import ServerProcess

        process = ServerProcess(cfg.server.database, Path(cfg.server.home), cfg.kiosk.id)
        process.spawn()
    from sim.compose import build_with_server, use_rig
    from ui.main import run_windowed

    use_rig(cfg, rig)
    app, server = build_with_server(cfg, server_process=process)

    def panel() -> Any:
        from sim.panel import SimulatorPanel

        return SimulatorPanel(rig, server)

    print("Kiosk window open, with the simulator panel beside it (or: adm-sim card insert NIK)")
    return run_windowed(app, companion=panel)


def cmd_run(args: argparse.Namespace) -> int:
    from ui.main import run_windowed

    cfg = _config(args)
    if cfg is None:
        return 2
    try:
        app = _compose(cfg)
    except kconfig.ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    return run_windowed(app)


def cmd_config_check(args: argparse.Namespace) -> int:
    try:
        cfg = kconfig.load(Path(args.file))
    except kconfig.ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.file}: OK ({cfg.kiosk.mode})")
    return 0


def cmd_config_template(args: argparse.Namespace) -> int:
    print(kconfig.template(), end="")
    return 0


def cmd_pin_hash(args: argparse.Namespace) -> int:
    """Read a technician PIN (twice, from the terminal, or once from stdin) and print the
    value for ``technician.pin_hash``."""
    import getpass

    from kiosk.technician import DEMO_PIN, hash_pin

    if sys.stdin.isatty():
        pin = getpass.getpass("technician PIN: ")
        if getpass.getpass("again: ") != pin:
            print("the two PINs differ", file=sys.stderr)
            return 2
    else:
        pin = sys.stdin.readline().strip()
    if pin == DEMO_PIN:
        print("that is the demo PIN; a production kiosk refuses it", file=sys.stderr)
        return 2
    try:
        print(hash_pin(pin))
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


def cmd_card_read(args: argparse.Namespace) -> int:
    """Read the card on the reader the way the kiosk does, for a technician."""
    import json
    import time

    from drivers.card.base import CardError
    from drivers.card.ektp import ReadStats
    from kiosk.card_service import make_card_service
    from protocol.nik import mask_nik

    cfg = _config(args)
    if cfg is None:
        return 2
    try:
        service = make_card_service(cfg)  # refuses a simulated reader, naming the key
    except kconfig.ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    stats = ReadStats()
    report: dict[str, object] = {"reader": cfg.card.reader, "sam_reader": cfg.card.sam_reader}
    started = time.perf_counter()
    try:
        service.open()
        info = getattr(service.sam, "info", None)
        if callable(info):
            report["sam"] = info()
        data = service.read(stats)
    except CardError as exc:
        report.update(status="error", error=type(exc).__name__, message=str(exc))
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"card read failed: {exc}", file=sys.stderr)
        return 1
    finally:
        service.close()
    bio = data.biodata
    report.update(
        status="ok",
        nik=mask_nik(bio.nik),
        name=bio.name,
        birth_date=bio.birth_date.isoformat(),
        sex=bio.sex,
        kabupaten=bio.kabupaten,
        province=bio.province,
        expiry=bio.expiry,
        chip_serial=data.capability.serial.hex(),
        signature="valid",
        photo_bytes=len(data.photo),
        template_bytes=[len(t) for t in data.templates],
        apdus=stats.apdus,
        bytes_received=stats.bytes_in,
        ms_total=round((time.perf_counter() - started) * 1000, 1),
        ms_per_phase={k: round(v * 1000, 1) for k, v in stats.phases.items()},
    )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:15} {value}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check the audit log's hash chain; exit 1 naming the first broken row."""
    from kiosk.store import KioskStore, StoreError

    path = args.store
    if path is None:
        cfg = _config(args)
        if cfg is None:
            return 2
        path = cfg.kiosk.store
    if not path or not Path(path).exists():
        print(f"no kiosk store at {path!r}", file=sys.stderr)
        return 2
    try:
        store = KioskStore(Path(path))
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    report = store.verify_audit()
    store.close()
    if report.ok:
        print(f"audit log intact: {report.rows} events")
        return 0
    print(f"audit log TAMPERED: {report.problem}", file=sys.stderr)
    return 1


class _SerialProbe:
    """The serial devices for ``diagnostics``: opened once, checked, tested live."""

    def __init__(self, matcher: Any, scanner: Any) -> None:
        import threading

        self.matcher, self.scanner = matcher, scanner
        self.codes: list[str] = []
        self._scanned = threading.Event()
        if matcher is not None:
            # A failure is reported by its check, with the module's own error.
            with contextlib.suppress(Exception):
                matcher.open()
        if scanner is not None:
            scanner.start(self._code)
            scanner.wait_ready(2.0)  # reported by its check if it does not open

    def _code(self, text: str) -> None:
        self.codes.append(text)
        self._scanned.set()

    def checks(self) -> list[Any]:
        from kiosk.diagnostics import finger_check, qr_check

        out = []
        if self.matcher is not None:
            out.append(finger_check(self.matcher))
        if self.scanner is not None:
            out.append(qr_check(self.scanner))
        return out

    def live_tests(self, finger: bool, qr: bool) -> bool:
        ok = True
        if finger:
            if self.matcher is None:
                print("✕  finger test: no fingerprint module configured")
                ok = False
            else:
                print("   place a finger on the sensor (10 s)…", flush=True)
                try:
                    print(f"✓  finger test: {self.matcher.capture_test(10.0)}")
                except Exception as exc:
                    print(f"✕  finger test: {exc}")
                    ok = False
        if qr:
            if self.scanner is None:
                print("✕  QR test: no QR scanner configured")
                ok = False
            else:
                print("   scan any code (10 s)…", flush=True)
                if self._scanned.wait(10.0):
                    print(f"✓  QR test: a code of {len(self.codes[-1])} characters read")
                else:
                    print("✕  QR test: nothing read within 10 s")
                    ok = False
        return ok

    def close(self) -> None:
        if self.matcher is not None:
            self.matcher.close()
        if self.scanner is not None:
            self.scanner.stop()


# What a production configuration still needs after provisioning, in plain words.
_STILL_NEEDED = (
    ("card.reader", "the e-KTP reader's PC/SC name (pcsc_scan lists the readers)"),
    ("card.sam_reader", "the SAM slot's PC/SC name (pcsc_scan lists the readers)"),
    ("technician.pin_hash", "a technician PIN (make its hash with 'adm-kiosk pin-hash')"),
)


def cmd_provision(args: argparse.Namespace) -> int:
    """Key and request → the office signs → certificate, configuration, checks.  Exit 0
    ready, 1 something missing (or the office has not signed yet: run again), 2 it
    cannot be done (a bad answer, a missing CA, an unreadable request record)."""
    import json
    import time

    from kiosk import provision as prov
    from protocol.identity import key_fingerprint, spoken

    etc = Path(args.etc)
    keys = etc / "keys"
    key_file, state_file = keys / "kiosk.key", keys / "request.json"
    try:
        ca_pem = Path(args.ca).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"✕  the deployment CA certificate {args.ca}: {exc}")
        return 2
    try:
        client = _EnrolmentClient(args.server, Path(args.ca))
        state = prov.read_state(state_file)
        if state is not None and args.id and state["kiosk_id"] != args.id:
            raise prov.EnrolmentError(
                f"{state_file}: a request of kiosk {state['kiosk_id']!r} waits; remove it "
                "to request for another id"
            )
        if state is None:
            if not args.id:
                raise prov.EnrolmentError("--id: this kiosk's id is needed for its first request")
            if key_file.exists() and not args.new_key:
                key = prov.load_key(key_file)  # a key made before: it is asked for again
            else:
                key = prov.new_key()
                prov.write_private(key_file, prov.key_pem(key), args.owner or None)
            answer = client.request(prov.request_pem(key, args.id))
            state = {
                "request": str(answer["request"]),
                "kiosk_id": args.id,
                "fingerprint": str(answer["fingerprint"]),
            }
            if state["fingerprint"] != key_fingerprint(key.public_key()):
                raise prov.EnrolmentError("the server recorded another key than this kiosk's")
            prov.write_private(state_file, json.dumps(state), args.owner or None)
            print(f"✓  key made on this kiosk: {key_file} (0600; it never leaves the kiosk)")
            print(f"✓  certificate request sent for kiosk {args.id}")
        key = prov.load_key(key_file)
        print("   read this to the office, who signs with:")
        print(f"     adm-server pki sign-kiosk {state['request'][:12]} --fingerprint \\")
        print(f"       {spoken(state['fingerprint'])}")
        deadline = time.monotonic() + max(0.0, args.wait)
        while True:
            answer = client.collect(state["request"])
            if answer["status"] != "pending" or time.monotonic() >= deadline:
                break
            time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
        if answer["status"] == "rejected":
            state_file.unlink(missing_ok=True)
            print("✕  the office refused this request; run again to send a new one")
            return 1
        if answer["status"] != "signed":
            print("…  not signed yet; run this again once the office has signed it")
            return 1
        signed = prov.Signed(
            state["kiosk_id"], str(answer["cert"]), ca_pem, str(answer["issuer_key"])
        )
        prov.check_signed(signed, key, ca_pem)
        files = prov.install(signed, keys, args.owner or None)
    except prov.EnrolmentError as exc:
        print(f"✕  {exc}")
        return 2
    except _ProvisionServerError as exc:
        print(f"✕  central server: {exc}")
        return 1
    state_file.unlink(missing_ok=True)
    print(f"✓  certificate of kiosk {signed.kiosk_id}: signed by the deployment CA, for this key")
    print(f"✓  installed in {files.key.parent} (certificate 0640)")
    config = etc / "kiosk.toml"
    prov.write_config(
        config, kconfig.template(), signed.kiosk_id, args.server, files, args.owner or None
    )
    print(f"✓  configuration written: {config}")
    missing: list[str] = []
    cfg = kconfig.parse(_toml(config))
    for key_name, words in _STILL_NEEDED:
        section, name = key_name.split(".")
        if not getattr(getattr(cfg, section), name):
            missing.append(f"{key_name}: {words}")
    issuer = kconfig.issuer_key_path(cfg, etc)
    if not issuer.is_file():
        missing.append(f"card.issuer_key: the e-KTP issuer's public key is not at {issuer}")
    ok = _provision_server(cfg)
    ok = _provision_devices(cfg) and ok
    if missing:
        print("✕  still missing in the configuration:")
        for line in missing:
            print(f"     {line}")
    else:
        try:
            kconfig.load(config)
            print("✓  configuration check passed")
        except kconfig.ConfigError as exc:
            print(f"✕  configuration: {exc}")
            ok = False
    return 0 if ok and not missing else 1


def cmd_enrol(args: argparse.Namespace) -> int:
    """At every boot of an image, before the kiosk: the enrolment file applied, the
    printer queues made, and, on a kiosk without a certificate, the provisioning run
    until the office signs (kiosk/enrol.py).  Exit 0 enrolled (or nothing to do), 1 not
    enrolled yet (the kiosk then starts out of service and says why), 2 a bad file."""
    import time

    from kiosk import enrol
    from kiosk import provision as prov

    etc = Path(args.etc)
    keys = etc / "keys"
    try:
        with enrol.source(etc) as found:
            if found is None:
                printers = enrol.load_printers(etc)
                if not printers and not (keys / "kiosk.pem").is_file():
                    print(
                        "no enrolment file (/etc/adm/enrolment.toml or a disk labelled "
                        f"{enrol.ENROL_LABEL}): nothing to do"
                    )
                    return 0
                data = None
            else:
                data = enrol.parse(found)
                printers = data.printers
                print(f"✓  enrolment file {found}: kiosk {data.kiosk_id} of {data.server}")
    except enrol.EnrolError as exc:
        print(f"✕  {exc}")
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"✕  the enrolment disk cannot be mounted: {exc.stderr!r}")
        return 2
    deadline = time.monotonic() + (data.wait if data else 60.0)
    if data is not None:
        keys.mkdir(parents=True, exist_ok=True)
        (keys / "ektp-issuer.pem").write_text(data.ektp_issuer_pem, encoding="utf-8")
        (keys / "ektp-issuer.pem").chmod(0o644)
        ca_file = keys / "deployment-ca.pem"
        ca_file.write_text(data.ca_pem, encoding="utf-8")
        ca_file.chmod(0o644)
        enrol.save_printers(etc, printers)
        values: dict[str, str | int | bool] = {
            "card.issuer_key": str(keys / "ektp-issuer.pem"),
            **data.config,
        }
        prov.set_values(etc / "kiosk.toml", kconfig.template(), values, args.owner or None)
        print(f"✓  configuration: {', '.join(sorted(values))}")
    missing = enrol.ensure_queues(printers, deadline)
    if (keys / "kiosk.pem").is_file() or data is None:
        return 1 if missing else 0
    ns = argparse.Namespace(
        server=data.server,
        ca=str(keys / "deployment-ca.pem"),
        id=data.kiosk_id,
        wait=0.0,
        new_key=False,
        etc=str(etc),
        owner=args.owner,
    )
    while True:
        ns.wait = max(0.0, min(60.0, deadline - time.monotonic()))
        code = cmd_provision(ns)
        if (keys / "kiosk.pem").is_file() or code == 2:
            break
        if time.monotonic() >= deadline:
            break
        time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
    # Enrolled once the certificate is in; a reader or scanner not answering yet is the
    # kiosk's to report (it starts out of service and says which).
    return 0 if (keys / "kiosk.pem").is_file() and code != 2 and not missing else 1


class _ProvisionServerError(Exception):
    pass


class _EnrolmentClient:
    """The two calls a kiosk without a certificate makes, over TLS checked against the
    deployment CA it was built with."""

    def __init__(self, url: str, ca: Path) -> None:
        import ssl

        import httpx

        self._httpx = httpx
        try:
            context = ssl.create_default_context(cafile=str(ca))
        except (OSError, ssl.SSLError) as exc:
            raise _ProvisionServerError(f"CA certificate {ca}: {exc}") from None
        self._client = httpx.Client(base_url=url.rstrip("/"), verify=context, timeout=20)

    def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        try:
            answer = self._client.request(method, path, **kw)
        except self._httpx.HTTPError as exc:
            raise _ProvisionServerError(f"unreachable: {exc}") from None
        try:
            body = answer.json()
        except ValueError:
            raise _ProvisionServerError(f"{answer.status_code}, not a JSON answer") from None
        if answer.status_code >= 400:
            detail = body.get("detail") if isinstance(body, dict) else None
            message = detail.get("message") if isinstance(detail, dict) else detail
            raise _ProvisionServerError(f"{answer.status_code}: {message}")
        states = ("pending", "signed", "rejected")
        if not isinstance(body, dict) or body.get("status") not in states:
            raise _ProvisionServerError("the answer has the wrong shape")
        return body

    def request(self, csr: str) -> dict[str, Any]:
        return self._call("POST", "/api/v1/enrolments", json={"csr": csr})

    def collect(self, request_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/v1/enrolments/{request_id}")


def _toml(path: Path) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(path.read_text(encoding="utf-8"))


def _provision_server(cfg: kconfig.Config) -> bool:
    """An authenticated call with the new certificate: reachable, and this kiosk known."""
    from kiosk.server_client import ServerClient, ServerRefused, ServerUnavailable, Tls

    s = cfg.server
    client = ServerClient(
        s.url,
        tls=Tls(Path(s.ca), Path(s.cert), Path(s.key)),
        issuer_key=Path(s.issuer_key),
        retries=0,
    )
    try:
        client.heartbeat("provisioning", {}, {})
        print(f"✓  server {s.url}: reachable, this kiosk's certificate accepted")
        return True
    except ServerUnavailable as exc:
        print(f"✕  server not reachable: {exc}")
    except ServerRefused as exc:
        print(f"✕  server refuses this kiosk: {exc}")
    finally:
        client.close()
    return False


def _provision_devices(cfg: kconfig.Config) -> bool:
    """The printer queues in CUPS and the card readers in PC/SC, as far as configured."""
    from kiosk.app import make_spooler
    from kiosk.card_service import make_card_service
    from printing.spooler import SpoolerError

    ok = True
    try:
        spooler = make_spooler(cfg)
        spooler.open()
        try:
            for queue in cfg.printer.queues.values():
                try:
                    spooler.printer_status(queue)
                    print(f"✓  printer queue {queue}")
                except SpoolerError as exc:
                    print(f"✕  no printer queue {queue}: {exc}")
                    ok = False
        finally:
            spooler.close()
    except (SpoolerError, kconfig.ConfigError) as exc:
        print(f"✕  printers: {exc}")
        ok = False
    if cfg.card.reader and cfg.card.sam_reader:
        try:
            service = make_card_service(cfg)
            service.open()
            service.close()
            print("✓  e-KTP reader and SAM found")
        except Exception as exc:
            print(f"✕  no e-KTP reader found: {exc}")
            ok = False
    return ok


ERROR_EVENTS = ("session_error", "device_unavailable", "out_of_service", "job_reconciled")


def _last_errors(store: Any, n: int) -> None:
    """The last errors the kiosk recorded (its audit log: no personal data beyond the
    masked NIK, and it is there whether or not journald is)."""
    events = store.audit_events_of(ERROR_EVENTS, limit=n)
    print(f"   last {len(events)} error(s):")
    for _id, at, kind, detail in events:
        what = ", ".join(f"{k}={v}" for k, v in detail.items())
        print(f"   {at}  {kind}  {what}"[:300])


def cmd_updater(args: argparse.Namespace) -> int:
    """The privileged updater beside the kiosk (kiosk/updater.py, adm-kiosk-update.service):
    RAUC installs, the server's bundle fetched with the kiosk's certificate.  Exit 0
    when this kiosk is updated by hand (no ``[updates] kiosk_dir``), 2 on a bad
    configuration; otherwise it runs until stopped."""
    import signal

    from drivers.update.rauc import RaucInstaller
    from kiosk.server_client import Tls
    from kiosk.update_link import UpdateLink
    from kiosk.updater import Fetcher, UpdateAgent

    cfg = _config(args)
    if cfg is None:
        return 2
    u, srv = cfg.updates, cfg.server
    if not u.kiosk_dir:
        print("updates.kiosk_dir is empty: this kiosk is updated by hand; nothing to do")
        return 0
    if not (srv.ca and srv.cert and srv.key):
        print("config error: server.ca, server.cert and server.key are needed", file=sys.stderr)
        return 2
    tls = Tls(Path(srv.ca), Path(srv.cert), Path(srv.key))
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    agent = UpdateAgent(
        UpdateLink(Path(u.kiosk_dir), Path(u.updater_dir)),
        RaucInstaller(),
        lambda target, dest: Fetcher(srv.url, tls.context())(target, dest),
        gate_seconds=float(u.gate_seconds),
    )
    if args.once:
        print(agent.step())
        return 0
    agent.run(poll=args.poll, stop=lambda: stopping)
    return 0


def cmd_diagnostics(args: argparse.Namespace) -> int:
    """The technician's checks from a terminal (printers, blank cards, server, pending
    print transactions), and the A4 test page; exit 1 when a check fails."""
    from kiosk.app import ServerLink, make_matcher, make_qr, make_spooler
    from kiosk.diagnostics import Diagnostics
    from kiosk.print_service import PrintService
    from kiosk.server_client import ServerClient
    from kiosk.store import KioskStore, StoreError
    from printing.card_stock import CardStock
    from printing.spooler import SpoolerError

    cfg = _config(args)
    if cfg is None:
        return 2
    try:  # each refuses a simulated backend, naming the key
        if cfg.kiosk.mode == "demo":  # the simulator's server, already running
            from sim.compose import running_server_link

            link = running_server_link(cfg)
        else:
            link = ServerLink.from_config(cfg)
        spooler = make_spooler(cfg)
        matcher = make_matcher(cfg)
        scanner = make_qr(cfg)
    except kconfig.ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    client = ServerClient(link.url, tls=link.tls, issuer_key=link.issuer_key, retries=0)
    try:
        spooler.open()
    except SpoolerError as exc:
        print(f"✕  CUPS: {exc}")
    store = None
    try:
        store = KioskStore(Path(cfg.kiosk.store)) if cfg.kiosk.store else None
    except StoreError as exc:
        print(f"✕  kiosk store: {exc}")
    stock = None
    span = cfg.printer.card_range
    if store is not None and span is not None:
        stock = CardStock(store)
        stock.load(span[0], span[1], {r.serial for r in store.records})
    printer = PrintService(
        client, spooler, card_stock=stock, store=store, queues=cfg.printer.queues
    )
    devices = _SerialProbe(matcher, scanner)
    diagnostics = Diagnostics(printer, None, cfg.kiosk.id, devices=devices.checks)
    ok = True
    try:
        from ui.texts import check_text

        for check in diagnostics.run_checks():
            ok = ok and check.ok
            name, detail = check_text(check.name, check.detail)
            print(f"{'✓' if check.ok else '✕'}  {name}: {detail}")
        if args.test_print:
            try:
                print(diagnostics.test_print())
            except SpoolerError as exc:
                print(f"✕  test page: {exc}")
                ok = False
        if args.finger_test or args.qr_test:
            ok = devices.live_tests(args.finger_test, args.qr_test) and ok
        if args.errors and store is not None:
            _last_errors(store, args.errors)
        if store is not None:
            store.audit("technician_cli_diagnostics", ok=ok, test_print=bool(args.test_print))
    finally:
        devices.close()
        spooler.close()
        client.close()
        if store is not None:
            store.close()
    return 0 if ok else 1


def _without_trio() -> None:
    """The kiosk speaks HTTP synchronously (httpx).  httpcore imports trio where it is
    installed (a browser-test tool pulls it in) only to serve trio event loops, which no
    kiosk runs: 0.2 s of every start.  The kiosk's process treats it as absent."""
    if "trio" not in sys.modules:
        sys.modules["trio"] = None  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    _without_trio()
    parser = argparse.ArgumentParser(prog="adm-kiosk", description="Anjungan Dukcapil Mandiri")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sim = sub.add_parser("simulate", help="every device simulated, embedded demo server")
    sim.add_argument("--headless", action="store_true", help="scripted session, screenshots")
    sim.add_argument("--window", action="store_true", help="open the window even without $DISPLAY")
    sim.add_argument("--out", default="demo-out", help="where the headless run writes")
    sim.add_argument(
        "--lang", choices=("id", "en"), default="id", help="the language the citizen picks"
    )
    sim.add_argument("--config", help="configuration file (window mode)")
    sim.set_defaults(func=cmd_simulate)
    run = sub.add_parser("run", help="run the kiosk with its configuration")
    run.add_argument("--config", help="configuration file (default: /etc/adm/kiosk.toml)")
    run.set_defaults(func=cmd_run)
    card = sub.add_parser("card", help="card reader tools")
    card_sub = card.add_subparsers(dest="card_cmd", required=True)
    read = card_sub.add_parser("read", help="read the e-KTP on the reader (NIK masked)")
    read.add_argument("--json", action="store_true", help="machine-readable output")
    read.add_argument("--config", help="configuration file (default: /etc/adm/kiosk.toml)")
    read.set_defaults(func=cmd_card_read)
    audit = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit.add_subparsers(dest="audit_cmd", required=True)
    verify = audit_sub.add_parser("verify", help="check the audit log's hash chain")
    verify.add_argument("--store", help="the kiosk store (default: kiosk.store of the config)")
    verify.add_argument("--config", help="configuration file (default: /etc/adm/kiosk.toml)")
    verify.set_defaults(func=cmd_audit_verify)
    diag = sub.add_parser("diagnostics", help="device and server checks for a technician")
    diag.add_argument("--config", help="configuration file (default: /etc/adm/kiosk.toml)")
    diag.add_argument("--test-print", action="store_true", help="also print the A4 test page")
    diag.add_argument(
        "--finger-test", action="store_true", help="live capture: place a finger within 10 s"
    )
    diag.add_argument("--qr-test", action="store_true", help="scan any code within 10 s")
    diag.add_argument(
        "--errors", type=int, default=0, metavar="N", help="also show the last N errors recorded"
    )
    diag.set_defaults(func=cmd_diagnostics)
    upd = sub.add_parser("updater", help="the privileged updater (adm-kiosk-update.service)")
    upd.add_argument("--config", help="configuration file (default: /etc/adm/kiosk.toml)")
    upd.add_argument("--once", action="store_true", help="one step, then print its state")
    upd.add_argument("--poll", type=float, default=5.0, help="seconds between steps")
    upd.set_defaults(func=cmd_updater)
    cfg = sub.add_parser("config", help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="config_cmd", required=True)
    check = cfg_sub.add_parser("check", help="validate a configuration file")
    check.add_argument("file")
    check.set_defaults(func=cmd_config_check)
    tpl = cfg_sub.add_parser("template", help="print the production file with every key")
    tpl.set_defaults(func=cmd_config_template)
    prov = sub.add_parser(
        "provision",
        help="make this kiosk's key, request its certificate, install it, write its "
        "configuration, check",
    )
    prov.add_argument("--server", required=True, help="the central server's kiosk API URL")
    prov.add_argument(
        "--ca", required=True, help="the deployment CA certificate (PEM) the server is checked by"
    )
    prov.add_argument("--id", default="", help="this kiosk's id (for its first request)")
    prov.add_argument(
        "--wait", type=float, default=0.0, help="seconds to wait for the office to sign"
    )
    prov.add_argument("--new-key", action="store_true", help="make a new key even if one is there")
    prov.add_argument("--etc", default="/etc/adm", help="configuration folder (/etc/adm)")
    prov.add_argument("--owner", default="adm-kiosk", help="the kiosk's user (adm-kiosk)")
    prov.set_defaults(func=cmd_provision)
    enr = sub.add_parser(
        "enrol",
        help="apply the enrolment file (/etc/adm/enrolment.toml or the ADM-ENROL disk): "
        "printers, configuration, provisioning (run at boot by adm-kiosk-enrol.service)",
    )
    enr.add_argument("--etc", default="/etc/adm", help="configuration folder (/etc/adm)")
    enr.add_argument("--owner", default="adm-kiosk", help="the kiosk's user (adm-kiosk)")
    enr.set_defaults(func=cmd_enrol)
    pin = sub.add_parser("pin-hash", help="hash a technician PIN for technician.pin_hash")
    pin.set_defaults(func=cmd_pin_hash)
    args = parser.parse_args(argv)
    _logging(args.verbose)
    try:
        return int(args.func(args))
    except ModuleNotFoundError as exc:
        if exc.name != "sim" and not str(exc.name).startswith("sim."):
            raise
        print(
            "adm-kiosk: this installation carries no simulator (the production package leaves "
            "it out, with its test keys); a demo runs from a source clone: make demo",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
