"""Page/limit query parameters and the paginated response envelope."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class PageParams(BaseModel):
    page: int = 1
    limit: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _page_params(
    page: Annotated[int, Query(ge=1, le=100_000, description="1-based page number")] = 1,
    limit: Annotated[int, Query(ge=1, le=200, description="items per page")] = 50,
) -> PageParams:
    return PageParams(page=page, limit=limit)


Pagination = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    limit: int


async def paginate(
    session: AsyncSession, query: Select[Any], params: PageParams
) -> tuple[list[Any], int]:
    """Run `query` for one page and count all matches (one extra COUNT over the same filter)."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = await session.scalars(query.offset(params.offset).limit(params.limit))
    return list(rows), int(total or 0)
