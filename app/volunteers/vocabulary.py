"""What volunteers may say about themselves: ISO 639-1 languages and the skills vocabulary
(the platform's plus each organisation's own additions)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from uuid import UUID

from sqlalchemy import or_, select

from app.db.tables import skills
from app.db.tenancy import Tx
from app.errors import FieldError, InvalidInput

ISO_639_1 = frozenset(
    """
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr
ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw
ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv
ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr
ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
yo za zh zu
""".split()  # noqa: SIM905 - a readable table
)


def check_languages(codes: Iterable[str], field: str = "languages") -> None:
    errors = [
        FieldError(f"{field}[{i}]", f"{code!r} is not an ISO 639-1 language code")
        for i, code in enumerate(codes)
        if code not in ISO_639_1
    ]
    if errors:
        raise InvalidInput(errors[0].message, errors)


def check_unique(values: Sequence[str], field: str) -> None:
    if len(set(values)) != len(values):
        raise InvalidInput.field(field, "contains duplicates")


async def check_skills(
    tx: Tx, codes: Sequence[str], org_ids: Iterable[UUID], field: str = "skills"
) -> None:
    """Codes must be in the platform vocabulary or one of the given organisations' own."""
    check_unique(codes, field)
    if not codes:
        return
    known = set(
        (
            await tx.conn.scalars(
                select(skills.c.code).where(
                    skills.c.code.in_(codes),
                    or_(skills.c.org_id.is_(None), skills.c.org_id.in_(list(org_ids))),
                )
            )
        ).all()
    )
    check_known_skills(codes, known, field)


async def vocabulary(tx: Tx, org_ids: Iterable[UUID]) -> frozenset[str]:
    """Every skill code the given organisations' volunteers may name (for checking many
    profiles at once, as an import does)."""
    stmt = select(skills.c.code).where(
        or_(skills.c.org_id.is_(None), skills.c.org_id.in_(list(org_ids)))
    )
    return frozenset((await tx.conn.scalars(stmt)).all())


def check_known_skills(codes: Sequence[str], known: Set[str], field: str = "skills") -> None:
    check_unique(codes, field)
    errors = [
        FieldError(f"{field}[{i}]", f"unknown skill {code!r}")
        for i, code in enumerate(codes)
        if code not in known
    ]
    if errors:
        raise InvalidInput(errors[0].message, errors)
