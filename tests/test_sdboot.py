"""RAUC's systemd-boot backend (drivers/update/sdboot.py) on an ESP folder.

``loader_boot`` does what systemd-boot 252 does at power-on: the first entry in its
order, and, when that entry counts tries, one try used (the file renamed) before the
kernel starts.  The property test runs updates, boots, health verdicts and power cuts in
any order and checks what a kiosk needs from its boot loader: the entry chosen always
has its slot's kernel, a slot on trial is tried at most ``TRIES`` times, and the last
blessed slot is never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.update import sdboot
from drivers.update.sdboot import TRIES, BootError, entries


def make_esp(tmp: Path) -> Path:
    esp = tmp / "esp"
    (esp / "loader/entries").mkdir(parents=True)
    (esp / "loader/loader.conf").write_text("default adm-*\ntimeout 0\n")
    (esp / "loader/entries/adm-1-a.conf").write_text(sdboot.entry_text("a", "quiet"))
    (esp / "adm-a").mkdir()
    (esp / "adm-a/vmlinuz").write_bytes(b"kernel of a v1")
    (esp / "adm-a/initrd.img").write_bytes(b"initrd of a v1")
    return esp


def make_root(tmp: Path, name: str, version: str) -> Path:
    root = tmp / name
    (root / "boot").mkdir(parents=True)
    (root / "boot/vmlinuz-6.1.0-9-amd64").write_bytes(b"old kernel")
    (root / f"boot/vmlinuz-6.1.0-{version}-amd64").write_bytes(f"kernel {version}".encode())
    (root / f"boot/initrd.img-6.1.0-{version}-amd64").write_bytes(f"initrd {version}".encode())
    return root


def loader_boot(esp: Path) -> str:
    """systemd-boot at power-on: the slot it starts (one try used when counted)."""
    first = entries(esp)[0]
    if first.left is not None and first.left > 0:
        first.path.rename(first.path.with_name(first.renamed(first.left - 1, first.done + 1)))
    return first.slot


def test_the_first_image_boots_slot_a_and_b_is_not_bootable(tmp_path: Path) -> None:
    esp = make_esp(tmp_path)
    assert sdboot.primary(esp) == "a"
    assert sdboot.state(esp, "a") == "good"
    assert sdboot.state(esp, "b") == "bad"
    sdboot.set_state(esp, "b", good=False)  # RAUC before writing b: nothing to mark
    assert [e.path.name for e in entries(esp)] == ["adm-1-a.conf"]
    with pytest.raises(BootError):
        sdboot.set_state(esp, "b", good=True)


def test_an_update_is_tried_three_times_then_the_old_slot_boots_again(tmp_path: Path) -> None:
    esp = make_esp(tmp_path)
    sdboot.set_primary(esp, "b", make_root(tmp_path, "b", "13"), "quiet panic=10")
    assert (esp / "adm-b/vmlinuz").read_bytes() == b"kernel 13"  # the newest, not -9
    assert (esp / "adm-b/initrd.img").read_bytes() == b"initrd 13"
    text = (esp / "loader/entries/adm-2-b+3.conf").read_text()
    assert "root=PARTLABEL=adm-root-b rauc.slot=b quiet panic=10" in text
    assert sdboot.primary(esp) == "b" and sdboot.state(esp, "b") == "good"
    booted = [loader_boot(esp) for _ in range(TRIES + 2)]
    assert booted == ["b"] * TRIES + ["a", "a"]
    assert sdboot.state(esp, "b") == "bad"
    assert (esp / "loader/entries/adm-2-b+0-3.conf").is_file()


def test_a_blessed_update_stays_and_the_next_one_goes_to_the_other_slot(tmp_path: Path) -> None:
    esp = make_esp(tmp_path)
    sdboot.set_primary(esp, "b", make_root(tmp_path, "b", "13"), "quiet")
    assert loader_boot(esp) == "b"
    sdboot.set_state(esp, "b", good=True)
    assert [e.path.name for e in entries(esp)] == ["adm-2-b.conf", "adm-1-a.conf"]
    assert [loader_boot(esp) for _ in range(3)] == ["b", "b", "b"]
    # The next release: RAUC marks a bad, writes it, makes it primary.
    sdboot.set_state(esp, "a", good=False)
    assert sdboot.primary(esp) == "b"  # a power cut now boots b
    sdboot.set_primary(esp, "a", make_root(tmp_path, "a2", "14"), "quiet")
    assert [e.path.name for e in entries(esp)] == ["adm-3-a+3.conf", "adm-2-b.conf"]
    assert (esp / "adm-a/vmlinuz").read_bytes() == b"kernel 14"


def test_a_failed_health_gate_boots_the_previous_slot_at_once(tmp_path: Path) -> None:
    esp = make_esp(tmp_path)
    sdboot.set_primary(esp, "b", make_root(tmp_path, "b", "13"), "quiet")
    assert loader_boot(esp) == "b"
    sdboot.set_state(esp, "b", good=False)  # rauc status mark-bad booted
    assert loader_boot(esp) == "a"
    sdboot.set_primary(esp, "b", make_root(tmp_path, "b2", "14"), "quiet")  # tried again
    assert [e.path.name for e in entries(esp)] == ["adm-3-b+3.conf", "adm-1-a.conf"]


def test_the_command_line_is_raucs_interface(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    esp = make_esp(tmp_path)
    monkeypatch.setenv("ADM_ESP", str(esp))
    assert sdboot.main(["get-primary"]) == 0
    assert capsys.readouterr().out == "a\n"
    assert sdboot.main(["get-state", "b"]) == 0
    assert capsys.readouterr().out == "bad\n"
    assert sdboot.main(["get-state", "c"]) == 1
    assert "unknown slot" in capsys.readouterr().err
    assert sdboot.main(["set-state", "a", "maybe"]) == 2
    assert sdboot.main(["set-state", "a", "bad"]) == 0
    assert sdboot.main(["get-primary"]) == 0
    assert capsys.readouterr().out == "a\n"  # the only entry, even used up
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("ADM_ESP", str(empty))
    assert sdboot.main(["get-primary"]) == 1
    assert "no boot entry" in capsys.readouterr().err


class Cut(Exception):
    """The power went."""


ops = st.lists(
    st.one_of(
        st.tuples(st.just("update"), st.integers(0, 8)),  # a power cut at that write, 8: none
        st.tuples(st.just("boot"), st.just(0)),
        st.tuples(st.just("good"), st.just(0)),
        st.tuples(st.just("bad"), st.just(0)),
    ),
    max_size=30,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops)
def test_any_order_of_updates_boots_and_power_cuts(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int]]
) -> None:
    tmp = tmp_path_factory.mktemp("esp")
    esp = make_esp(tmp)
    booted, blessed = "a", {"a"}
    tried: dict[tuple[int, str], int] = {}
    for n, (op, cut_at) in enumerate(steps):
        if op == "update" and booted in blessed:
            target = "b" if booted == "a" else "a"
            root = make_root(tmp, f"r{n}", str(20 + n))
            real_write, writes = sdboot._write, [0]

            def write(
                path: Path,
                data: bytes,
                cut_at: int = cut_at,
                writes: list[int] = writes,
                real_write: Callable[[Path, bytes], None] = real_write,
            ) -> None:
                writes[0] += 1
                if writes[0] == cut_at:
                    raise Cut
                real_write(path, data)

            sdboot._write = write  # type: ignore[assignment]
            try:
                sdboot.set_state(esp, target, good=False)  # RAUC: before the slot is written
                blessed.discard(target)
                sdboot.set_primary(esp, target, root, "quiet")
            except Cut:
                pass
            finally:
                sdboot._write = real_write  # type: ignore[assignment]
        elif op == "boot":
            before = entries(esp)[0]
            booted = loader_boot(esp)
            if before.left is not None:
                key = (before.generation, before.slot)
                tried[key] = tried.get(key, 0) + 1
                assert tried[key] <= TRIES, "an entry on trial was tried more than its tries"
            # The kernel it starts is on the ESP, whole (written before the entry).
            assert (esp / f"adm-{booted}/vmlinuz").is_file()
            assert (esp / f"adm-{booted}/initrd.img").is_file()
        elif op == "good":
            sdboot.set_state(esp, booted, good=True)
            blessed.add(booted)
        elif op == "bad" and booted not in blessed:
            sdboot.set_state(esp, booted, good=False)
        # What was last blessed still has its entry, and is never used up.
        assert any(e.slot in blessed and not e.bad for e in entries(esp)) or not blessed
        assert len({e.slot for e in entries(esp)}) == len(entries(esp)), "one entry a slot"
