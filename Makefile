# The two commands (as root on Debian 12): `make demo` and `make check` (`make test`, then
# the booted appliance's short proof, `make boot-smoke`).
# Both set up what is missing first (apt packages, .venv, the project) and are idempotent.
VENV := .venv
BIN := $(VENV)/bin
OUT ?= demo-out

.PHONY: check bench-ui translations all setup demo test lint typecheck contracts pytest rig-up rig-down rig-status clean screenshots diagram golden bench-card bench-flow bench-render bench-server faults schemathesis bench-serial deb image image-rig image-tools boot-test boot-smoke bench-boot bench-public failover-test bench-failover kills faults-long fresh-clone bench-fleet release update-test

all: test

setup:
	@bash scripts/setup.sh

demo: setup
	@$(BIN)/adm-sim rig up
	@$(BIN)/adm-kiosk simulate --out $(OUT)

test: setup lint typecheck contracts pytest

# What CI runs (.ci/run): every test, then the image booted in QEMU (boot, idle screen, a
# session by touch, the watchdog).
check: test boot-smoke failover-test

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

# The layer rules of docs/architecture.md (import-linter contracts in pyproject.toml).
contracts:
	$(BIN)/lint-imports

# The rig's tests and the others run side by side (scripts/run_tests.py).
pytest:
	$(BIN)/adm-sim rig up >/dev/null
	$(BIN)/python scripts/run_tests.py

rig-up: setup
	$(BIN)/adm-sim rig up

rig-down:
	$(BIN)/adm-sim rig down

rig-status:
	$(BIN)/adm-sim rig status

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache

