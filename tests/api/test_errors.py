"""One error table for both dialects: every error class renders in each, with the status the table gives
it, and only the classes that stand for a server fault answer 500."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

import recordbase.app  # noqa: F401  (imports every module, so every error class is defined)
from recordbase import errors
from recordbase.api import errors as api_errors
from recordbase.api.pipeliner import errors as pipeliner_errors
from recordbase.errors import FieldError, RecordbaseError
from recordbase.files import errors as file_errors

DOCS = (Path(__file__).parents[2] / "docs" / "errors.md").read_text(encoding="utf-8")
SERVER_FAULTS = {errors.RecordbaseError, file_errors.FileContentMissing}


def every_class(root: type[RecordbaseError] = RecordbaseError) -> list[type[RecordbaseError]]:
    found = [root]
    for sub in root.__subclasses__():
        found += [c for c in every_class(sub) if c not in found]
    return found


def example(kind: type[RecordbaseError]) -> RecordbaseError:
    problem = FieldError("age", "OUT_OF_RANGE", "Field 'age' must be between 0 and 150.")
    if issubclass(kind, errors.ValidationFailed):
        return kind([problem])
    if issubclass(kind, errors.RateLimited):
        return kind("Too many attempts.", retry_after=30)
    if issubclass(kind, file_errors.RangeNotSatisfiable):
        return kind("No byte selected.", size=10)
    return kind(f"An example of {kind.__name__}.")


CLASSES = every_class()


def test_the_walk_finds_the_error_classes_of_every_package() -> None:
    names = {kind.__name__ for kind in CLASSES}
    assert {"OAuthError", "SchemaError", "FileTooLarge", "InvalidColumnHeader"} <= names
    assert "ErrorFileNotFound" in names and len(CLASSES) > 35


@pytest.mark.parametrize("kind", CLASSES, ids=lambda kind: kind.__name__)
def test_every_error_class_renders_in_both_dialects(kind: type[RecordbaseError]) -> None:
    error = example(kind)
    row = api_errors.row_for(error)
    uipath_status = api_errors.status_for(error)
    uipath = api_errors.dataservice_body(error, "trace")
    assert uipath["code"] == kind.code and uipath["error"] == error.message and uipath["traceId"] == "trace"
    response = pipeliner_errors.error_response(error)
    pipeliner = orjson.loads(bytes(response.body))
    assert response.status_code == pipeliner["http_status"] == row.pipeliner
    assert (pipeliner["code"], pipeliner["name"], pipeliner["success"]) == (row.code, row.name, False)
    if kind in SERVER_FAULTS:
        assert uipath_status == response.status_code == 500
    else:
        assert uipath_status < 500 or uipath_status == 503
        assert response.status_code < 500 or response.status_code == 503
    assert f"`{kind.code}`" in DOCS
    assert re.search(rf"^\| `{row.code}` \| `{row.name}` \| {row.pipeliner} \|", DOCS, re.MULTILINE)


def test_statuses_the_dialects_share_and_where_they_differ() -> None:
    failed = errors.ValidationFailed([FieldError("email", "NOT_UNIQUE", "Taken.")])
    assert api_errors.status_for(failed) == 409 and pipeliner_errors.status_for(failed) == 422
    for kind in (errors.SchemaError, errors.OAuthError, errors.InvalidClient):
        error = example(kind)
        assert api_errors.status_for(error) == pipeliner_errors.status_for(error) < 500
    assert api_errors.row_for(example(errors.ChoiceSetNotFound)) == api_errors.TABLE[errors.NotFound]


def test_a_401_asks_for_basic_credentials_and_429_says_when_to_retry() -> None:
    refused = pipeliner_errors.error_response(errors.NotAuthenticated("no"))
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="restapi"'
    limited = pipeliner_errors.error_response(errors.RateLimited("slow down", retry_after=7))
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"


def test_field_names_are_filled_in_by_the_renderer_not_rewritten() -> None:
    problem = FieldError(
        "owner", "RELATION_NOT_FOUND", "[{field}] Relation Account.{field}=1 to Client doesn't exist!"
    )
    assert problem.message == "[owner] Relation Account.owner=1 to Client doesn't exist!"
    assert problem.named("owner_id") == "[owner_id] Relation Account.owner_id=1 to Client doesn't exist!"
    untouched = FieldError("owner", "INVALID_VALUE", "The owner's 'owner' value is odd.")
    assert untouched.named("owner_id") == untouched.message  # English text is never rewritten
    failed = errors.ValidationFailed([problem])
    assert failed.message == "[owner] " + problem.message


def test_unsupported_query_keys_are_refused_with_their_own_code() -> None:
    from recordbase.core.query.uipath import parse_query

    with pytest.raises(errors.Unsupported) as refused:
        parse_query({"expansions": [{"fieldName": "owner"}]})
    assert refused.value.code == "UNSUPPORTED" and "expansions" in refused.value.message
    assert api_errors.status_for(refused.value) == 400
