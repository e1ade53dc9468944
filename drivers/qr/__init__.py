"""QR / barcode scanner drivers."""
