"""The kiosk's visual system in one place: colour tokens for the normal and the
high-contrast theme, type sizes, and the stylesheet built from them.

Every pair of a text colour and the background it is drawn on is listed in
``Theme.pairs``; a test computes each pair's WCAG contrast and requires at least 7:1 in
the high-contrast theme (4.5:1, the ordinary AA level, in the normal one).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    name: str
    background: str  # the screen
    surface: str  # buttons, fields
    text: str  # body text on the background
    muted: str  # hints and the footer, on the background
    accent: str  # titles, button text and borders, on background and surface
    on_accent: str  # text on accent (the header, primary buttons)
    error: str  # messages, on the background
    warning: str  # the timeout warning's background
    on_warning: str
    ready: str  # a document whose code was accepted: background
    on_ready: str
    disabled: str  # a disabled button: background
    on_disabled: str
    focus: str  # the keypad focus ring

    def pairs(self) -> list[tuple[str, str, str]]:
        """(what, text colour, background colour) of everything drawn."""
        return [
            ("body text", self.text, self.background),
            ("hints and footer", self.muted, self.background),
            ("titles", self.accent, self.background),
            ("button text", self.accent, self.surface),
            ("header and primary buttons", self.on_accent, self.accent),
            ("error messages", self.error, self.background),
            ("timeout warning", self.on_warning, self.warning),
            ("ready document", self.on_ready, self.ready),
            ("disabled button", self.on_disabled, self.disabled),
            ("digit field", self.text, self.surface),
        ]


NORMAL = Theme(
    name="normal",
    background="#f3f6fa",
    surface="#ffffff",
    text="#1b2430",
    muted="#4a5565",
    accent="#0b4f9c",
    on_accent="#ffffff",
    error="#9b1c1c",
    warning="#b45309",
    on_warning="#ffffff",
    ready="#e6f4ea",
    on_ready="#14532d",
    disabled="#eceff3",
    on_disabled="#5f6b78",
    focus="#c2410c",  # 4.9:1 on white: a ring a low-vision eye finds
)

HIGH_CONTRAST = Theme(
    name="high_contrast",
    background="#000000",
    surface="#000000",
    text="#ffffff",
    muted="#ffffff",
    accent="#ffe600",
    on_accent="#000000",
    error="#ff9e9e",
    warning="#ffe600",
    on_warning="#000000",
    ready="#003d14",
    on_ready="#ffffff",
    disabled="#000000",
    on_disabled="#c8c8c8",
    focus="#00e5ff",
)

THEMES = {t.name: t for t in (NORMAL, HIGH_CONTRAST)}
# The largest type size of the large-text mode (px): twice the body text.
LARGEST = 80


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def stylesheet(t: Theme, text_scale: float = 1.0) -> str:
    """The application's stylesheet in theme ``t``, every type size times
    ``text_scale`` (2.0: the large-text mode, 200 %).  Control heights are minimums: a
    larger text makes its control grow, it is never cut."""

    # The language and barrier-free switches keep their size (and place): the switch that
    # turns large text off is where, and as large as, the one that turned it on.  The
    # office's notice (up to 200 characters of its own words) keeps its size too.
    def px(size: int) -> int:
        # Nothing grows past LARGEST: titles, already display-sized, grow to the body
        # text's large size and stay there (the panel's width holds ~18 characters).
        return size if text_scale == 1.0 else min(round(size * text_scale), max(size, LARGEST))

    # The keypad's keys grow to 64 px, not 88: three keys of "Hapus" at 88 px are wider
    # than the keypad's half of a landscape panel, and 64 px digits are 16 mm tall.
    keys = min(px(44), 64)
    # The step indicator: 26 px, 44 in large text (where it names the current step only).
    step = min(px(26), 44)
    return f"""
QWidget#root {{ background: {t.background}; }}
QLabel {{ color: {t.text}; }}
QLabel#brand {{ background: {t.accent}; color: {t.on_accent}; font-size: 40px;
               font-weight: bold; padding: 20px; }}
