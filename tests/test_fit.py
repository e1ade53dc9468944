"""The window is the screen: every state of the citizen's and the technician's screens,
with the longest real content, fits the 1080x1920 portrait panel: the window is never
larger, no control lies outside it, no text is wider or taller than its widget, and no
two controls overlap (offscreen Qt)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget

from kiosk import messages
from kiosk.config import UiSection
from kiosk.diagnostics import Check
from kiosk.flow import SessionView
from kiosk.print_service import PrintResult
from sim.cards import photo
from ui.main import LOW_REACH_TOP, SCREENS, min_target_px
from ui.screens.attract import AttractScreen
from ui.texts import NOTICES
from ui.window import KioskWindow

# 100 characters, in words as names are.
LONG_NAME = (
    "MUHAMMAD RIZKY PRATAMA SAPUTRA BIN ABDULLAH SYARIFUDDIN HIDAYATULLAH "
    "NUGROHO WIBOWO KUSUMANEGARA JAY"
)
assert len(LONG_NAME) == 100
DOCS = tuple(
    {"id": i, "kind": kind, "title": title, "number": number, "medium": medium}
    for i, (kind, title, number, medium) in enumerate(
        [
            ("kartu_keluarga", "Kartu Keluarga", "KK-3201012505180001-20261102", "a4"),
            ("ktp_el", "KTP-el", "KTP-3271-20261102-000481", "card"),
            ("akta_kelahiran", "Kutipan Akta Kelahiran", "AKL-3201-LU-20261102-000123", "a4"),
            ("akta_kematian", "Kutipan Akta Kematian", "AKM-3201-KM-20261102-000045", "a4"),
            ("surat_pindah", "Surat Keterangan Pindah WNI", "SKPWNI-3201-20261102-000077", "a4"),
        ],
        start=1,
    )
)


class English:
    """The English sentence of an Indonesian source (from the compiled translation)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTranslator

        from ui.i18n import compiled

        self.translator = QTranslator()
        assert self.translator.load(str(compiled("en")))

    def text(self, source: str) -> str:
        for context in ("Notice", "Kiosk"):
            found = self.translator.translate(context, source)
            if found:
                return found
        return source


UNAVAILABLE = {**DOCS[1], "unavailable": "no_blank_cards"}
ENGLISH = English()
DPI = UiSection().dpi  # the configured default panel
TARGET = min_target_px(DPI)
OFFICE_NOTICE = (
    "Mulai 1 Desember 2026 anjungan ini melayani pukul 07.30-15.00 WIB. Untuk "
    "perekaman sidik jari dan foto silakan datang ke loket 3 di lantai dua gedung ini."
)[:200]
# The error whose sentence is longest in either language.
LONGEST_ERROR = max(
    messages.CODES,
    key=lambda c: max(len(NOTICES[c]), len(ENGLISH.text(NOTICES[c]))),
)
CHECKS = tuple(
    Check(name, ok, detail)
    for name, ok, detail in [
        ("reader", True, "reader_empty"),
        ("printer|queue=adm-a4", True, "printer_state|conditions=|supplies=Black Toner 80%"),
        (
            "printer|queue=adm-card",
            False,
            "printer_state|conditions=door_open,media_empty|supplies=YMCKO Ribbon 5%",
        ),
        (
            "fingerprint",
            True,
            "finger_ready|port=/dev/adm-fingerprint|baud=57600|packet=128|security=3",
        ),
        (
            "qr",
            False,
            "port_error|port=/dev/adm-qr|error=[Errno 2] No such file or directory: '/dev/adm-qr'",
        ),
        ("blank_cards", True, "cards_left|left=249"),
        (
            "server",
            False,
            "raw|text=central server unreachable: [Errno 111] Connection refused",
        ),
        ("print_jobs", False, "jobs|unfinished=2|pending=1"),
    ]
)
RESULTS = tuple(
    PrintResult(d["id"], d["title"], d["number"], f"job-{d['id']}", "adm-a4", 10 + d["id"], 1)
    for d in DOCS[:4]
)


