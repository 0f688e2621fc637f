"""The built-in detectors: one regular expression each, plus a check where a regex alone would
replace look-alikes (Luhn for card numbers, the ipaddress module for IPv6).

Each has a cheap guard (DETECTOR_REGEXES), so a text without anything of its kind costs one fast
scan.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

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
# The secret guard: any of these literals (one search of their alternation costs less than a
# substring test of each).
_SECRET_MARKS = ("sk-", "AKIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "xox", "eyJ",
                 "PRIVATE KEY", "earer", "EARER")
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
    r"|(?<![\w.-])\d{3}(?P<phone_sep>[.-])\d{3}(?P=phone_sep)\d{4}(?![\w-]|\.\d)"
    r"|(?<![\w.-])(?<!\d[ -])\d{3} \d{3} \d{4}(?![\w-]|\.\d| \d)"
    r"|(?<![\w.-])(?<!\d[ -])0\d{2,4} \d{3,4} ?\d{3,4}(?![\w-]|\.\d| \d)"
)

# Each detector's guard as one regular expression: a text without a match holds nothing of its
# kind. Python runs them below (e-mail's as a substring test); the screen of whole payloads
# (exports.redaction.screen) runs this text, all kinds in one pass.
GUARD_PATTERNS: dict[str, str] = {
    "secret": "|".join(_SECRET_MARKS),  # plain letters, digits, -, _ and spaces: no escaping
    "email": "@",
    "credit_card": r"\d(?:[ -]?\d){12}",
    "ip_address": r"\d\.\d{1,3}\.\d|::|[0-9A-Fa-f]:[0-9A-Fa-f]{1,4}:",
    "phone": r"\+\d|\d{3}\)[ .-]?\d|\d{3}[ .-]\d{3}",
}

# The kinds whose guard matches only text holding a decimal digit (Python's \d) or a ':'. One
# search for either rules all three out for a text, where their guards cost a search each.
DIGIT_OR_COLON_KINDS = frozenset({"credit_card", "ip_address", "phone"})
DIGIT_OR_COLON = re.compile(r"[\d:]")

# Each detector's regex, in the order they run (secrets first), with a guard: a cheap test that
# most texts fail, so the detector's regex (whose lookbehinds re cannot skip ahead with) scans
# only the texts that may hold its kind.
DETECTOR_REGEXES: tuple[tuple[str, Callable[[str], object], re.Pattern[str]], ...] = (
    ("secret", re.compile(GUARD_PATTERNS["secret"]).search, re.compile(_SECRET)),
    ("email", lambda text: "@" in text, re.compile(_EMAIL)),
    ("credit_card", re.compile(GUARD_PATTERNS["credit_card"]).search, re.compile(_CARD)),
    ("ip_address", re.compile(GUARD_PATTERNS["ip_address"]).search,
     re.compile(f"{_IPV4}|{_IPV6}")),
    ("phone", re.compile(GUARD_PATTERNS["phone"]).search, re.compile(_PHONE)),
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


# The kinds whose matches confirmed() checks; every match of the others is of its kind.
CONFIRMED_KINDS = frozenset({"credit_card", "ip_address"})


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
