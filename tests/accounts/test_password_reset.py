"""Forgotten passwords: the reset page sends a mail whose link sets a new password."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core import mail


def test_a_password_reset_mails_a_link_that_sets_a_new_password(client, user, settings):
    settings.DEFAULT_FROM_EMAIL = "Log Exports <exports@example.com>"
    user.email = "ada@example.com"
    user.save()
    response = client.post("/accounts/password_reset/", {"email": "ada@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert message.from_email == "Log Exports <exports@example.com>"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)

    form = client.get(link, follow=True)  # Django swaps the token for a session-held one
    assert form.status_code == 200 and b'name="new_password1"' in form.content
    new_password = "a-brand-new-password-42"
    done = client.post(form.redirect_chain[-1][0],
                       {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    assert get_user_model().objects.get(id=user.id).check_password(new_password)
    # The link works once only.
    assert b'name="new_password1"' not in client.get(link, follow=True).content


def test_an_unknown_address_sends_nothing_and_says_the_same(client, user):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []
