"""1:1 verification on an optical fingerprint module (R30x / ZFM / AS608 family).

The module does the matching; the kiosk hands it the chip's templates and asks it to
compare them with the live finger:

1. handshake (``VfyPwd``) and read the system parameters: the packet size and baud rate
   the module reports must be the configured ones (a module set differently would cut
   packets mid-template);
2. capture (``GenImg``) until a finger lies on the sensor or the time is up;
3. the image to characteristics in buffer 1 (``Img2Tz``): a smudged or worn finger is a
   :class:`PoorImage` here;
4. for each chip template: download it into buffer 2 (``DownChar`` and data packets) and
   ``Match`` buffer 1 with buffer 2; the best score decides against the configured
   threshold.

**Template format.** The module is assumed to take the chip's templates as they are: ISO/
IEC 19794-2 finger minutiae records (what the e-KTP stores), downloaded into its 512-byte
character buffer, zero-padded (:func:`to_module`).  A module family with a proprietary
character format needs a converter, and :func:`to_module` is where it goes.

**One owner.** The kiosk's health thread (opening the module again), a citizen's
verification (on a flow worker) and the technician's capture test can all reach the
module; each conversation with it is a sequence of packets that must not be cut into by
another, so every public operation holds the module's lock for its whole exchange.
:attr:`FingerprintModule.busy` lets the health thread skip its round rather than wait a
citizen's finger out.

Transport is a pair of calls (``read(n)`` that returns fewer bytes at its timeout, and
``write``), so this file has no serial code; ``serial_backend`` gives it a port.
Templates and images never leave memory: nothing here writes or logs them.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from drivers.fingerprint.base import FingerMatch, FingerprintError, MatchResult, NoFinger
from drivers.fingerprint.base import PoorImage as BasePoorImage
from drivers.fingerprint.packets import (
    DEFAULT_ADDRESS,
    TEMPLATE_SIZE,
    Code,
    FingerprintProtocolError,
    Instruction,
    Pid,
    SystemParameters,
    Truncated,
    command,
    data_packets,
    read_packet,
)

log = logging.getLogger("drivers.fingerprint")
_T = TypeVar("_T")

# Scores of this family run from 0 to about 300; the kiosk reports a 0..1 score.
SCORE_SCALE = 300.0


class ModuleError(FingerprintError):
    """The module answered with a confirmation code that is not OK."""

    def __init__(self, code: int, what: str) -> None:
        self.code = code
        super().__init__(f"{what}: module answered {code:02X} ({_meaning(code)})")


class PoorImage(ModuleError, BasePoorImage):
    """The finger was imaged but could not be turned into features (smudged, worn, too
    few features): the citizen may try again, or use NIK + PIN."""


class ModulePacketError(ModuleError):
    """The module says a packet it received was bad."""


class ProtocolFault(FingerprintError):
    """What came back is not a valid packet (framing, address, checksum, sequence)."""


class ScannerTimeout(FingerprintError):
    """The module did not answer in time."""


class ScannerUnplugged(FingerprintError):
    """The port went away (unplugged, or never there)."""


class ScannerMisconfigured(FingerprintError):
    """The module's own parameters differ from the configuration."""


def _meaning(code: int) -> str:
    try:
        return Code(code).name.lower().replace("_", " ")
    except ValueError:
        return "unknown code"


def to_module(template: bytes) -> bytes:
    """A chip template as the module's character file (see the module docstring)."""
    if not template.startswith(b"FMR\x00"):
        raise FingerprintError("chip template is not an ISO/IEC 19794-2 minutiae record")
    if len(template) > TEMPLATE_SIZE:
        raise FingerprintError(
            f"chip template of {len(template)} bytes does not fit the module's buffer"
        )
    return template.ljust(TEMPLATE_SIZE, b"\x00")


