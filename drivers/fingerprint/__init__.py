"""Fingerprint scanner drivers."""
