"""The built-in detectors: one regular expression each, plus a check where a regex alone would
replace look-alikes (Luhn for card numbers, the ipaddress module for IPv6).

All of them are joined into one alternation (DETECTOR_REGEX) so a text is scanned once.
"""

from __future__ import annotations

import ipaddress
import re

DETECTORS: tuple[str, ...] = ("email", "phone", "credit_card", "ip_address", "secret")
DETECTOR_LABELS = {"email": "E-mail addresses", "phone": "Phone numbers",
                   "credit_card": "Card numbers (Luhn-checked)",
                   "ip_address": "IP addresses (IPv4, IPv6)",
                   "secret": "Secrets (API keys, bearer tokens, JWTs, private keys)"}

# Secrets first: a JWT or key may hold digits or dots that another detector would take.
_SECRET = (
    r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]{1,20000}?-----END (?:[A-Z]+ )?PRIVATE KEY-----"
    r"|(?<![\w-])sk-[A-Za-z0-9_-]{20,}"
    r"|(?<![\w])AKIA[0-9A-Z]{16}(?![0-9A-Za-z])"
    r"|(?<![\w])gh[pousr]_[A-Za-z0-9]{30,}"
    r"|(?<![\w])xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|(?<![\w])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|(?i:bearer)[ \t]+[A-Za-z0-9._~+/-]{16,}=*"
)
_EMAIL = (r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
          r"\.[A-Za-z]{2,24}(?![\w])")
# 13–19 digits, single spaces or dashes between them; Luhn decides.
_CARD = r"(?<![\w.+-])\d(?:[ -]?\d){12,18}(?![\w-])"
_IPV4_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"(?<![\w.])(?:{_IPV4_OCTET}\.){{3}}{_IPV4_OCTET}(?![\w.]|\.\d)"
# A candidate only: ipaddress decides (so "12:30:00" stays).
_IPV6 = (r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
         r"(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])")
# International (+ and a country code) and common national forms: (415) 555-0134,
# 415-555-0134, 415.555.0134, 020 7946 0958, 07700 900123.
_PHONE = (
    r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w])"
    r"|(?<![\w(-])\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}(?![\w-])"
    r"|(?<![\w.-])\d{3}(?P<phone_sep>[.-])\d{3}(?P=phone_sep)\d{4}(?![\w.-])"
    r"|(?<![\w.-])\d{3} \d{3} \d{4}(?![\w.-])"
    r"|(?<![\w.-])0\d{2,4} \d{3,4} ?\d{3,4}(?![\w.-])"
)

DETECTOR_REGEX = re.compile(
    f"(?P<secret>{_SECRET})|(?P<email>{_EMAIL})|(?P<credit_card>{_CARD})"
    f"|(?P<ip_address>{_IPV4}|{_IPV6})|(?P<phone>{_PHONE})"
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def confirmed(kind: str, text: str) -> bool:
    """Whether a regex match is really of its kind (the regex alone would take look-alikes)."""
    if kind == "credit_card":
        digits = text.replace(" ", "").replace("-", "")
        return 13 <= len(digits) <= 19 and luhn_valid(digits)
    if kind == "ip_address" and ":" in text:
        if text.strip(":") == "":
            return False
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            return False
        return True
    return True
