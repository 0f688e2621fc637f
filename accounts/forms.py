"""The API keys page's form: a name and the scopes as checkboxes."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import API_KEY_SCOPES
from accounts.services import MAX_KEY_NAME

SCOPE_CHOICES = [(scope, scope) for scope in API_KEY_SCOPES]


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=MAX_KEY_NAME,
        help_text="Something that says where the key is used, e.g. “nightly warehouse sync”.",
        error_messages={"required": "give the key a name, e.g. the service that will use it"},
    )
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["logs.export"],
        error_messages={"required": "choose at least one scope"},
    )

    def add_service_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)

    def scope_options(self):
        """Each scope's checkbox with the sentence that says what it allows."""
        return [(box, API_KEY_SCOPES[box.data["value"]]) for box in self["scopes"]]
