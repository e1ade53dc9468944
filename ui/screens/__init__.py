"""The citizen's screens, one widget per flow state (a module per screen or family):
``base`` (Screen, MessageScreen, FingerScreen), ``attract``, ``entry`` (PIN, print code,
technician PIN), ``documents``, ``outcome`` (printing, done, error), ``technician``.
The pieces they are built of are in :mod:`ui.widgets`, the window in :mod:`ui.window`.

Screens only render a :class:`SessionView` and turn taps into flow events; they never call
drivers or the server, and never run on any thread but the Qt main thread.
"""
