"""The mini-CRM's services: the import, the do-not-contact list, privacy (export and
erasure), the workspace's defaults and ideal-customer profile, and the audit trail.
The lead itself is :mod:`aicmo.operator_services.leads` (a path the seed names)."""
