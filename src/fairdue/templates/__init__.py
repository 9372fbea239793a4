"""Package data: the built-in message templates, `messages/<language>/<name>.j2`
(docs/templates.md); loaded and checked by `fairdue.adapters.templates`."""
