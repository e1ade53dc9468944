"""The installer of kiosk releases: RAUC's A/B slots on a kiosk, a simulator in tests."""
