"""The hub's /openapi.json generator: quart-schema's, with response headers where OpenAPI has them.

quart-schema 0.25 writes a documented response's headers into its ``content`` map, among the
media types, where no OpenAPI tool looks for them (and a validator calls the document invalid).
They belong in the response's own ``headers`` object, named as sent (``Retry-After``), each with
its description and whether it is always there.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from quart_schema.openapi import OpenAPIProvider
from quart_schema.typing import Model


class HubOpenAPIProvider(OpenAPIProvider):
    def build_response_object(
        self, model: type[Model], headers_model: type[Model] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        response, definitions = super().build_response_object(model, None)
        if headers_model is not None:
            if not (isinstance(headers_model, type) and issubclass(headers_model, BaseModel)):
                raise TypeError(f"response headers {headers_model!r}: a pydantic model is needed")
            response["headers"] = response_headers(headers_model)
        return response, definitions


def response_headers(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI header objects from a pydantic model whose fields carry the header names as aliases."""
    properties = model.model_json_schema(by_alias=True)["properties"]
    headers: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        sent_as = field.alias or name
        schema = dict(properties[sent_as])
        schema.pop("title", None)
        header: dict[str, Any] = {"schema": schema, "required": field.is_required()}
        description = schema.pop("description", None)
        if description:
            header["description"] = description
        headers[sent_as] = header
    return headers
