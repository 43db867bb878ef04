"""The pages a problem's `type` URL points at: what each problem code means (public)."""

from __future__ import annotations

from html import escape

from litestar import Controller, MediaType, get
from litestar.params import FromPath

from app.errors import NotFound
from app.problems import GENERIC, PROBLEM_TYPES, problem_responses

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main>
<h1>{title}</h1>
{body}
<p><a href="/problems">Every problem code</a> &middot; <a href="/schema">The API document</a></p>
</main></body></html>
"""


def _status(status: int) -> str:
    return "the status of the response" if status == 0 else f"HTTP {status}"


class ProblemPageController(Controller):
    path = "/problems"
    tags = ["operations"]
    security = [{}]  # public: links from error responses
    include_in_schema = True

    @get(
        "/",
        media_type=MediaType.HTML,
        summary="Every problem code the API answers with",
        operation_id="listProblems",
    )
    async def index(self) -> str:
        """An HTML page listing each problem code, its title and its status. Public."""
        items = "\n".join(
            f'<li><a href="/problems/{code}"><code>{code}</code></a>: {escape(t.title)} '
            f"({_status(t.status)})</li>"
            for code, t in sorted(PROBLEM_TYPES.items())
        )
        return _PAGE.format(title="Problem codes", body=f"<ul>\n{items}\n</ul>")

    @get(
        "/{code:str}",
        media_type=MediaType.HTML,
        summary="What one problem code means",
        responses=problem_responses(400, 404, common=False),
        operation_id="describeProblem",
    )
    async def describe(self, code: FromPath[str]) -> str:
        """An HTML page: what a problem's `type` URL means and how to read the body. Public."""
        found = PROBLEM_TYPES.get(code)
        if found is None:
            raise NotFound(f"No problem code {code!r}")
        title = "HTTP error" if code == GENERIC else found.title
        body = (
            f"<p><code>{escape(code)}</code>, {_status(found.status)}.</p>\n"
            f"<p>{escape(found.description)}</p>\n"
            "<p>The response is <code>application/problem+json</code> (RFC 9457): "
            "<code>detail</code> says what happened this time, <code>instance</code> "
            "the path, and <code>errors</code> (when present) each field and why.</p>"
        )
        return _PAGE.format(title=escape(title), body=body)
