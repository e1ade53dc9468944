"""Plug a virtual e-KTP into the real pcscd through vsmartcard's vpcd driver.

vpcd listens on TCP (one port per slot, from the reader's CHANNELID); a card is a TCP
*client*: connecting inserts it, closing removes it.  Frames are a 2-byte big-endian
length and a payload; a 1-byte payload is a control code (0 power off, 1 power on,
2 reset, 4 get ATR, which alone is answered), anything longer is a command APDU answered
by the response APDU.

Run as ``python -m drivers.card.vicc --image CARD.json`` (an issued e-KTP image) or
``--sam-key HEX`` (a SAM with that master key), with ``--port`` the slot's vpcd port;
SIGTERM removes the card.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import time
from pathlib import Path

from drivers.card.virtual import CardImage, CardPulled, VirtualChip, VirtualEktp, VirtualSam

CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        if hasattr(socket, "TCP_QUICKACK"):
            # Without QUICKACK every APDU waits ~40 ms for a delayed ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        part = sock.recv(n - len(buf))
        if not part:
            return None
        buf += part
    return bytes(buf)


def serve(card: VirtualChip, sock: socket.socket) -> None:
    """Answer vpcd until it closes the connection (or the card is 'pulled')."""
    while True:
        head = _recv_exact(sock, 2)
        if head is None:
            return
        payload = _recv_exact(sock, int.from_bytes(head, "big"))
        if payload is None:
            return
        if len(payload) == 1:
            code = payload[0]
            if code == CTRL_ATR:
                reply = card.atr
            else:
                if code in (CTRL_OFF, CTRL_ON, CTRL_RESET):
                    card.reset()
                continue
        else:
            if card.delay:
                time.sleep(card.delay)  # the slow-card fault
            try:
                reply = card.process(payload)
            except CardPulled:
                return  # closing the socket is the card leaving the field mid-read
        sock.sendall(len(reply).to_bytes(2, "big") + reply)


def connect(host: str, port: int, timeout: float) -> socket.socket:
    """Connect to vpcd, retrying while pcscd is still starting."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=2)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
            continue
        if sock.getsockname() == sock.getpeername():
            # TCP self-connect: nobody listens and the kernel picked the port itself as the
            # local end.  Holding it would keep pcscd from binding its port ever again.
            sock.close()
            time.sleep(0.1)
            continue
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--image", type=Path, help="issued e-KTP image (JSON)")
    kind.add_argument("--sam-key", help="act as a SAM with this master key (hex)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument(
        "--t0", action="store_true", help="answer as a T=0 chip: 61xx chaining, 6Cxx for Le"
    )
    args = parser.parse_args(argv)

    card: VirtualChip
    if args.image:
        image = CardImage.from_json(args.image.read_text())
        image.t0 = image.t0 or args.t0
        card = VirtualEktp(image)
    else:
        card = VirtualSam(bytes.fromhex(args.sam_key), t0=args.t0)
    # A SAM sits in its contact slot for good: when pcscd goes away it waits for it to come
    # back.  An e-KTP whose connection closes has left the reader, and the process ends.
    persistent = args.sam_key is not None
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    first = True
    while True:
        try:
            sock = connect(args.host, args.port, timeout=10 if first else 3600)
        except OSError as exc:
            print(f"vicc: cannot reach vpcd on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        if first and args.ready_file:
            args.ready_file.write_text("inserted\n")
        first = False
        try:
            serve(card, sock)
        except OSError:
            pass
        finally:
            sock.close()
        card.reset()
        if not persistent:
            return 0


if __name__ == "__main__":
    sys.exit(main())
