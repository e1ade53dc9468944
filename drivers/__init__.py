"""ADM kiosk package."""
