"""The workspace's redaction policy page: its admins set the default rules and whether they
are mandatory (exports.redaction.policy); members see them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.selectors import can_manage_api_keys, current_workspace, shell_context
from exports.forms import RedactionPolicyForm
from exports.redaction.detectors import DETECTOR_LABELS
from exports.redaction.policy import save_policy, workspace_policy

REFUSED = "Only admins of this workspace can change its redaction policy."


@require_http_methods(["GET", "POST"])
@login_required
def redaction_policy(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("You are not a member of any workspace.")
    policy = workspace_policy(workspace.id)
    can_manage = can_manage_api_keys(request.user, workspace)
    form = RedactionPolicyForm(request.POST if request.method == "POST" else None,
                               policy=policy)
    status = 200
    if request.method == "POST":
        if not can_manage:
            form.add_error(None, REFUSED)
            status = 403
        elif form.is_valid():
            try:
                save_policy(workspace=workspace, rules=form.redaction(),
                            mandatory=form.cleaned_data["mandatory"],
                            actor_label=request.user.get_username())
            except ValidationError as error:
                for key, problems in error.message_dict.items():
                    for problem in problems:
                        form.add_error(form.redaction_field(key), f"{key}: {problem}")
                status = 422
            else:
                messages.success(request, "Redaction policy saved.")
                return redirect("exports:redaction_policy")
        else:
            status = 422
    context = shell_context(request, workspace)
    context.update(active_nav="redaction", form=form, policy=policy, can_manage=can_manage,
                   detector_labels=DETECTOR_LABELS)
    return render(request, "exports/redaction_policy.html", context, status=status)
