"""The office's web console (``server.console.web``) and its accounts."""
