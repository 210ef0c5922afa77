"""The API's page-number paging, with the page number bounded where it is read.

ninja's own class accepts any page, so `?page=99999999999999999999` reached the database as an
OFFSET it cannot hold (PostgreSQL: "bigint out of range", SQLite: "datatype mismatch") and came
back as a 500. Every router paginates with this class instead; a page past `MAX_PAGE` is a 422
that says why, like any other invalid parameter.
"""

from __future__ import annotations

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination as NinjaPageNumberPagination

MAX_PAGE = 1_000_000_000  # × the largest page size stays far below 2**63
MAX_PAGE_SIZE = 1000


class PageNumberPagination(NinjaPageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE)