QLabel#title {{ font-size: {px(56)}px; font-weight: bold; color: {t.accent}; }}
QLabel#body {{ font-size: {px(40)}px; }}
QLabel#greeting {{ font-size: {px(44)}px; font-weight: bold; color: {t.accent}; }}
QLabel#hint {{ font-size: {px(32)}px; color: {t.muted}; }}
QLabel#footer {{ font-size: {px(30)}px; color: {t.muted}; padding: 16px; }}
QLabel#footer[warning="true"] {{ font-size: {px(38)}px; font-weight: bold; color: {t.on_warning};
                                background: {t.warning}; }}
QLabel#error {{ font-size: {px(34)}px; color: {t.error}; }}
QLabel#notice {{ font-size: 34px; color: {t.on_warning}; background: {t.warning};
                border-radius: 16px; padding: 16px 24px; }}
QLabel#digits {{ font-size: {px(52)}px; letter-spacing: 6px; background: {t.surface};
                color: {t.text}; border: 4px solid {t.on_disabled}; border-radius: 16px;
                padding: 10px; }}
QLabel#digits[active="true"] {{ border-color: {t.accent}; }}
QLabel#step {{ font-size: {step}px; color: {t.muted}; padding: 4px 18px;
               border: 3px solid transparent; border-radius: 20px; }}
QLabel#step[step="done"] {{ color: {t.text}; }}
QLabel#step[step="current"] {{ background: {t.accent}; color: {t.on_accent};
                              font-weight: bold; }}
QWidget#header QLabel#step {{ color: {t.on_accent}; font-size: 26px; padding: 2px 14px; }}
QWidget#header QLabel#step[step="current"] {{ background: {t.surface}; color: {t.accent}; }}
QLabel#photo {{ border: 3px solid {t.on_disabled}; background: {t.surface}; }}
QLabel#checks {{ font-size: {px(30)}px; }}
QPushButton {{ font-size: {px(44)}px; min-height: 112px; border-radius: 24px; padding: 8px 32px;
              background: {t.surface}; border: 4px solid {t.accent}; color: {t.accent}; }}
QPushButton:focus {{ border-color: {t.focus}; background: {t.surface}; }}
QWidget#root[landscape="true"] QPushButton {{ min-height: 88px; padding: 4px 32px; }}
QPushButton#document {{ font-size: {px(34)}px; min-height: 96px; text-align: left;
                       padding: 4px 28px; }}
QPushButton#primary {{ background: {t.accent}; color: {t.on_accent}; }}
QWidget#root QWidget#keypad QPushButton {{ font-size: {keys}px; padding: 4px 8px; }}
QWidget#root QWidget#keypad QLabel#words {{ font-size: {keys}px; }}
QLabel#words {{ font-size: {px(44)}px; color: {t.accent}; background: transparent; }}
QPushButton#document QLabel#words {{ font-size: {px(34)}px; }}
QPushButton#access QLabel#words {{ font-size: 30px; }}
QPushButton#primary QLabel#words, QPushButton[on="true"] QLabel#words {{
    color: {t.on_accent}; }}
QPushButton[ready="true"] QLabel#words {{ color: {t.on_ready}; }}
QLabel#words:disabled, QPushButton#primary QLabel#words:disabled {{ color: {t.on_disabled}; }}
QPushButton#primary:focus {{ border-color: {t.focus}; background: {t.accent}; }}
QWidget#header {{ background: {t.accent}; }}
QPushButton#language {{ font-size: 30px; min-height: 72px; padding: 4px 20px;
    background: {t.accent}; color: {t.on_accent}; border: 4px solid {t.on_accent};
    border-radius: 18px; }}
QPushButton#access {{ font-size: 30px; min-height: 64px; padding: 4px 12px;
    border-radius: 18px; }}
QPushButton#access:checked {{ background: {t.accent}; color: {t.on_accent}; }}
QPushButton#language:focus, QPushButton#access:focus {{ border-color: {t.focus}; }}
QPushButton:disabled, QPushButton#primary:disabled {{ color: {t.on_disabled};
    border-color: {t.on_disabled}; background: {t.disabled}; }}
QPushButton[ready="true"] {{ background: {t.ready}; border-color: {t.on_ready};
                            color: {t.on_ready}; }}
QProgressBar {{ min-height: 48px; font-size: {px(28)}px; border: 3px solid {t.accent};
               border-radius: 12px; text-align: center; color: {t.text};
               background: {t.surface}; }}
QProgressBar::chunk {{ background: {t.accent}; }}
"""
