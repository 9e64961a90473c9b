"""The service layer: the only door to the data.

Functions take a SQLAlchemy session first, return dicts (never ORM rows), commit on
success, and on error roll back and raise an ``AicmoError``.
"""

from aicmo.operator_services.channels import (
    get_channel_config,
    list_channel_configs,
    update_channel_config,
)
from aicmo.operator_services.crm.events import record_event
from aicmo.operator_services.crm.importing import ImportReport, import_leads_csv
from aicmo.operator_services.crm.privacy import export_person, forget_person
from aicmo.operator_services.crm.suppression import (
    add_suppression,
    check_suppression,
    list_suppressions,
    remove_suppression,
)
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults, get_icp, set_icp
from aicmo.operator_services.leads import (
    add_note,
    add_tags,
    count_leads,
    create_lead,
    export_leads_csv,
    find_leads,
    get_lead,
    grade_leads,
    remove_tags,
    set_stage,
    update_lead,
)
from aicmo.operator_services.metrics import get_channel_metrics
from aicmo.operator_services.outreach import get_outreach_history, send_outreach_message

__all__ = [
    "ImportReport",
    "add_note",
    "add_suppression",
    "add_tags",
    "check_suppression",
    "count_leads",
    "create_lead",
    "ensure_workspace_defaults",
    "export_leads_csv",
    "export_person",
    "find_leads",
    "forget_person",
    "get_channel_config",
    "get_channel_metrics",
    "get_icp",
    "get_lead",
    "get_outreach_history",
    "grade_leads",
    "import_leads_csv",
    "list_channel_configs",
    "list_suppressions",
    "record_event",
    "remove_suppression",
    "remove_tags",
    "send_outreach_message",
    "set_icp",
    "set_stage",
    "update_channel_config",
    "update_lead",
]