def views() -> list[tuple[str, SessionView]]:
    base: dict[str, Any] = dict(
        name=LONG_NAME,
        masked_nik="3201********0001",
        documents=DOCS,
        selected=(),
        reserved=(),
        code_doc=None,
        prompt="",
        results=(),
        progress="",
        error="",
        seconds_left=12.0,
        photo=photo("3201011203800001", "LAKI-LAKI"),
        paths=("ektp", "pin", "qr"),
    )

    def v(state: str, **kw: Any) -> SessionView:
        return SessionView(state=state, **{**base, **kw})

    return [
        ("starting", v("starting")),
        ("attract", v("attract", prompt=messages.LIFT_AND_TAP)),
        ("reading_card", v("reading_card")),
        ("verify_finger", v("verify_finger", prompt=messages.finger_retry(None, 3))),
        ("enter_pin", v("enter_pin", prompt=messages.finger_fallback(None))),
        ("loading_documents", v("loading_documents")),
        (
            "choose_documents",
            v("choose_documents", documents=(*DOCS[:1], UNAVAILABLE, *DOCS[2:]), reserved=(1, 3)),
        ),
        (
            "enter_code",
            v("enter_code", code_doc=5, prompt=messages.notice("wrong_code", left=3)),
        ),
        ("checking_code", v("checking_code", code_doc=5)),
        (
            "printing",
            v(
                "printing",
                selected=(1, 3, 4, 5),
                results=RESULTS[:2],
                progress="waiting:media_empty,media_jam,door_open",
            ),
        ),
        ("done", v("done", selected=(1, 3, 4, 5), results=RESULTS)),
        ("error", v("error", error=LONGEST_ERROR)),
        (
            "out_of_service",
            v(
                "out_of_service",
                error="no_printer|why=printer_unavailable",
            ),
        ),
        ("technician_pin", v("technician_pin", prompt=messages.notice("wrong_pin", left=4))),
        (
            "diagnostics",
            v(
                "diagnostics",
                checks=CHECKS,
                prompt=messages.notice(
                    "technician_failed", detail="printer adm-a4 tidak menerima pekerjaan"
                ),
            ),
        ),
    ]


def _controls(window: QWidget) -> list[QWidget]:
    found: list[QWidget] = []
    for w in window.findChildren(QWidget):
        if not w.isVisibleTo(window) or not isinstance(w, QLabel | QPushButton):
            continue
        if isinstance(w, QLabel) and not w.text() and w.pixmap().isNull():
            continue
        found.append(w)
    return found


def _rect(w: QWidget, window: QWidget) -> QRect:
    return QRect(w.mapTo(window, w.rect().topLeft()), w.size())


