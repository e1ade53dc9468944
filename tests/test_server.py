"""The central server over real HTTP (uvicorn on loopback, SQLite)."""

from __future__ import annotations

import concurrent.futures
import uuid

import httpx
import pytest

from kiosk.server_client import ServerClient, ServerRefused, ServerUnavailable
from server.embedded import EmbeddedServer
from sim.population import DEMO_NIK, FAMILIES


@pytest.fixture
def client(server: EmbeddedServer) -> ServerClient:
    return ServerClient(server.url, "kiosk-test")


def test_lists_the_approved_kk_of_the_head_of_family(client: ServerClient) -> None:
    docs = client.list_documents(DEMO_NIK)
    assert [(d["kind"], d["medium"]) for d in docs] == [
        ("kartu_keluarga", "a4"),
        ("ktp_el", "card"),
    ]


def test_unknown_nik_looks_like_a_citizen_with_nothing_to_print(client: ServerClient) -> None:
    assert client.list_documents("9999999999999999") == []


def test_payload_carries_the_whole_family(client: ServerClient) -> None:
    doc = client.list_documents(DEMO_NIK)[0]
    payload = client.get_document(doc["id"])
    fam = FAMILIES[0]
    assert payload["family"]["kk_number"] == fam["kk_number"]
    assert [m["nik"] for m in payload["family"]["members"]] == [m["nik"] for m in fam["members"]]
    assert payload["verification"].endswith(payload["number"])


def test_confirmed_document_is_never_offered_again(client: ServerClient) -> None:
    doc = client.list_documents(DEMO_NIK)[0]
    job = str(uuid.uuid4())
    assert client.confirm(doc["id"], job)["status"] == "printed"
    assert doc["id"] not in [d["id"] for d in client.list_documents(DEMO_NIK)]
    with pytest.raises(ServerRefused) as err:
        client.get_document(doc["id"])
    assert err.value.status == 409


def test_confirm_is_idempotent_on_the_job_id(client: ServerClient, server: EmbeddedServer) -> None:
    doc = client.list_documents(DEMO_NIK)[0]
    job = str(uuid.uuid4())
    first = client.confirm(doc["id"], job)
    again = client.confirm(doc["id"], job)
    assert first == again
    status = httpx.get(f"{server.url}/api/v1/documents/{doc['id']}/status").json()
    assert status["printed_job_id"] == job
    assert status["printed_kiosk"] == "kiosk-test"


def test_second_job_cannot_confirm_a_printed_document(client: ServerClient) -> None:
    doc = client.list_documents(DEMO_NIK)[0]
    client.confirm(doc["id"], str(uuid.uuid4()))
    with pytest.raises(ServerRefused) as err:
        client.confirm(doc["id"], str(uuid.uuid4()))
    assert err.value.status == 409


def test_concurrent_confirmations_exactly_one_wins(server: EmbeddedServer) -> None:
    doc_id = ServerClient(server.url, "k").list_documents(DEMO_NIK)[0]["id"]

    def attempt(i: int) -> bool:
        c = ServerClient(server.url, f"kiosk-{i}")
        try:
            c.confirm(doc_id, str(uuid.uuid4()))
            return True
        except ServerRefused:
            return False
        finally:
            c.close()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(attempt, range(8)))
    assert wins.count(True) == 1


def test_unknown_document_is_404(client: ServerClient) -> None:
    with pytest.raises(ServerRefused) as err:
        client.get_document(424242)
    assert err.value.status == 404


def test_server_down_is_a_clear_error() -> None:
    client = ServerClient("http://127.0.0.1:9", "kiosk-test")
    with pytest.raises(ServerUnavailable, match="unreachable"):
        client.list_documents(DEMO_NIK)


def test_seed_is_idempotent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from server.db import make_engine, session_factory
    from server.seed import seed_demo

    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    with session_factory(engine)() as s:
        assert seed_demo(s) == len(FAMILIES) + 1  # a KK per family and one KTP-el
        assert seed_demo(s) == 0
