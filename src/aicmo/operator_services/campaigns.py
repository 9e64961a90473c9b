"""Campaigns: a sequence, an audience, a state (DRAFT, ACTIVE, PAUSED, FINISHED).

Validation happens when a campaign is checked or started, never at send time: unknown
template variables, a step on a disabled channel, and leads with no address for any
channel of a step are reported (the first few leads, by id and step) before anything is
sent. The audience can be a million leads: it is counted and checked in the database and
enrolled in chunks, never loaded whole.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import (
    DEFAULT_WORKSPACE_ID,
    CampaignDB,
    EnrollmentDB,
    SequenceConfigDB,
)
from aicmo.cam.domain import leads as L
from aicmo.cam.domain.abstats import ab_settings
from aicmo.cam.domain.channels import get_spec, missing_subject
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.leads import has_control_char
from aicmo.cam.domain.sequencing import (
    EnrollmentState,
    Sequence,
    Step,
    assign_variants,
    channels_for,
    first_run_at,
    parse_steps,
)
from aicmo.cam.domain.window import WorkCalendar
from aicmo.errors import ConflictError, NotFoundError, ValidationError
from aicmo.operator_services.analytics.winners import decided_winners
from aicmo.operator_services.channels import get_channel_config
from aicmo.operator_services.crm.workspace import yaml_mapping
from aicmo.operator_services.uow import unit_of_work, utcnow, write_unit
from aicmo.transports.rendering import validate_template

STATES = ("DRAFT", "ACTIVE", "PAUSED", "FINISHED")
AUDIENCE_KEYS = frozenset({"grade", "stage", "tag", "min_score", "lead_ids"})
GRADES = ("A", "B", "C", "D")
#: Largest id a database integer holds (a bigger one would fail only at `campaign start`).
_MAX_ID = 2**63 - 1
_WINDOW_KEYS = frozenset({"timezone", "days", "start", "end", "jitter_seconds"})


def _campaign(db: Session, ref: str | int, workspace_id: int) -> CampaignDB:
    stmt = select(CampaignDB).where(CampaignDB.workspace_id == workspace_id)
    if isinstance(ref, int) or str(ref).isdigit():
        stmt = stmt.where(CampaignDB.id == int(ref))
    else:
        stmt = stmt.where(CampaignDB.name == str(ref).strip())
    row = db.scalar(stmt)
    if row is None:
        raise NotFoundError(f"no campaign {ref!r}")
    return row


def get_campaign(
    db: Session, campaign_id: int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """One campaign by id (a primary-key lookup: the check the routes under a campaign
    make before reading what hangs off it).

    Raises:
        NotFoundError: no such campaign in the workspace.
    """
    row = repo.campaign_by_id(db, workspace_id, campaign_id)
    if row is None:
        raise NotFoundError(f"no campaign with id {campaign_id}")
    return campaign_to_dict(row)


def campaign_sequence(db: Session, campaign: CampaignDB) -> Sequence:
    seq = db.get(SequenceConfigDB, campaign.sequence_id) if campaign.sequence_id else None
    if seq is None:
        raise ValidationError(f"campaign {campaign.name!r} has no sequence", field="sequence")
    return parse_steps(list(seq.steps))


def campaign_to_dict(row: CampaignDB) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "status": row.status,
        "sequence_id": row.sequence_id,
        "settings": dict(row.settings),
        "created_at": row.created_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
    }


def list_campaigns(
    db: Session,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    after_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Campaigns by id; ``after_id``: the last id of the previous page."""
    rows = repo.campaign_page(db, workspace_id, after_id=after_id, limit=limit)
    return [campaign_to_dict(r) for r in rows]


def enrollment_to_dict(row: EnrollmentDB) -> dict[str, Any]:
    return {
        "id": row.id,
        "campaign_id": row.campaign_id,
        "lead_id": row.lead_id,
        "state": row.state,
        "step_index": row.step_index,
        "channel_index": row.channel_index,
        "retries": row.retries,
        "next_run_at": row.next_run_at,
        "variant": row.variant,
        "stop_reason": row.stop_reason,
        "last_message_id": row.last_message_id,
        "created_at": row.created_at,
    }


