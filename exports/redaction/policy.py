"""A workspace's redaction policy: the rules its exports start from, and, when mandatory, the
least each export must apply. Checked when an export is created, changed and started, so no
channel (page, API, admin) can make one with fewer rules."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from exports.models import RedactionPolicy
from exports.redaction.rules import normalise_redaction

POLICY_NOT_KEPT = "redaction_policy"  # the API's error code


def workspace_policy(workspace_id) -> RedactionPolicy | None:
    return RedactionPolicy.objects.filter(workspace_id=workspace_id).first()


def default_rules(workspace_id) -> dict:
    policy = workspace_policy(workspace_id)
    return normalise_redaction(policy.rules if policy else None)


def missing_rule(required: dict, rules: dict) -> tuple[str, str] | None:
    """(where, what) of the first required rule the rules lack, or None."""
    for name in required.get("detectors", []):
        if name not in rules.get("detectors", []):
            return "redaction.detectors", f"the {name} detector"
    have = {(item["name"], item["regex"]) for item in rules.get("patterns", [])}
    for item in required.get("patterns", []):
        if (item["name"], item["regex"]) not in have:
            return "redaction.patterns", f"the pattern {item['name']} = {item['regex']}"
    for key in required.get("drop_keys", []):
        if key not in rules.get("drop_keys", []):
            return "redaction.drop_keys", f"dropping {key}"
    return None


def with_required(rules: dict, required: dict) -> dict:
    """The rules with every rule of a mandatory policy added (patterns by name and regex)."""
    patterns = list(rules.get("patterns", []))
    for item in required.get("patterns", []):
        if item not in patterns:
            patterns.append(item)
    return {"detectors": sorted(set(rules.get("detectors", [])) | set(required.get("detectors",
                                                                               []))),
            "patterns": patterns,
            "drop_keys": sorted(set(rules.get("drop_keys", [])) | set(required.get("drop_keys",
                                                                               [])))}


def ensure_policy_kept(workspace_id, rules: dict) -> None:
    policy = workspace_policy(workspace_id)
    if policy is None or not policy.mandatory:
        return
    missing = missing_rule(normalise_redaction(policy.rules), rules)
    if missing:
        where, what = missing
        raise ValidationError({where: ValidationError(
            f"this workspace's redaction policy is mandatory and requires {what}",
            code=POLICY_NOT_KEPT)})


def export_rules(workspace_id, raw: Any, *, given: bool) -> dict:
    """The rules an export applies: what it asked for (normal form), or the workspace's
    defaults when it asked for nothing; refused when they fall short of a mandatory policy."""
    rules = normalise_redaction(raw) if given else default_rules(workspace_id)
    ensure_policy_kept(workspace_id, rules)
    return rules


def save_policy(*, workspace, rules: Any, mandatory: bool, actor_label: str) -> RedactionPolicy:
    normalised = normalise_redaction(rules)
    policy, _ = RedactionPolicy.objects.update_or_create(
        workspace=workspace, defaults={"rules": normalised, "mandatory": bool(mandatory),
                                       "updated_at": timezone.now(),
                                       "updated_by": actor_label[:200]})
    return policy

