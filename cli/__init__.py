"""The entry layer: the ``adm-kiosk`` command, the one place that knows the kiosk, its
screens and the simulated rig together (see architecture.md)."""
