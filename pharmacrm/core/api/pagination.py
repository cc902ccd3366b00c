"""One pagination contract for every list: ?page=N&page_size=M (≤ 200), no COUNT(*).

Response: {"results": [...], "page": N, "next": url|null, "previous": url|null}.
"""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from pharmacrm.core.generic import MAX_PAGE_SIZE, Page, parse_positive_int


class PagePagination(BasePagination):
    page_size = 50

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any]:
        size = parse_positive_int(request.query_params.get("page_size"), self.page_size, MAX_PAGE_SIZE)
        self.page = Page(queryset, parse_positive_int(request.query_params.get("page"), 1), size)
        self.request = request
        return self.page.object_list

    def _url(self, number: int) -> str:
        url = self.request.build_absolute_uri()
        return remove_query_param(url, "page") if number == 1 else replace_query_param(url, "page", number)

    def get_paginated_response(self, data: Any) -> Response:
        return Response({
            "results": data,
            "page": self.page.number,
            "next": self._url(self.page.next_page_number) if self.page.has_next else None,
            "previous": self._url(self.page.previous_page_number) if self.page.has_previous else None,
        })

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "page"],
            "properties": {
                "results": schema,
                "page": {"type": "integer", "example": 1},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {"name": "page", "required": False, "in": "query", "schema": {"type": "integer", "minimum": 1}},
            {"name": "page_size", "required": False, "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}},
        ]