def fit_problems(window: KioskWindow, orientation: str, reach: str) -> list[str]:
    """What does not fit on ``window`` as it is shown now: a window larger than the
    panel, a control outside it, under 15 mm or too small for its text, two controls
    overlapping, and in low reach a control above the reach line."""
    SCREEN = SCREENS[orientation]
    panel = QRect(0, 0, SCREEN["width"], SCREEN["height"])
    problems = []
    if window.size().width() != SCREEN["width"] or window.height() != SCREEN["height"]:
        problems.append(f"window {window.size()}")
    hint = window.minimumSizeHint()
    if hint.width() > SCREEN["width"] or hint.height() > SCREEN["height"]:
        problems.append(f"minimum size {hint}")
    controls = _controls(window)
    if not controls:
        problems.append("nothing shown")
    for w in controls:
        r = _rect(w, window)
        name = f"{type(w).__name__} {getattr(w, 'text', lambda: '')()[:40]!r}"
        if not panel.contains(r):
            problems.append(f"{name} outside the panel: {r}")
        if isinstance(w, QPushButton):
            if min(w.width(), w.height()) < TARGET:
                problems.append(f"{name} is {w.size()}: under 15 mm at {DPI} dpi")
            if w.hasHeightForWidth():  # words that wrap: as high as they need at its width
                need = QSize(w.minimumSizeHint().width(), w.heightForWidth(w.width()))
            else:
                need = w.sizeHint()
            if need.width() > w.width() or need.height() > w.height() + 1:
                problems.append(f"{name} text {need} in {w.size()}")
        elif isinstance(w, QLabel) and w.text():
            if w.wordWrap():
                if w.heightForWidth(w.width()) > w.height() + 1:
                    problems.append(f"{name} wraps to {w.heightForWidth(w.width())} > {w.height()}")
                if _longest_word(w) > w.contentsRect().width():
                    problems.append(f"{name} has a word wider than {w.contentsRect().width()}")
            elif w.sizeHint().width() > w.width():
                problems.append(f"{name} {w.sizeHint().width()} wide in {w.width()}")
    for a, b in itertools.combinations(controls, 2):
        if a.isAncestorOf(b) or b.isAncestorOf(a):
            continue
        if _rect(a, window).intersects(_rect(b, window)):
            problems.append(f"{a.text()[:20]!r} {_rect(a, window)} overlaps {b.text()[:20]!r}")
    if reach == "low":  # every control in the lower part of the panel
        top = LOW_REACH_TOP[orientation] * SCREEN["height"]
        for w in controls:
            if isinstance(w, QPushButton) and _rect(w, window).top() < top:
                problems.append(f"{w.text()[:30]!r} at {_rect(w, window).top()} < {top:.0f}")
    return problems


def _longest_word(label: QLabel) -> int:
    """The widest unbreakable run of the label's text, in its font: a word wider than the
    label is cut at its edge, which ``heightForWidth`` does not show."""
    metrics = label.fontMetrics()
    words = label.text().replace("\u200b", " ").split()
    return max((metrics.horizontalAdvance(w) for w in words if w), default=0)


@pytest.fixture(scope="module")
def panel(qapp: QApplication) -> Iterator[KioskWindow]:
    """One kiosk window for every case, switched between modes as a citizen switches
    them (building a window per case would take most of this module's time)."""
    window = KioskWindow(post=lambda *_a, **_kw: None)
    window.show()
    attract = window.screens["attract"]
    assert isinstance(attract, AttractScreen)
    attract.set_notice(OFFICE_NOTICE)  # the longest an office may write
    yield window
    window.close()
    window.deleteLater()


def show(
    window: KioskWindow,
    state: str,
    lang: str,
    contrast: str,
    orientation: str,
    reach: str,
    text: str,
) -> KioskWindow:
    """``window`` on the panel of ``orientation`` in the given modes, showing ``state``
    with the longest content."""
    SCREEN = SCREENS[orientation]
    view = dict(views())[state]
    # The view first: a session's end (a view of the idle screen after one of a
    # session) resets the modes, which are then switched on as the citizen would.
    window.show_view(view)
    window.set_orientation(orientation)
    window.setFixedSize(SCREEN["width"], SCREEN["height"])
    assert window.set_language(lang)
    window.set_high_contrast(contrast == "high")
    window.set_low_reach(reach == "low")
    window.set_large_text(text == "large")
    window.show_view(view)
    QApplication.processEvents()  # the new view's widgets laid out
    QApplication.processEvents()
    return window


@pytest.mark.parametrize("text", ["normal", "large"])
@pytest.mark.parametrize("reach", ["normal", "low"])
@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
@pytest.mark.parametrize("contrast", ["normal", "high"])
@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("state", [s for s, _ in views()])
def test_every_screen_fits_the_panel(
    panel: KioskWindow,
    state: str,
    lang: str,
    contrast: str,
    orientation: str,
    reach: str,
    text: str,
) -> None:
    window = show(panel, state, lang, contrast, orientation, reach, text)
    problems = fit_problems(window, orientation, reach)
    assert not problems, "\n".join(problems)
