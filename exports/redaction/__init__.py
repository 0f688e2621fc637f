"""Redaction at export time: rules (exports.redaction.rules) and the redactor that applies them
to each row's payloads and free-text fields (exports.redaction.redactor)."""
