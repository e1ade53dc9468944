"""Property-based run against the server's OpenAPI spec: no input gives a server error.

Every operation in ``/openapi.json`` gets generated path parameters, headers and JSON
bodies (well-formed and malformed) from a kiosk with a valid client certificate and a
valid session, in-process over ASGI (the TLS layer is replaced by putting the kiosk's
verified certificate in the scope, as ``server.tls`` does).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import officer
from server.app import Settings, create_app
from server.db import make_engine, session_factory
from server.pki import ServerHome
from sim.embedded import mint_kiosk
from sim.population import DEMO_NIK
from sim.seed import card_assertion, seed_demo

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
FIELDS = st.sampled_from(
    [
        "method",
        "nik",
        "pin",
        "token",
        "card",
        "job_id",
        "document_id",
        "print_code",
        "reason",
        "state",
        "devices",
        "supplies",
        "audit_head",
        "chip_authenticated",
        "finger_score",
    ]
)
VALUES = st.one_of(
    JSON,
    st.sampled_from(["ektp", "pin", "qr", DEMO_NIK, "123456", "00000000", str(uuid.uuid4())]),
    st.integers(min_value=-5, max_value=20),
)
BODIES = st.one_of(JSON, st.dictionaries(FIELDS, VALUES, max_size=6))
SEGMENTS = st.one_of(
    st.text(alphabet="abcdef0123456789-%._~", min_size=1, max_size=40),
    st.just(str(uuid.uuid4())),
    st.integers(min_value=-3, max_value=99).map(str),
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    home = ServerHome(tmp / "home")
    home.init()
    engine = make_engine(f"sqlite:///{tmp / 'server.db'}")
    cfg = Settings(issuer=home.issuer(), pepper=home.pepper())
    with session_factory(engine)() as db:
        seed_demo(db, cfg.pepper)
        issued = mint_kiosk(home, "kiosk-fuzz")
        officer.register_kiosk(db, "kiosk-fuzz", issued.serial)
    der = x509.load_pem_x509_certificate(issued.cert.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    app = create_app(engine, cfg)

    async def with_cert(scope: Any, receive: Any, send: Any) -> None:
        scope.setdefault("extensions", {})["tls"] = {"client_cert_der": der}
        await app(scope, receive, send)

    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(with_cert), base_url="http://adm")

    def call(method: str, path: str, **kw: Any) -> httpx.Response:
        return loop.run_until_complete(client.request(method, path, **kw))

    card = card_assertion(1.0)
    session = call(
        "POST", "/api/v1/sessions", json={"method": "ektp", "nik": DEMO_NIK, "card": card}
    )
    spec = call("GET", "/openapi.json").json()
    yield call, spec, session.json()["session"]
    loop.run_until_complete(client.aclose())
    loop.close()
    engine.dispose()


def operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m.upper(), p) for p, item in spec["paths"].items() for m in item]


def test_spec_lists_every_route(api: Any) -> None:
    _, spec, _ = api
    paths = {p for _, p in operations(spec)}
    assert {"/api/v1/sessions", "/api/v1/reservations", "/verify/{code}"} <= paths


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_causes_a_server_error(api: Any, data: st.DataObject) -> None:
    call, spec, session = api
    method, path = data.draw(st.sampled_from(operations(spec)))
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + data.draw(SEGMENTS) + path[end + 1 :]
    headers = data.draw(
        st.sampled_from(
            [{}, {"Authorization": f"Bearer {session}"}, {"Authorization": "Bearer " + "x" * 30}]
        )
    )
    kw: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kw["json"] = data.draw(BODIES)
    resp = call(method, path, **kw)
    assert resp.status_code < 500, (method, path, kw, resp.text[:300])


HOSTILE = [
    b'{"method": "ektp", "nik": "3201011203800001", "card": {"chip_authenticated": true, '
    b'"fingerprint_matched": true, "finger_score": NaN}}',
    b'{"method": "ektp", "nik": "3201011203800001", "card": {"chip_authenticated": true, '
    b'"fingerprint_matched": true, "finger_score": Infinity}}',
    b'{"method": "ektp", "nik": "3201011203800001", "card": {"chip_authenticated": true, '
    b'"fingerprint_matched": true, "finger_score": 1e999}}',
    b'{"method": "ektp", "nik": "\\ud800\\udfff\\ud800", "card": null}',
    b'{"method": "\\ud800"}',
]


@pytest.mark.parametrize("body", HOSTILE, ids=["nan", "infinity", "1e999", "surrogates", "lone"])
def test_a_body_that_cannot_be_echoed_is_a_plain_422(api: Any, body: bytes) -> None:
    """Values JSON cannot carry back (NaN, Infinity, 1e999, lone surrogates) are refused as
    any invalid input: a 422 that does not echo the input (which also keeps personal data
    out of answers), never a 500 from the error handler itself."""
    call, _spec, _session = api
    resp = call(
        "POST", "/api/v1/sessions", content=body, headers={"content-type": "application/json"}
    )
    assert resp.status_code == 422, resp.text[:300]
    for error in resp.json()["detail"]:
        assert set(error) <= {"loc", "msg", "type"}  # the shape the spec promises, no input


def test_a_missing_session_token_is_401_not_422(api: Any) -> None:
    call, _spec, _session = api
    resp = call("GET", "/api/v1/documents")
    assert resp.status_code == 401, resp.text[:300]
    assert resp.json()["detail"]["code"] == "no_session"


CARD = card_assertion(0.9)
JOB = "6f1c7d8e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/reservations", {"job_id": JOB, "document_id": 2**63, "print_code": "12345678"}),
        ("/api/v1/reservations", {"job_id": JOB, "document_id": 2**31, "print_code": "12345678"}),
        ("/api/v1/reservations", {"job_id": JOB, "document_id": "1", "print_code": "12345678"}),
        ("/api/v1/reservations", {"job_id": JOB, "document_id": 1.0, "print_code": "12345678"}),
        ("/api/v1/sessions", {"method": "ektp", "nik": "٣٢٠١٠١١٢٠٣٨٠٠٠٠١", "card": CARD}),
        (
            "/api/v1/sessions",
            {"method": "ektp", "nik": DEMO_NIK, "card": {**CARD, "finger_score": False}},
        ),
        ("/api/v1/heartbeat", {"state": "attract", "devices": {"x" * 65: "ok"}}),
        ("/api/v1/heartbeat", {"state": "attract", "supplies": {f"s{i}": 1 for i in range(33)}}),
    ],
    ids=[
        "id-2^63",
        "id-2^31",
        "id-string",
        "id-float",
        "arabic-indic-nik",
        "score-false",
        "device-name",
        "too-many-supplies",
    ],
)
def test_out_of_range_and_loosely_typed_input_is_refused(
    api: Any, path: str, body: dict[str, Any]
) -> None:
    """Every number and string is bounded by the schema and types are strict: a 422
    before any database sees the value (an id past the database's integer range gave a
    500; an Arabic-Indic NIK opened a session)."""
    call, _spec, session = api
    resp = call("POST", path, json=body, headers={"Authorization": f"Bearer {session}"})
    assert resp.status_code == 422, resp.text[:300]


SECRET = "3201011203800001 BUDI SANTOSO"


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        # A map's key made of a NIK and a name, with a value too long.
        (
            "/api/v1/heartbeat",
            {"state": "attract", "devices": {SECRET: "x" * 65}},
            ["body", "devices", "*"],
        ),
        # A key too long: pydantic names the key twice ("[key]").
        ("/api/v1/heartbeat", {"state": "attract", "supplies": {SECRET * 3: 1}}, None),
        # An unknown field named by the client.
        ("/api/v1/heartbeat", {"state": "attract", SECRET: 1}, ["body", "*"]),
        ("/api/v1/sessions", {"method": SECRET}, None),
        ("/api/v1/sessions", {"method": "pin", "nik": DEMO_NIK, "pin": SECRET}, None),
        (
            "/api/v1/sessions",
            {"method": "ektp", "nik": DEMO_NIK, "card": {**CARD, SECRET: True}},
            ["body", "ektp", "card", "*"],
        ),
    ],
    ids=["map-key", "long-key", "unknown-field", "tag", "pin", "nested-unknown"],
)
def test_a_422_names_positions_by_schema_never_the_clients_words(
    api: Any, path: str, body: dict[str, Any], loc: list[Any] | None
) -> None:
    """GIVEN invalid input whose keys or values hold a NIK and a name THEN the 422 says
    where by the schema's own names (``*`` for a key the client chose) and quotes none of
    it back."""
    call, _spec, session = api
    resp = call("POST", path, json=body, headers={"Authorization": f"Bearer {session}"})
    assert resp.status_code == 422, resp.text[:300]
    for word in ("3201011203800001", "BUDI", "SANTOSO", "3201", "budi"):
        assert word not in resp.text, resp.text
    errors = resp.json()["detail"]
    assert errors and all(set(e) == {"loc", "msg", "type"} for e in errors)
    if loc is not None:
        assert loc in [e["loc"] for e in errors], errors


def test_moments_in_answers_carry_their_utc_offset(api: Any) -> None:
    call, _spec, _session = api
    opened = call(
        "POST", "/api/v1/sessions", json={"method": "ektp", "nik": DEMO_NIK, "card": CARD}
    )
    beat = call(
        "POST",
        "/api/v1/heartbeat",
        json={"state": "attract"},
        headers={"Authorization": f"Bearer {opened.json()['session']}"},
    )
    for moment in (opened.json()["expires_at"], beat.json()["server_time"]):
        parsed = dt.datetime.fromisoformat(moment)
        assert parsed.utcoffset() == dt.timedelta(0), moment