class Transport(Protocol):
    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; fewer when the read timeout passes first."""
        ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ModuleSettings:
    baud: int = 57600
    packet_size: int = 128
    address: int = DEFAULT_ADDRESS
    password: int = 0
    threshold: int = 50  # the module's match score at or above which the finger matches
    answer_timeout: float = 2.0  # for an acknowledgement beyond the operation's own time


class FingerprintModule:
    """A :class:`~drivers.fingerprint.base.FingerprintMatcher` on a module."""

    def __init__(
        self,
        connect: Callable[[ModuleSettings], Transport],
        settings: ModuleSettings = ModuleSettings(),
        *,
        clock: Callable[[], float] = time.monotonic,
        present: Callable[[], bool] = lambda: True,
        port: str = "",
    ) -> None:
        self._connect = connect
        self.port = port  # where it is, for the technician's checks
        self.present = present  # the port is there (False once a USB module is pulled)
        self.settings = settings
        self._clock = clock
        self._port: Transport | None = None
        self.parameters: SystemParameters | None = None
        self.last_error = ""
        # Held for every exchange with the module (see the module docstring).
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """Another thread is talking to the module right now."""
        return self._lock.locked()

    # ---------------------------------------------------------------- lifecycle
    def open(self) -> None:
        """Open the port, check the password and that the module is set as configured."""
        with self._lock:
            self._open()

    def _open(self) -> None:
        self._close()
        try:
            self._port = self._connect(self.settings)
            self._expect_ok(
                Instruction.VFY_PWD, struct.pack(">I", self.settings.password), "handshake"
            )
            ack = self._call(Instruction.READ_SYS_PARA, b"", "system parameters")
            params = SystemParameters.parse(ack[1:])
        except FingerprintError as exc:
            self.last_error = str(exc)
            self._close()
            raise
        except FingerprintProtocolError as exc:
            self.last_error = str(exc)
            self._close()
            raise ProtocolFault(str(exc)) from None
        s = self.settings
        if (params.baud, params.packet_size) != (s.baud, s.packet_size):
            self._close()
            self.last_error = (
                f"module runs at {params.baud} baud with {params.packet_size}-byte packets; "
                f"configured {s.baud} baud, {s.packet_size}-byte packets"
            )
            raise ScannerMisconfigured(self.last_error)
        self.parameters = params

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None

    @property
    def is_open(self) -> bool:
        return self._port is not None

    @property
    def available(self) -> bool:
        """Open and answering (the e-KTP path is offered only then)."""
        return self._port is not None

    # ---------------------------------------------------------------- verification
    def verify(self, templates: tuple[bytes, ...], timeout: float) -> FingerMatch:
        """Capture a finger within ``timeout`` s and match it against ``templates``."""
        with self._lock:
            return self._guarded(lambda: self._verify(templates, timeout))

    def _guarded(self, work: Callable[[], _T]) -> _T:
        """``work`` with the module's errors sorted: a module that stopped answering is
        closed (the health round reopens it when it answers again)."""
        try:
            return work()
        except (ScannerUnplugged, ScannerTimeout, ProtocolFault) as exc:
            self.last_error = str(exc)
            self._close()
            raise
        except FingerprintError as exc:
            self.last_error = str(exc)
            raise
        except FingerprintProtocolError as exc:
            self.last_error = str(exc)
            self._close()
            raise ProtocolFault(str(exc)) from None

    def _verify(self, templates: tuple[bytes, ...], timeout: float) -> FingerMatch:
        if self._port is None:
            self._open()
        files = [to_module(t) for t in templates]
        if not files:
            raise FingerprintError("no templates to match against")
        if not self._capture(timeout):
            return FingerMatch(MatchResult.NO_FINGER, 0.0)
        code = self._call(Instruction.IMG2TZ, b"\x01", "features")[0]
        if code in (Code.DISORDERLY, Code.TOO_FEW_FEATURES, Code.INVALID_IMAGE):
            raise PoorImage(code, "the finger's image")
        self._check(code, "features")
        best = 0
        for file in files:
            self._download(2, file)
            ack = self._call(Instruction.MATCH, b"", "match")
            if ack[0] == Code.OK and len(ack) >= 3:
                best = max(best, struct.unpack(">H", ack[1:3])[0])
            elif ack[0] != Code.NO_MATCH:
                self._check(ack[0], "match")
        result = MatchResult.MATCH if best >= self.settings.threshold else MatchResult.NO_MATCH
        return FingerMatch(result, min(1.0, best / SCORE_SCALE))

    def capture_test(self, timeout: float) -> str:
        """The technician's live test: image a finger and extract its features (no
        template involved).  Raises :class:`NoFinger` or :class:`PoorImage`."""
        with self._lock:
            return self._guarded(lambda: self._capture_test(timeout))

    def _capture_test(self, timeout: float) -> str:
        if self._port is None:
            self._open()
        if not self._capture(timeout):
            raise NoFinger(f"no finger on the sensor within {timeout:g} s")
        code = self._call(Instruction.IMG2TZ, b"\x01", "features")[0]
        if code in (Code.DISORDERLY, Code.TOO_FEW_FEATURES, Code.INVALID_IMAGE):
            raise PoorImage(code, "the finger's image")
        self._check(code, "features")
        return "finger imaged, features extracted"

    def _capture(self, timeout: float) -> bool:
        """Image the finger; False if none was placed within ``timeout`` s."""
        deadline = self._clock() + timeout
        while True:
            code = self._call(Instruction.GEN_IMG, b"", "capture")[0]
            if code == Code.OK:
                return True
            if code != Code.NO_FINGER:
                self._check(code, "capture")
            if self._clock() >= deadline:
                return False

    def _download(self, buffer: int, file: bytes) -> None:
        """A character file into ``buffer`` (1 or 2) in data packets."""
        self._expect_ok(Instruction.DOWN_CHAR, bytes([buffer]), "download")
        port = self._open_port()
        for packet in data_packets(file, self.settings.packet_size, self.settings.address):
            port.write(packet)

    # ---------------------------------------------------------------- packets
    def _open_port(self) -> Transport:
        if self._port is None:
            raise ScannerUnplugged("the fingerprint module is not open")
        return self._port

    def _call(self, instruction: Instruction, args: bytes, what: str) -> bytes:
        """Send a command and read its acknowledgement's payload (code first)."""
        port = self._open_port()
        try:
            port.write(command(instruction, args, self.settings.address))
            ack = read_packet(port.read, self.settings.address)
        except Truncated as exc:
            raise ScannerTimeout(f"{what}: no complete answer from the module ({exc})") from None
        if ack.pid != Pid.ACK or not ack.payload:
            raise ProtocolFault(f"{what}: expected an acknowledgement, got packet {ack.pid:02X}")
        return ack.payload

    def _expect_ok(self, instruction: Instruction, args: bytes, what: str) -> bytes:
        payload = self._call(instruction, args, what)
        self._check(payload[0], what)
        return payload

    @staticmethod
    def _check(code: int, what: str) -> None:
        if code == Code.OK:
            return
        if code == Code.NO_FINGER:
            raise NoFinger(f"{what}: no finger on the sensor")
        if code in (Code.PACKET_ERROR, Code.DOWNLOAD_FAILED):
            raise ModulePacketError(code, what)
        raise ModuleError(code, what)
