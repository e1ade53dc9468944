"""The wire contract shared by the kiosk and the central server.

Canonical JSON, the signature and QR formats, the API's request and answer models, its
error codes, the document kinds and the one NIK mask.  Both sides import this package and
never each other, so a change of the contract is a change here, seen by both.  Nothing
in it imports anything above it.
"""
