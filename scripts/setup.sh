#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine (run as root): the Debian packages the
# simulated rig and the tests need, a virtualenv in .venv, and the project installed into
# it (editable, with the dev extra).  A second run that finds everything takes about a
# second: apt is only asked for packages that are missing and pip only runs when
# pyproject.toml changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # PC/SC: the daemon, the vsmartcard virtual reader driver, headers for pyscard
  pcscd libpcsclite-dev vsmartcard-vpcd
  # OpenSC's opensc-tool: the virtual e-KTP's ISO 7816-4 answers checked by another stack
  opensc
  # CUPS: a private cupsd, clients, filters, ippeveprinter, headers for pycups
  cups-daemon cups-client cups-filters cups-ipp-utils libcups2-dev
  # the private D-Bus ippeveprinter needs, serial pty pairs
  dbus-daemon socat
  # reading printed PDFs (pdftotext/pdftoppm), decoding QR codes, fonts for documents
  poppler-utils zbar-tools fonts-dejavu-core
  # the verification QR code on every document is encoded by libqrencode (in C)
  libqrencode4
  # a throwaway PostgreSQL cluster for the server tests and benchmark, and HAProxy in
  # front of two server nodes (tests/test_cluster.py, bench/server_load.py --nodes)
  postgresql haproxy
  # the replicated database: pg_auto_failover's monitor and keepers, and pgBackRest for the
  # WAL archive and point-in-time restores (tests/test_failover.py, bench/failover.py)
  postgresql-15-auto-failover pg-auto-failover-cli pgbackrest
  # the Wayland kiosk compositor the kiosk unit runs under, its seat daemon, Xwayland
  # (Debian's cage needs it) and Qt's Wayland libraries: the package depends on them, and
  # tests/test_deb.py installs the package with dpkg
  cage seatd xwayland libwayland-client0 libwayland-cursor0 libwayland-egl1
  # the office console's browser tests (Selenium drives Debian's Chromium)
  chromium chromium-driver
  # voice guidance (Indonesian and English voices) and aplay for a configured ALSA device
  espeak-ng alsa-utils
  # the flow diagram (docs/flow.svg) from the state machine's own table
  graphviz
  # the disk image's partitions on a plain file (tests/test_image_layout.py; make image
  # adds mmdebstrap and QEMU itself)
  fdisk dosfstools mtools
  # a release's signed RAUC bundle, made and refused as a kiosk would (tests/test_release.py)
  rauc squashfs-tools
  # Qt (offscreen and xcb) runtime libraries
  libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3
  libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 xvfb xauth
  # compilers for pyscard and pycups (no cp311 wheels on Linux)
  gcc python3-dev
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/adm-setup-apt.log 2>&1; then
    apt-get update -q >>/tmp/adm-setup-apt.log 2>&1
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/adm-setup-apt.log 2>&1 \
      || { tail -20 /tmp/adm-setup-apt.log >&2; exit 1; }
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.adm-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing the project into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  echo "$want" >"$stamp"
fi

# The kiosk's English translation, compiled from its source (ui/i18n/*.ts) when newer.
for ts in ui/i18n/*.ts; do
  qm="${ts%.ts}.qm"
  if [ ! -f "$qm" ] || [ "$ts" -nt "$qm" ]; then
    .venv/bin/pyside6-lrelease -silent "$ts" -qm "$qm"
  fi
done
