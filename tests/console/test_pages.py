"""The console's pages through real HTTP on both backends: session cookie, CSRF, roles, escaping; CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from recordbase.app import create_app
from recordbase.settings import Settings
from tests.api.helpers import create_entity, field
from tests.conftest import Api
from tests.security.helpers import ADMIN, PASSWORD, bearer, create_user

pytestmark = pytest.mark.anyio
SAME = {"Origin": "http://testserver"}


async def sign_in(api: Api, login: str) -> httpx.Response:
    form = {"login": login, "password": PASSWORD}
    return await api.client.post("/console/login", data=form, headers={**SAME, "Authorization": ""})


def console_client(api: Api, token: str) -> httpx.AsyncClient:
    """A browser-like client: no Authorization header, only the console cookie."""
    headers = {"Cookie": f"rb_console={token}"}
    return httpx.AsyncClient(transport=api.client._transport, base_url="http://testserver", headers=headers)


def cookie_token(response: httpx.Response) -> str:
    return response.cookies["rb_console"]


async def test_root_redirects_and_pages_need_a_session(api: Api) -> None:
    root = await api.client.get("/")
    assert root.status_code == 303 and root.headers["location"] == "/console/"
    page = await api.client.get("/console/entities")
    assert page.status_code == 303 and page.headers["location"] == "/console/login"
    login = await api.client.get("/console/login")
    assert login.status_code == 200 and 'name="password"' in login.text
    assert "default-src 'self'" in login.headers["content-security-policy"]


async def test_password_sign_in_sets_a_strict_http_only_cookie_and_sign_out_revokes_it(api: Api) -> None:
    await create_user(api, "ann", ["Data Writer"])
    signed = await sign_in(api, "ann")
    assert signed.status_code == 303 and signed.headers["location"] == "/console/"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    token = cookie_token(signed)
    assert (await api.client.get("/api/Entity", headers=bearer(token))).status_code == 200
    async with console_client(api, token) as browser:
        home = await browser.get("/console/")
        assert home.status_code == 200 and "/myorg/mytenant" in home.text and "/api/docs" in home.text
        out = await browser.post("/console/logout", headers=SAME)
        assert out.status_code == 303 and 'rb_console=""' in out.headers["set-cookie"]
    assert (await api.client.get("/api/Entity", headers=bearer(token))).status_code == 401


async def test_wrong_password_or_token_shows_the_message_and_sets_no_cookie(api: Api) -> None:
    await create_user(api, "ann", ["Data Writer"])
    form = {"login": "ann", "password": "not the password at all"}
    wrong = await api.client.post("/console/login", data=form, headers=SAME)
    assert wrong.status_code == 400 and "set-cookie" not in wrong.headers and 'role="alert"' in wrong.text
    bad_token = await api.client.post("/console/login", data={"token": "rb_nope"}, headers=SAME)
    assert bad_token.status_code == 401 and "set-cookie" not in bad_token.headers


async def test_cross_site_posts_are_refused(api: Api) -> None:
    async with console_client(api, api.token) as browser:
        for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"}, {}):
            forged = await browser.post("/console/entities", data={"name": "Forged"}, headers=headers)
            assert forged.status_code == 403 and "Cross-site" in forged.text
        made = await browser.post("/console/entities", data={"name": "Real"}, headers=SAME)
        assert made.status_code == 303
    names = [e["name"] for e in (await api.get("/api/Entity")).json()]
    assert "Real" in names and "Forged" not in names
    login = await api.client.post(
        "/console/login", data={"token": api.token}, headers={"Origin": "https://x.y"}
    )
    assert login.status_code == 403 and "set-cookie" not in login.headers


async def test_a_reader_gets_403_on_admin_screens_and_cannot_write(api: Api) -> None:
    await create_entity(api, "Customer", [field("fullName")])
    await create_user(api, "rita", ["Data Reader"])
    token = cookie_token(await sign_in(api, "rita"))
    async with console_client(api, token) as browser:
        assert (await browser.get("/console/access")).status_code == 403
        user = {"name": "Mallory", "login": "mallory", "password": PASSWORD}
        assert (await browser.post("/console/access/users", data=user, headers=SAME)).status_code == 403
        assert (
            await browser.post("/console/entities", data={"name": "Nope"}, headers=SAME)
        ).status_code == 403
        insert = await browser.post("/console/data/Customer/new", data={"fullName": "x"}, headers=SAME)
        assert insert.status_code == 403
        grid = await browser.get("/console/data/Customer")
        assert (
            grid.status_code == 200 and "New record" not in grid.text and "Delete selected" not in grid.text
        )
    assert not (await api.get("/api/EntityService/Customer/read")).json()["value"]
    assert "mallory" not in [u.get("login") for u in (await api.get(f"{ADMIN}/users")).json()]


async def test_fields_a_role_may_not_read_never_reach_the_page(api: Api) -> None:
    await create_entity(api, "Customer", [field("fullName"), field("salary", "INT", isRbacEnabled=True)])
    inserted = await api.post(
        "/api/EntityService/Customer/insert", json={"fullName": "Ann", "salary": 987654}
    )
    record_id = inserted.json()["Id"]
    await create_user(api, "rita", ["Data Reader"])
    token = cookie_token(await sign_in(api, "rita"))
    async with console_client(api, token) as browser:
        for url in ("/console/data/Customer", f"/console/data/Customer/r/{record_id}"):
            page = await browser.get(url)
            assert page.status_code == 200 and "Ann" in page.text
            assert "salary" not in page.text and "987654" not in page.text
        export = await browser.get("/console/data/Customer/export?format=jsonl")
        assert export.status_code == 200 and "Ann" in export.text and "987654" not in export.text


async def test_record_values_are_escaped(api: Api) -> None:
    await create_entity(api, "Customer", [field("fullName")])
    evil = "<script>alert(1)</script>"
    await api.post("/api/EntityService/Customer/insert", json={"fullName": evil})
    async with console_client(api, api.token) as browser:
        grid = await browser.get("/console/data/Customer")
    assert grid.status_code == 200 and evil not in grid.text and "&lt;script&gt;" in grid.text


async def test_bad_input_answers_4xx_pages_never_500(api: Api) -> None:
    await create_entity(api, "Customer", [field("fullName"), field("age", "INT")])
    async with console_client(api, api.token) as browser:
        unknown = await browser.get("/console/data/Nope")
        bad_filter = await browser.get("/console/data/Customer?f=age&op=contains&v=1")
        bad_cursor = await browser.get("/console/data/Customer?cursor=garbage")
        bad_record = await browser.get("/console/data/Customer/r/not-a-uuid")
        bad_type = await browser.post(
            "/console/entities/Customer/fields", data={"name": "x", "type": "?"}, headers=SAME
        )
    assert unknown.status_code == 404 and bad_record.status_code == 404
    assert bad_filter.status_code == 400 and "contains" in bad_filter.text
    assert bad_cursor.status_code == 400 and bad_type.status_code == 400


@pytest.fixture
async def cors_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"cors_origins": "https://app.example, https://b.example"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_cors_is_off_by_default(api: Api) -> None:
    preflight = await api.client.options(
        "/api/Entity", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 405 and "access-control-allow-origin" not in preflight.headers
    plain = await api.get("/api/Entity", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in plain.headers


async def test_cors_answers_preflights_for_configured_origins(cors_client: httpx.AsyncClient) -> None:
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    preflight = await cors_client.options("/api/Entity", headers={"Origin": "https://app.example", **asked})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    other = await cors_client.options("/api/Entity", headers={"Origin": "https://evil.example", **asked})
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    unauthenticated = await cors_client.get("/api/Entity", headers={"Origin": "https://b.example"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["access-control-allow-origin"] == "https://b.example"


async def test_personal_tokens_are_created_shown_once_listed_and_revoked(api: Api) -> None:
    await create_user(api, "ann", ["Data Reader"])
    session = cookie_token(await sign_in(api, "ann"))
    async with console_client(api, session) as browser:
        created = await browser.post("/console/tokens", data={"name": "nightly"}, headers=SAME)
        assert created.status_code == 201 and 'id="new-token"' in created.text
        secret = created.text.split('id="new-token">')[1].split("<")[0]
        assert secret.startswith("rb_")
        assert (await api.client.get("/api/Entity", headers=bearer(secret))).status_code == 200
        listed = await browser.get("/console/tokens")
        assert "nightly" in listed.text and secret not in listed.text and "active" in listed.text
        token_id = listed.text.split("/console/tokens/")[1].split("/revoke")[0]
        revoked = await browser.post(f"/console/tokens/{token_id}/revoke", headers=SAME)
        assert revoked.status_code == 303
        assert "revoked" in (await browser.get("/console/tokens")).text
    assert (await api.client.get("/api/Entity", headers=bearer(secret))).status_code == 401


EVERY_TYPE = [
    {"name": "title", "type": "text", "maxLength": "40", "isRequired": "on"},
    {"name": "notes", "type": "multiline_text"},
    {"name": "qty", "type": "integer", "min": "0", "max": "99"},
    {"name": "price", "type": "decimal", "decimalPlaces": "2"},
    {"name": "paid", "type": "boolean"},
    {"name": "due", "type": "date"},
    {"name": "shipped", "type": "datetime"},
    {"name": "stage", "type": "choice_set"},
    {"name": "tags", "type": "multi_choice_set"},
    {"name": "customer", "type": "relationship", "references": "Customer"},
    {"name": "scan", "type": "file"},
    {"name": "seq", "type": "auto_number"},
    {"name": "externalKey", "type": "uuid", "isUnique": "on"},
]


async def test_fields_of_every_type_and_a_record_through_the_forms(api: Api) -> None:
    await create_entity(api, "Customer", [field("fullName")])
    ann = (await api.post("/api/EntityService/Customer/insert", json={"fullName": "Ann"})).json()["Id"]
    async with console_client(api, api.token) as browser:
        await browser.post("/console/choicesets", data={"name": "Stage", "values": "New\nDone"}, headers=SAME)
        stage = next(c["id"] for c in (await api.get("/api/Entity/choiceset")).json() if c["name"] == "Stage")
        assert (
            await browser.post("/console/entities", data={"name": "Purchase"}, headers=SAME)
        ).status_code == 303
        for spec in EVERY_TYPE:
            form = {**spec, "choiceSetId": stage}
            added = await browser.post("/console/entities/Purchase/fields", data=form, headers=SAME)
            assert added.status_code == 303, (spec, added.text[added.text.find("alert") :][:300])
        editor = await browser.get("/console/entities/Purchase")
        assert "Multi-choice set" in editor.text and "Relationship" in editor.text
        found = await browser.get("/console/data/Customer/search", params={"q": "An"})
        assert found.json() == [{"id": ann, "label": "Ann"}]
        form = {"title": "First", "qty": "3", "price": "9.5", "paid": "true", "due": "2026-01-31",
                "shipped": "2026-02-01T10:30", "stage": "1", "tags": ["0", "1"], "customer": ann}  # fmt: skip
        saved = await browser.post("/console/data/Purchase/new", data=form, headers=SAME)
        assert saved.status_code == 303, saved.text[-600:]
        detail = await browser.get(saved.headers["location"])
        assert f"/console/data/Customer/r/{ann}" in detail.text and "Done" in detail.text
        removed = await browser.post("/console/entities/Purchase/fields/notes/remove", headers=SAME)
        assert removed.status_code == 303
    stored = (await api.get("/api/EntityService/Purchase/read", params={"expansionLevel": 0})).json()[
        "value"
    ][0]
    assert stored["qty"] == 3 and stored["price"] == 9.5 and stored["paid"] is True
    assert stored["shipped"] == "2026-02-01T10:30:00.000Z" and stored["tags"] == [0, 1]
    assert stored["customer"] == ann and stored["stage"] == 1 and stored["seq"] == 1 and "notes" not in stored
    exact = "2026-02-01T10:30:15.123Z"
    await api.post(f"/api/EntityService/Purchase/update/{stored['Id']}", json={"shipped": exact})
    async with console_client(api, api.token) as browser:
        form_page = await browser.get(f"/console/data/Purchase/r/{stored['Id']}/edit")
        assert 'value="2026-02-01T10:30:15.123"' in form_page.text
        edited = await browser.post(
            f"/console/data/Purchase/r/{stored['Id']}/edit",
            data={"title": "Renamed", "shipped": "2026-02-01T10:30:15.123", "customer": ann},
            headers=SAME,
        )
        assert edited.status_code == 303, edited.text[-500:]
    again = (await api.get(f"/api/EntityService/Purchase/read/{stored['Id']}")).json()
    assert again["title"] == "Renamed" and again["shipped"] == exact  # an edit keeps the milliseconds


async def test_an_upload_over_the_file_limit_is_refused_with_413(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"files_max_bytes": 1000}))
    async with app.router.lifespan_context(app):
        token = await app.state.services.tokens.create_admin_token("tests")
        transport = httpx.ASGITransport(app=app)
        headers = {"Cookie": f"rb_console={token}", **SAME}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as browser:
            big = {"file": ("big.csv", b"fullName\n" + b"x\n" * 1000, "text/csv")}
            refused = await browser.post("/console/data/Customer/import", files=big)
            empty = await browser.post("/console/data/Customer/import", files={"file": ("", b"", "text/csv")})
    assert refused.status_code == 413 and "files_max_bytes" in refused.text
    assert empty.status_code == 400


async def test_grid_pages_by_cursor_shows_chosen_columns_and_deletes_one_record(api: Api) -> None:
    await create_entity(api, "Customer", [field("fullName"), field("age", "INT")])
    rows = [{"fullName": f"n{i:02}", "age": i} for i in range(30)]
    assert (await api.post("/api/EntityService/Customer/insert-batch", json=rows)).status_code == 200
    async with console_client(api, api.token) as browser:
        first = await browser.get(
            "/console/data/Customer", params={"sort": "age", "desc": "0", "cols": "age"}
        )
        assert first.status_code == 200 and "30 records" in first.text
        assert "n00" not in first.text and ">24<" in first.text and ">25<" not in first.text  # only `age`
        next_url = (
            first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
        )
        second = await browser.get("/console/data/Customer" + next_url)
        assert ">25<" in second.text and ">29<" in second.text and ">24<" not in second.text
        assert 'rel="next"' not in second.text and "First page" in second.text
        export = await browser.get("/console/data/Customer/export", params={"format": "csv"})
        assert export.status_code == 200 and export.text.count("\n") >= 31 and "n29" in export.text
        victim = (await api.get("/api/EntityService/Customer/read", params={"limit": 1})).json()["value"][0]
        deleted = await browser.post(f"/console/data/Customer/r/{victim['Id']}/delete", headers=SAME)
        assert deleted.status_code == 303
    assert (await api.get("/api/EntityService/Customer/read")).json()["totalRecordCount"] == 29


async def test_file_removal_and_a_custom_role_through_the_console(api: Api) -> None:
    await create_entity(api, "Customer", [field("fullName"), field("photo", "UNIQUEIDENTIFIER", "File")])
    record_id = (await api.post("/api/EntityService/Customer/insert", json={"fullName": "Ann"})).json()["Id"]
    base = f"/console/data/Customer/r/{record_id}/file/photo"
    async with console_client(api, api.token) as browser:
        up = await browser.post(base, files={"file": ("a.txt", b"hi", "text/plain")}, headers=SAME)
        assert up.status_code == 303 and (await browser.get(base)).content == b"hi"
        assert (await browser.post(f"{base}/remove", headers=SAME)).status_code == 303
        assert (await browser.get(base)).status_code == 404
        role = {"name": "Sales", "rights": "view_schema", "entities": '{"Customer": {"actions": ["read"]}}'}
        assert (await browser.post("/console/access/roles", data=role, headers=SAME)).status_code == 303
        bad = {"name": "Broken", "entities": "{not json"}
        assert (await browser.post("/console/access/roles", data=bad, headers=SAME)).status_code == 400
    roles = {r["name"]: r for r in (await api.get(f"{ADMIN}/roles")).json()}
    assert "Broken" not in roles and roles["Sales"]["rights"] == ["view_schema"], roles["Sales"]
    assert [g["actions"] for g in roles["Sales"]["entities"].values()] == [["read"]], roles["Sales"]


async def test_an_expired_session_is_renewed_once_by_its_refresh_cookie(api: Api) -> None:
    await create_user(api, "ann", ["Data Reader"])
    signed = await sign_in(api, "ann")
    refresh = signed.cookies["rb_console_refresh"]
    assert "httponly" in str(signed.headers.get_list("set-cookie")[-1]).lower()
    only_refresh = {"Cookie": f"rb_console_refresh={refresh}"}  # the access cookie has expired
    renewed = await api.client.get("/console/entities", headers={**only_refresh, "Authorization": ""})
    assert renewed.status_code == 200
    new_access, new_refresh = renewed.cookies["rb_console"], renewed.cookies["rb_console_refresh"]
    assert new_refresh != refresh
    async with console_client(api, new_access) as browser:
        assert (await browser.get("/console/entities")).status_code == 200
    replayed = await api.client.get("/console/entities", headers={**only_refresh, "Authorization": ""})
    assert replayed.status_code == 303  # a used refresh token revokes its whole family
    assert (await api.client.get("/api/Entity", headers=bearer(new_access))).status_code == 401


async def test_sign_out_revokes_the_refresh_token_too(api: Api) -> None:
    await create_user(api, "ann", ["Data Reader"])
    signed = await sign_in(api, "ann")
    cookies = "; ".join(f"{name}={signed.cookies[name]}" for name in ("rb_console", "rb_console_refresh"))
    out = await api.client.post("/console/logout", headers={"Cookie": cookies, **SAME, "Authorization": ""})
    assert out.status_code == 303 and len(out.headers.get_list("set-cookie")) == 2
    form = {"grant_type": "refresh_token", "refresh_token": signed.cookies["rb_console_refresh"]}
    assert (
        await api.client.post("/oauth/token", data=form, headers={"Authorization": ""})
    ).status_code == 400


async def test_an_administrator_disables_and_enables_a_user(api: Api) -> None:
    user_id = await create_user(api, "ann", ["Data Reader"])
    ann = cookie_token(await sign_in(api, "ann"))
    async with console_client(api, api.token) as browser:
        page = await browser.get("/console/access")
        assert f"/console/access/principals/{user_id}" in page.text
        off = await browser.post(
            f"/console/access/principals/{user_id}", data={"disabled": "true"}, headers=SAME
        )
        assert off.status_code == 303
        assert (await api.client.get("/api/Entity", headers=bearer(ann))).status_code == 401
        assert (await sign_in(api, "ann")).status_code != 303
        on = await browser.post(
            f"/console/access/principals/{user_id}", data={"disabled": "false"}, headers=SAME
        )
        assert on.status_code == 303 and (await sign_in(api, "ann")).status_code == 303
        missing = await browser.get("/console/no/such/page")
    assert missing.status_code == 404 and "no such page" in missing.text
