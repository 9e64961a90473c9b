"""Running the installation: worker heartbeats and the health figures of ``/healthz``."""