def list_enrollments(
    db: Session,
    ref: str | int,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    state: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """A campaign's enrollments by id, optionally in one state: who is where, and why a
    stopped one stopped.

    Raises:
        NotFoundError: no such campaign in the workspace.
    """
    campaign = _campaign(db, ref, workspace_id)
    wanted = None
    if state:
        try:
            wanted = EnrollmentState(state.strip().upper()).value
        except ValueError:
            names = ", ".join(s.value for s in EnrollmentState)
            raise ValidationError(
                f"unknown state {state!r}; one of {names}", field="state"
            ) from None
    rows = repo.enrollment_page(
        db,
        workspace_id,
        campaign.id,
        state=wanted,
        after_id=after_id,
        limit=limit,
    )
    return [enrollment_to_dict(r) for r in rows]


def parse_campaign_yaml(text: str) -> dict[str, Any]:
    """Keyword arguments for ``create_campaign`` from a YAML document."""
    data = yaml_mapping(
        text,
        what="campaign file",
        not_mapping="a campaign file is a mapping: name, steps or sequence, audience",
    )
    unknown = set(data) - {"name", "description", "steps", "sequence", "audience", "settings"}
    if unknown:
        raise ValidationError(
            f"unknown campaign keys: {', '.join(sorted(unknown))}", field=sorted(unknown)[0]
        )
    if not isinstance(data.get("name"), str):
        raise ValidationError("a campaign needs a name (text)", field="name")
    return data


def _texts(audience: dict[str, Any], key: str) -> list[str] | None:
    """An audience filter given as one value or a list of them: always a list of text."""
    value = audience.get(key)
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise ValidationError(
            f"audience.{key} must be a word or a list of words, e.g. {key}: [a, b]; got {value!r}",
            field=f"audience.{key}",
        )
    return [v.strip() for v in values]


def check_audience(raw: Any) -> dict[str, Any]:
    """The audience in its one stored shape, or a ValidationError naming the key.

    ``grade``, ``stage`` and ``tag`` take one value or a list; a list means any of them
    (``tag: [expo, vip]`` is every lead tagged expo or vip), as with ``grade`` and ``stage``.
    ``min_score`` is a whole number 0..100; ``lead_ids`` a list of lead ids.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationError(
            "audience must be a mapping (grade, stage, tag, min_score, lead_ids)",
            field="audience",
        )
    unknown = set(raw) - AUDIENCE_KEYS
    if unknown:
        raise ValidationError(
            f"unknown audience keys {sorted(map(str, unknown))}; use {sorted(AUDIENCE_KEYS)}",
            field="audience",
        )
    out: dict[str, Any] = {}
    grades = _texts(raw, "grade")
    if grades is not None:
        bad = [g for g in grades if g.upper() not in GRADES]
        if bad:
            raise ValidationError(
                f"audience.grade: unknown grade {bad[0]!r} (A, B, C or D)", field="audience.grade"
            )
        out["grade"] = [g.upper() for g in grades]
    stages = _texts(raw, "stage")
    if stages is not None:
        out["stage"] = [L.parse_stage(s).value for s in stages]
    tags = _texts(raw, "tag")
    if tags is not None:
        out["tag"] = tags
    if raw.get("min_score") is not None:
        score = raw["min_score"]
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
            raise ValidationError(
                f"audience.min_score must be a whole number from 0 to 100, got {score!r}",
                field="audience.min_score",
            )
        out["min_score"] = score
    if raw.get("lead_ids") is not None:
        ids = raw["lead_ids"]
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i <= _MAX_ID for i in ids
        ):
            raise ValidationError(
                f"audience.lead_ids must be a list of lead ids (whole numbers), got {ids!r:.80}",
                field="audience.lead_ids",
            )
        out["lead_ids"] = ids
    return out


def _check_settings(settings: Any) -> dict[str, Any]:
    """Campaign settings: a mapping; its ``window`` a mapping of known keys that parse."""
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise ValidationError(
            "settings must be a mapping, e.g. settings: {window: …}", field="settings"
        )
    if "audience" in settings:
        raise ValidationError(
            "the audience goes at the top of the campaign file, not under settings",
            field="settings.audience",
        )
    if "ab_test" in settings:
        ab_settings(settings)  # the A/B plan is fixed before the start: check it now
    window = settings.get("window")
    if window is None:
        return settings
    if not isinstance(window, dict):
        raise ValidationError(
            "settings.window must be a mapping (days, start, end)", field="window"
        )
    unknown = set(window) - _WINDOW_KEYS
    if unknown:
        raise ValidationError(
            f"unknown settings.window keys {sorted(map(str, unknown))}; use {sorted(_WINDOW_KEYS)}",
            field="window",
        )
    tz = window.get("timezone")
    days = window.get("days")
    if tz is not None and not isinstance(tz, str):
        raise ValidationError(
            "settings.window.timezone must be a name like Europe/Paris", field="window"
        )
    if days is not None and not isinstance(days, list):
        raise ValidationError(
            "settings.window.days must be a list, e.g. [mon, tue]", field="window"
        )
    for key in ("start", "end"):
        if key in window and not isinstance(window[key], str):
            raise ValidationError(
                f'settings.window.{key} must be a time in quotes, e.g. {key}: "09:00"',
                field="window",
            )
    jitter = window.get("jitter_seconds", 0)
    if isinstance(jitter, bool) or not isinstance(jitter, int) or not 0 <= jitter <= 86_400:
        raise ValidationError(
            "settings.window.jitter_seconds must be a whole number from 0 to 86400",
            field="window",
        )
    WorkCalendar.parse(
        tz or "UTC",
        days=days,
        start=window.get("start", "09:00"),
        end=window.get("end", "17:00"),
    )
    return settings


def _check_definition(
    name: Any,
    *,
    steps: list[dict[str, Any]] | None,
    sequence: str | None,
    description: str | None,
    audience: dict[str, Any] | None,
    settings: dict[str, Any] | None,
) -> tuple[str, str | None, dict[str, Any], dict[str, Any]]:
    """What ``create_campaign`` checks before it writes: the clean name, description,
    audience and settings, or the first ValidationError (its field named)."""
    if not isinstance(name, str):
        raise ValidationError("a campaign needs a name (text)", field="name")
    clean_name = L.check_single_line("name", name.strip(), max_len=200)
    if not clean_name:
        raise ValidationError("a campaign needs a name", field="name")
    if description is not None:
        if not isinstance(description, str):
            raise ValidationError("description must be text", field="description")
        description = L.check_text("description", description, max_len=10_000)
    if (steps is None) == (sequence is None):
        raise ValidationError("give either steps or the name of a sequence", field="steps")
    if sequence is not None and not isinstance(sequence, str):
        raise ValidationError("sequence must be the name of a sequence", field="sequence")
    clean_audience = check_audience(audience)
    if steps is not None:
        parse_steps(steps)  # refuse a bad definition now, with the step named
    return clean_name, description, clean_audience, _check_settings(settings)


def _check_against_workspace(
    db: Session, workspace_id: int, clean_name: str, sequence: str | None
) -> SequenceConfigDB | None:
    """What a new campaign (and the builder's dry run of one) is checked against in the
    workspace: its name is free, and the named ``sequence`` exists (returned; None when
    the campaign brings its own steps).

    Raises:
        ConflictError: the name is taken. NotFoundError: no such sequence.
    """
    if repo.campaign_name_taken(db, workspace_id, clean_name):
        raise ConflictError(f"a campaign named {clean_name!r} exists already")
    if sequence is None:
        return None
    found = repo.sequence_config_by_name(db, workspace_id, sequence)
    if found is None:
        raise NotFoundError(f"no sequence named {sequence!r}")
    return found


def create_campaign(
    db: Session,
    name: str,
    *,
    steps: list[dict[str, Any]] | None = None,
    sequence: str | None = None,
    description: str | None = None,
    audience: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A DRAFT campaign with inline ``steps`` or a named ``sequence``.

    Raises:
        ValidationError: bad steps (index and field named), unknown audience keys.
        ConflictError: the name is taken. NotFoundError: no such sequence.
    """
    clean_name, description, audience, settings = _check_definition(
        name,
        steps=steps,
        sequence=sequence,
        description=description,
        audience=audience,
        settings=settings,
    )
    now = now or utcnow()
    with unit_of_work(db):
        stored = _check_against_workspace(db, workspace_id, clean_name, sequence)
        if stored is None:  # inline steps: a sequence of the campaign's own
            seq_row = SequenceConfigDB(
                workspace_id=workspace_id,
                name=f"campaign: {clean_name}",
                steps=steps,
                created_at=now,
                updated_at=now,
            )
            db.add(seq_row)
            db.flush()
        else:
            seq_row = stored
        row = CampaignDB(
            workspace_id=workspace_id,
            name=clean_name,
            description=description,
            status="DRAFT",
            sequence_id=seq_row.id,
            settings={**(settings or {}), "audience": audience},
            created_at=now,
            updated_at=now,
        )
        db.add(row)
        db.flush()
    return campaign_to_dict(row)


def _audience(campaign: CampaignDB) -> dict[str, Any]:
    """The campaign's audience in its checked shape (also that of campaigns stored before
    the checks were what they are: a bad one is a ValidationError naming the key)."""
    return check_audience(dict(campaign.settings.get("audience") or {}))


def check_subject_line(subject: str, *, field: str = "subject") -> None:
    """A subject is one header line: a line break (or another control character) in its
    template would end the Subject header and start another for every lead alike, so it
    is refused with the campaign's validation, before anything is sent."""
    if has_control_char(subject):
        raise ValidationError(
            f"{field} contains a line break or another control character; a subject is one line",
            field=field,
        )


def validate_campaign(
    db: Session,
    ref: str | int,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    max_lead_problems: int = 100,
) -> dict[str, Any]:
    """Everything that would stop or spoil sends, found before any send."""
    campaign = _campaign(db, ref, workspace_id)
    try:
        seq = campaign_sequence(db, campaign)
    except ValidationError as err:
        return {"ok": False, "errors": [err.message], "lead_problems": [], "leads": 0}
    errors = [message for _, message in sequence_problems(db, seq, workspace_id=workspace_id)]
    audience = _audience(campaign)
    problems, count = _audience_report(db, workspace_id, audience, seq, max_lead_problems)
    return {"ok": not errors, "errors": errors, "lead_problems": problems, "leads": count}


def sequence_problems(
    db: Session, seq: Sequence, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> list[tuple[str, str]]:
    """What would stop or spoil the sequence's sends, as (field, message): the field in
    the shape of ``parse_steps``'s (``steps[0].template.body``, 0-based), the message as
    ``validate_campaign`` words it (``step 1 EMAIL body: ...``, 1-based)."""
    problems: list[tuple[str, str]] = []
    # Each A/B variant is checked as the step it sends ("step 1 variant B: ...").
    checked: list[tuple[int, str, Step]] = []
    for i, base in enumerate(seq.steps, start=1):
        checked.append((i - 1, f"step {i}", base))
        checked += [
            (i - 1, f"step {i} variant {v.name}", base.for_variant(v.name)) for v in base.variants
        ]
    for index, label, step in checked:
        where = f"steps[{index}]"
        for channel in channels_for(step):
            if not get_channel_config(db, channel, workspace_id=workspace_id)["enabled"]:
                problems.append((f"{where}.channel", f"{label}: channel {channel} is disabled"))
            try:
                template = step.template_for(channel)
            except ValidationError as err:
                problems.append((f"{where}.template", f"{label}: {err.message}"))
                continue
            for field, source in (
                ("subject", template.subject),
                ("body", template.body),
                ("html", template.html),
                ("note", template.note),
            ):
                if source is None:
                    continue
                try:
                    if field == "subject":
                        check_subject_line(source, field=f"{label} {channel} subject")
                    validate_template(source, field=f"{label} {channel} {field}")
                except ValidationError as err:
                    problems.append((f"{where}.template.{field}", err.message))
            if get_spec(channel).needs_subject and not (template.subject or "").strip():
                problems.append(
                    (f"{where}.template.subject", f"{label}: {missing_subject(channel)}")
                )
            if template.note is not None and len(template.note) > 300 and "{" not in template.note:
                note = f"{label}: a LinkedIn note is at most 300 characters"
                problems.append((f"{where}.template.note", note))
    return problems


def _audience_report(
    db: Session, workspace_id: int, audience: dict[str, Any], seq: Sequence, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The audience's leads that a step cannot reach (the first ``limit``), and its size."""
    # Counted and checked in the database: the audience is never loaded (as rows, a
    # million leads took a minute and 2 GB). A step reaches a lead when one of its channels
    # has an address in one of the lead's fields (address_of, in SQL).
    steps = [
        tuple(f for c in channels_for(step) for f in get_spec(c).address_fields)
        for step in seq.steps
    ]
    problems = [
        {
            "lead_id": lead_id,
            "email": email,
            "problem": f"step {n}: no address for {'/'.join(channels_for(seq.steps[n - 1]))}",
        }
        for lead_id, email, n in repo.unreachable_leads(
            db, workspace_id, audience, steps, limit=limit
        )
    ]
    return problems, repo.count_audience(db, workspace_id, audience)


def check_campaign(
    db: Session,
    name: str,
    *,
    steps: list[dict[str, Any]] | None = None,
    sequence: str | None = None,
    description: str | None = None,
    audience: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    max_lead_problems: int = 20,
) -> dict[str, Any]:
    """``validate_campaign`` for a campaign not yet created (the dashboard's builder):
    the document ``create_campaign`` takes, checked as it checks it, then as
    ``validate_campaign`` checks a stored one. Nothing is written.

    Returns:
        ``ok``, ``errors`` (``{"field", "message"}``), ``lead_problems`` and ``leads`` (the
        audience's size), as ``validate_campaign``.

    Raises:
        ValidationError: what ``create_campaign`` would refuse (the field named).
        ConflictError: the name is taken. NotFoundError: no such sequence.
    """
    clean_name, _, clean_audience, _ = _check_definition(
        name,
        steps=steps,
        sequence=sequence,
        description=description,
        audience=audience,
        settings=settings,
    )
    stored = _check_against_workspace(db, workspace_id, clean_name, sequence)
    seq = parse_steps(steps if stored is None else list(stored.steps))
    errors = [
        {"field": field, "message": message}
        for field, message in sequence_problems(db, seq, workspace_id=workspace_id)
    ]
    problems, count = _audience_report(db, workspace_id, clean_audience, seq, max_lead_problems)
    db.rollback()  # read only: end the transaction the checks opened
    return {"ok": not errors, "errors": errors, "lead_problems": problems, "leads": count}


#: Leads enrolled per transaction by ``start_campaign``.
ENROLL_CHUNK = 10_000


def _enrollment_row(
    campaign: CampaignDB,
    seq: Sequence,
    lead_id: int,
    *,
    winners: dict[int, str],
    now: datetime,
    due_per_row: bool,
) -> dict[str, Any]:
    """What one new enrollment of the campaign holds of its own: decided here, lead by
    lead. What every new enrollment of one start shares is in ``_enrollment_defaults``
    (written once per chunk, not once per row: a million rows' dates converted one by one
    were half of a start's time).

    A/B: the lead's variants (a pure hash, the same wherever it is computed; a decided
    winner when the campaign sends newcomers to it). When the first step has variants,
    one may change its delay, so the due time is the row's own.
    """
    variant = assign_variants(campaign.id, seq, lead_id, winners)
    row: dict[str, Any] = {"lead_id": lead_id, "variant": variant}
    if due_per_row:
        row["next_run_at"] = first_run_at(seq, variant, now)
    return row


def _enrollment_defaults(
    campaign: CampaignDB, *, workspace_id: int, first_at: datetime | None, now: datetime
) -> dict[str, Any]:
    """The values every enrollment made by one start shares: at the first step, due
    ``first_at``."""
    return {
        "workspace_id": workspace_id,
        "campaign_id": campaign.id,
        "state": "ACTIVE",
        "step_index": 0,
        "channel_index": 0,
        "retries": 0,
        "created_at": now,
        "updated_at": now,
        **({"next_run_at": first_at} if first_at is not None else {}),
    }


def start_campaign(
    db: Session,
    ref: str | int,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
    chunk_size: int = ENROLL_CHUNK,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Validate, enroll the audience (each lead once), and set the campaign ACTIVE.

    The audience is enrolled in chunks of ``chunk_size`` leads, best first, each chunk
    committed on its own (memory and lock time follow the chunk, not the audience); then
    the campaign becomes ACTIVE in one last commit. A start stopped midway (killed, or an
    error) leaves the campaign in its state before (a DRAFT sends nothing) with part of
    its audience enrolled; starting it again enrolls the rest, nobody twice
    (uq_enrollments_campaign_lead).
    ``on_progress(enrolled, audience)`` is called after each chunk.

    Raises:
        ValidationError: the campaign has errors (listed); nothing is enrolled.
    """
    now = now or utcnow()
    report = validate_campaign(db, ref, workspace_id=workspace_id)
    if not report["ok"]:
        raise ValidationError("campaign not started: " + "; ".join(report["errors"]))
    campaign = _campaign(db, ref, workspace_id)
    seq = campaign_sequence(db, campaign)
    winners = decided_winners(db, campaign, seq)  # settings.ab_test.auto_winner
    due_per_row = bool(seq.steps[0].variants)
    first_at = None if due_per_row else first_run_at(seq, None, now)
    chunks = repo.unenrolled_chunks(
        db, workspace_id, campaign.id, _audience(campaign), size=max(1, chunk_size)
    )
    shared = _enrollment_defaults(campaign, workspace_id=workspace_id, first_at=first_at, now=now)
    enrolled = 0
    while True:
        with write_unit(db):
            lead_ids = next(chunks, None)
            if lead_ids is None:
                break
            rows = [
                _enrollment_row(
                    campaign, seq, lead_id, winners=winners, now=now, due_per_row=due_per_row
                )
                for lead_id in lead_ids
            ]
            enrolled += repo.insert_enrollments(db, rows, shared=shared)
        if on_progress is not None:
            on_progress(enrolled, report["leads"])
    with write_unit(db):
        campaign = _campaign(db, ref, workspace_id)
        # A FINISHED campaign starts again for the audience's newcomers (an evergreen
        # audience); the sweep finishes it again once they are done. Newcomers enrolled
        # by a start that stopped before this commit count too.
        if campaign.status != "FINISHED" or enrolled or repo.has_open_enrollments(db, campaign.id):
            campaign.status = "ACTIVE"
            campaign.finished_at = None
        campaign.started_at = campaign.started_at or now
        detail = {"started": True, "enrolled": enrolled}
        _campaign_event(db, campaign, EventType.CAMPAIGN_STARTED, now, detail)
    return {
        **campaign_to_dict(campaign),
        "enrolled": enrolled,
        "lead_problems": report["lead_problems"],
    }


def finish_campaigns(db: Session, *, now: datetime) -> list[int]:
    """Mark FINISHED each ACTIVE campaign that has enrollments and none left to run or to
    decide (no ACTIVE, no WAITING); returns their ids. The worker sweeps once a minute."""
    open_ = (
        select(EnrollmentDB.id)
        .where(
            EnrollmentDB.campaign_id == CampaignDB.id,
            EnrollmentDB.state.in_(("ACTIVE", "WAITING")),
        )
        .exists()
    )
    started = select(EnrollmentDB.id).where(EnrollmentDB.campaign_id == CampaignDB.id).exists()
    with write_unit(db):
        done = list(
            db.scalars(select(CampaignDB).where(CampaignDB.status == "ACTIVE", started, ~open_))
        )
        for campaign in done:
            campaign.status = "FINISHED"
            campaign.finished_at = now
            _campaign_event(db, campaign, EventType.CAMPAIGN_FINISHED, now, {"finished": True})
    return [c.id for c in done]


def _campaign_event(
    db: Session, campaign: CampaignDB, type_: EventType, now: datetime, detail: dict[str, Any]
) -> None:
    """A step of a campaign's life (started, paused, resumed, finished) on the audit trail,
    tied to the campaign and naming it first in the detail."""
    repo.add_event(
        db,
        campaign.workspace_id,
        OutreachEvent(type=type_, occurred_at=now, detail={"campaign": campaign.id, **detail}),
        campaign_id=campaign.id,
    )


def set_campaign_status(
    db: Session, ref: str | int, status: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """Pause (new sends stop at the next worker tick) or resume a campaign."""
    wanted = status.upper()
    if wanted not in {"ACTIVE", "PAUSED"}:
        raise ValidationError("status must be ACTIVE or PAUSED", field="status")
    with unit_of_work(db):
        campaign = _campaign(db, ref, workspace_id)
        if campaign.status in {"DRAFT", "FINISHED"}:
            raise ValidationError(
                f"a {campaign.status} campaign cannot be {wanted.lower()}d", field="status"
            )
        if campaign.status != wanted:
            type_ = EventType.CAMPAIGN_PAUSED if wanted == "PAUSED" else EventType.CAMPAIGN_RESUMED
            _campaign_event(db, campaign, type_, utcnow(), {"name": campaign.name})
        campaign.status = wanted
    return campaign_to_dict(campaign)


def campaign_status(
    db: Session, ref: str | int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """Enrollments by state and step, for `aicmo campaign status`."""
    campaign = _campaign(db, ref, workspace_id)
    rows = db.execute(
        select(EnrollmentDB.state, EnrollmentDB.step_index, func.count())
        .where(EnrollmentDB.campaign_id == campaign.id)
        .group_by(EnrollmentDB.state, EnrollmentDB.step_index)
    ).all()
    by_state: dict[str, int] = {}
    by_step: dict[int, int] = {}
    for state, step, n in rows:
        by_state[state] = by_state.get(state, 0) + int(n)
        by_step[int(step)] = by_step.get(int(step), 0) + int(n)
    return {**campaign_to_dict(campaign), "enrollments": by_state, "by_step": by_step}
