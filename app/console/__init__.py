"""The caseworker's console: server-rendered GOV.UK Design System pages (Jinja2) over the
same use cases and row-level security as the JSON API, signed in with a session cookie."""
