"""The HTTP entry point: unsubscribe pages now; the REST API and dashboard later."""