# Regenerate the committed screenshots (docs/screenshots) and document pages (docs/documents).
screenshots: setup
	@$(BIN)/adm-sim rig up >/dev/null
	@rm -rf /tmp/adm-shots && $(BIN)/adm-kiosk simulate --headless --out /tmp/adm-shots >/dev/null
	@mkdir -p docs/screenshots && rm -f docs/screenshots/*.png
	@cp /tmp/adm-shots/*.png docs/screenshots/
	@$(BIN)/python scripts/screenshot_prompts.py docs/screenshots 2>/dev/null
	@rm -rf /tmp/adm-shots-en && $(BIN)/adm-kiosk simulate --headless --lang en --out /tmp/adm-shots-en >/dev/null
	@rm -rf docs/screenshots/en && mkdir -p docs/screenshots/en && cp /tmp/adm-shots-en/*.png docs/screenshots/en/
	@$(BIN)/python scripts/render_documents.py >/dev/null
	@rm -rf docs/console-screenshots && $(BIN)/python scripts/console_screenshots.py >/dev/null
	@echo "kiosk panels in docs/screenshots, the office console in docs/console-screenshots, document pages in docs/documents"

# Bring ui/i18n/adm_en.ts up to date with the strings marked in ui/ (then translate the
# new entries; tests/test_translations.py fails on any unfinished one).
translations:
	$(BIN)/pyside6-lupdate ui/widgets.py ui/screens/*.py ui/window.py ui/texts.py -ts ui/i18n/adm_en.ts \
	  -target-language en -source-language id -no-obsolete -locations none
	$(BIN)/pyside6-lrelease ui/i18n/adm_en.ts -qm ui/i18n/adm_en.qm

diagram: setup
	@$(BIN)/python -m kiosk.diagram

golden: setup
	@$(BIN)/python scripts/render_documents.py --golden

# Benchmarks (results go to docs/benchmarks.md with the machine and date).  BENCH_ARGS is
# appended to a benchmark's command line (a later option wins): `make bench-card
# BENCH_ARGS="-n 2"` is the short run `make fresh-clone` uses.
BENCH_ARGS ?=
SCHEMATHESIS_EXAMPLES ?= 3100
SCHEMATHESIS_DB ?= both
bench-card: setup
	@$(BIN)/python bench/card_read.py $(BENCH_ARGS)

# Randomized fault campaign on the rig (seeded; a few minutes): see bench/faults.py.
# FAULTS_DB=postgresql puts the campaign's server on PostgreSQL.
FAULTS_DB ?= sqlite
faults: setup
	@$(BIN)/adm-sim rig up >/dev/null
	@cd bench && ../$(BIN)/python faults.py --sessions 30 --seed 2026 --db $(FAULTS_DB) $(BENCH_ARGS)

# The long campaign: 1,000 sessions in ten resumable parts of 100 (a part already on
# disk is kept; a part that ended in violations is kept too, the merge reports them).
FAULT_PARTS ?= 1 2 3 4 5 6 7 8 9 10
faults-long: setup
	@$(BIN)/adm-sim rig up >/dev/null
	@cd bench && for p in $(FAULT_PARTS); do [ -f faults-$$p.json ] || ../$(BIN)/python faults.py --first $$(( ($$p - 1) * 100 + 1 )) --sessions 100 --seed 2027 --db $(FAULTS_DB) --out faults-$$p.json $(BENCH_ARGS) || [ -f faults-$$p.json ] || exit 1; done
	@cd bench && ../$(BIN)/python faults.py --merge faults-*.json

bench-flow: setup
	@$(BIN)/python bench/flow_blocking.py

# The citizen's UI: cold start, memory over 500 sessions, GUI stalls, touches.
bench-ui: setup
	@$(BIN)/python bench/ui_figures.py --sessions 500 $(BENCH_ARGS)

# The fleet's rollouts: 500 simulated kiosks, a good release with a 5 % canary, then a
# broken one stopped with its canary (sim/fleet.py against a real server).
bench-fleet: setup
	@$(BIN)/python bench/fleet_rollout.py $(BENCH_ARGS)

bench-server: setup
	@$(BIN)/python bench/server_load.py --db both --workers 1,2,4 --seconds 12 $(BENCH_ARGS)

# The replicated database under failover: pg_auto_failover, two server nodes behind
# HAProxy, kiosks printing while a primary is killed, then frozen (tests/test_failover.py).
failover-test: setup
	@ADM_FAILOVER=1 $(BIN)/python -m pytest -q -p no:randomly tests/test_failover.py

# Failover and restore figures (bench/failover.py; a million documents restored).
bench-failover: setup
	@cd bench && ../$(BIN)/python failover.py --restore-documents 1000000 $(BENCH_ARGS)

# A thousand random kills in ten resumable parts (bench/kills.py): KILL_PARTS="1 2" runs some.
KILL_PARTS ?= 1 2 3 4 5 6 7 8 9 10
kills: setup
	@$(BIN)/adm-sim rig up >/dev/null
	@cd bench && for p in $(KILL_PARTS); do [ -f kills-$$p.json ] || ../$(BIN)/python kills.py --kills 100 --seed $$p --out kills-$$p.json $(BENCH_ARGS) || exit 1; done
	@cd bench && ../$(BIN)/python kills.py --merge kills-*.json

# Every make target from a clean clone of HEAD, in a random order (seeded), the costly ones
# with a short option (scripts/fresh_clone.py; about 15 minutes; uses the rig).
FRESH_SEED ?=
fresh-clone: setup
	@$(BIN)/python scripts/fresh_clone.py $(if $(FRESH_SEED),--seed $(FRESH_SEED))

# The public check: the seal on paper and /v/<token> paced at 200/s (bench/public_check.py).
bench-public: setup
	@cd bench && ../$(BIN)/python public_check.py --db both --rate 200 --seconds 20 $(BENCH_ARGS)

bench-render: setup
	@dpkg-query -W -f='$${Status}' libpango-1.0-0 2>/dev/null | grep -q "ok installed" || \
	  apt-get install -y -q --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 >/dev/null
	@$(BIN)/python -c "import weasyprint" 2>/dev/null || $(BIN)/pip install -q -e '.[bench]'
	@$(BIN)/python bench/render.py $(BENCH_ARGS)

# The server against its own OpenAPI spec with a few thousand generated cases (the test
# suite runs the same with fewer).
schemathesis: setup
	@$(BIN)/adm-sim rig up >/dev/null
	ADM_SCHEMATHESIS_EXAMPLES=$(SCHEMATHESIS_EXAMPLES) ADM_SCHEMATHESIS_DB=$(SCHEMATHESIS_DB) $(BIN)/pytest -q --timeout 7200 tests/test_schemathesis.py -s

# Fingerprint verification against its physical floor, QR line to event (bench/serial_devices.py).
bench-serial: setup
	@$(BIN)/python bench/serial_devices.py $(BENCH_ARGS)

# The Debian package (dist/adm-kiosk_<version>_amd64.deb), then lintian on it.
deb: setup
	@$(BIN)/python scripts/build_deb.py --out dist
	@command -v lintian >/dev/null && lintian --no-tag-display-limit dist/adm-kiosk_*_amd64.deb || true

# The appliance: a bootable Debian 12 disk image with the package (dist/adm-kiosk.img), and
# the test rig's variant (dist/adm-kiosk-rig.img: + vpcd, qemu-guest-agent); see
# scripts/build_image.py.  Both build from the current tree's package.
IMAGE_TOOLS := mmdebstrap qemu-system-x86 qemu-utils ovmf mtools dosfstools fdisk rauc squashfs-tools
image-tools:
	@for p in $(IMAGE_TOOLS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done > /tmp/adm-image-missing
	@if [ -s /tmp/adm-image-missing ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$(cat /tmp/adm-image-missing) >/dev/null; fi
	@rm -f /tmp/adm-image-missing

image: setup image-tools deb
	@$(BIN)/python scripts/build_image.py --out dist

image-rig: setup image-tools deb
	@$(BIN)/python scripts/build_image.py --rig --out dist

# The image booted in QEMU: systemd, the screen, a whole session by touch, the watchdog,
# cage killed, ten power cuts while printing (tests/boot; about 20 minutes under TCG).
boot-test: image-rig
	@$(BIN)/adm-sim rig up >/dev/null
	ADM_BOOT=1 $(BIN)/pytest -q -s tests/boot

# The short proof for CI: boot, idle screen, one session by touch, the watchdog.
boot-smoke: image-rig
	@$(BIN)/adm-sim rig up >/dev/null
	ADM_BOOT=1 ADM_BOOT_SMOKE=1 ADM_BOOT_SHOTS=dist/boot-shots $(BIN)/pytest -q -s tests/boot

# A signed release (a RAUC bundle of the whole root file system, dist/releases/), with
# the release CA in dist/release-ca (made on first use; keep it offline): see
# scripts/build_release.py.  VERSION=V names it (default: the project's version and the
# commit); PUBLISH=HOME [DB=URL] publishes it to that server's home.
RELEASE_VERSION = $(or $(VERSION),$(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)+g$(shell git rev-parse --short HEAD))
release: setup image-tools deb
	@$(BIN)/python scripts/build_release.py --version $(RELEASE_VERSION) \
		$(if $(PUBLISH),--publish $(PUBLISH) --db $(or $(DB),sqlite:///$(PUBLISH)/server.db))

# Updates in the booted appliance: an upgrade, a rollback, ten power cuts during updates
# (tests/boot/test_update.py; the rig's image and three releases of it built first;
# about 1 h 30 min under TCG).  Figures: dist/update-figures.json.  The guest's disk honours
# its flushes, so its overlay lives in memory (UPDATE_TMP): on a slow host disk every
# guest fsync became a host fsync, and a first boot outran the health gate.
UPDATE_TMP ?= /dev/shm/adm-update-test
update-test: image-rig
	@$(BIN)/python scripts/build_release.py --rig --out dist/releases \
		--version 0.1.0+u1 --version 0.1.0+u2 --broken 0.1.0+bad
	@$(BIN)/adm-sim rig up >/dev/null
	ADM_BOOT=1 ADM_UPDATE=1 ADM_GUEST_CACHE=writeback PYTHONUNBUFFERED=1 \
		$(BIN)/pytest -q -s tests/boot/test_update.py --basetemp=$(UPDATE_TMP)

# The booted appliance's figures (image, boot, memory, watchdog, power cuts): bench/boot.py.
bench-boot: image-rig
	@$(BIN)/adm-sim rig up >/dev/null
	@$(BIN)/python bench/boot.py
