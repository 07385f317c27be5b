"""The console in a real browser (Debian's chromium driven by Playwright) against a real `recordbase serve`.

One scenario per backend: sign in with the admin token, design an entity, add, filter, sort and
edit records through the forms, upload and download a file, import a CSV, create a Data Reader,
then sign in as that reader and find no edit controls and a 403 page on Access. The SQLite run
saves a screenshot of each main screen into docs/console/ (shown in docs/console.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from recordbase.settings import Settings
from tests.conftest import LiveServer

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("RECORDBASE_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.anyio
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
PASSWORD = "correct horse battery staple"
VISIBLE_OPTIONS = "select => Array.from(select.options).filter(o => !o.hidden).map(o => o.value)"


def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium is required under CI but {CHROMIUM} is missing (scripts/test installs it)")
        pytest.skip(f"no chromium at {CHROMIUM}")
    return CHROMIUM


class Screen:
    """One browser page on the live server, with the scenario's few verbs."""

    def __init__(self, page: Any, server: LiveServer, shots: bool) -> None:
        self.page = page
        self.url = server.url
        self.shots = shots
        self.page.on("dialog", lambda dialog: dialog.accept())

    def go(self, path: str) -> None:
        self.page.goto(self.url + path)

    def shot(self, name: str) -> None:
        if self.shots:
            SHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def sign_in_with_token(self, token: str) -> None:
        self.go("/")
        self.page.get_by_text("Sign in with a token").click()
        self.page.get_by_label("Access token").fill(token)
        self.page.get_by_role("button", name="Sign in with token").click()
        playwright_api.expect(self.page.locator("#uipath-url")).to_contain_text("/myorg/mytenant")

    def sign_in(self, login: str, password: str) -> None:
        self.go("/console/login")
        expect = playwright_api.expect
        expect(self.page.get_by_label("Login")).to_be_focused()  # keyboard only from here
        self.page.keyboard.type(login)
        self.page.keyboard.press("Tab")
        expect(self.page.get_by_label("Password")).to_be_focused()
        self.page.keyboard.type(password)
        self.page.keyboard.press("Enter")
        playwright_api.expect(self.page.locator("#uipath-url")).to_be_visible()

    def add_field(self, name: str, kind: str, **options: str) -> None:
        form = self.page.locator("form", has=self.page.get_by_role("heading", name="Add a field"))
        form.get_by_label("Name", exact=True).fill(name)
        form.get_by_label("Type").select_option(kind)
        for label, value in options.items():
            form.get_by_label(label.replace("_", " "), exact=True).select_option(label=value)
        form.get_by_role("button", name="Add field").click()
        playwright_api.expect(self.page.get_by_role("cell", name=name, exact=True).first).to_be_visible()

    def new_record(self, full_name: str, age: str, status: str, born: str) -> None:
        self.go("/console/data/Customer/new")
        self.page.get_by_label("fullName").fill(full_name)
        self.page.get_by_label("age").fill(age)
        self.page.get_by_label("status").select_option(label=status)
        self.page.get_by_label("born").fill(born)
        self.page.get_by_role("button", name="Save").click()
        playwright_api.expect(self.page.get_by_role("heading", name="Customer record")).to_be_visible()

    def grid_names(self) -> list[str]:
        cells = self.page.locator("table.records tbody tr td:nth-child(3)")
        return [text.strip() for text in cells.all_inner_texts()]


async def test_console_scenario(settings: Settings, tmp_path: Path) -> None:
    """Playwright's sync API runs in a worker thread: the test's own thread runs an event loop."""
    executable = chromium_path()
    server = LiveServer(settings)
    server.start()
    try:
        await anyio.to_thread.run_sync(browse, executable, server, tmp_path)
    finally:
        server.stop()


def browse(executable: str, server: LiveServer, tmp_path: Path) -> None:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 800}, accept_downloads=True)
            scenario(Screen(context.new_page(), server, not server.settings.is_postgres), server, tmp_path)
        finally:
            browser.close()


def scenario(ui: Screen, server: LiveServer, tmp_path: Path) -> None:
    expect, page = playwright_api.expect, ui.page
    token = (server.settings.data_dir / "admin-token").read_text().strip()
    ui.sign_in_with_token(token)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    ui.shot("home")
    design_customer(ui)
    add_filter_sort_edit(ui)
    file_round_trip(ui, tmp_path)
    import_csv(ui, tmp_path)
    create_reader(ui)
    personal_token(ui)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    ui.go("/console/entities")
    expect(page).to_have_url(f"{server.url}/console/login")  # the session is gone
    reader_sees_no_edit_controls(ui)


def design_customer(ui: Screen) -> None:
    page, expect = ui.page, playwright_api.expect
    ui.go("/console/entities")
    choice = page.locator("form", has=page.get_by_role("heading", name="New choice set"))
    choice.get_by_label("Name").fill("Status")
    choice.get_by_label("Values, one a line").fill("Open\nWon\nLost")
    choice.get_by_role("button", name="Create choice set").click()
    expect(page.get_by_role("cell", name="0: Open, 1: Won, 2: Lost")).to_be_visible()
    entity = page.locator("form", has=page.get_by_role("heading", name="New entity"))
    entity.get_by_label("Name", exact=True).fill("Customer")
    entity.get_by_role("button", name="Create entity").click()
    expect(page.get_by_role("heading", name="Customer")).to_be_visible()
    ui.add_field("fullName", "text")
    ui.add_field("age", "integer")
    ui.add_field("status", "choice_set", Choice_set="Status")
    ui.add_field("born", "date")
    ui.add_field("photo", "file")
    ui.add_field("fullName", "text")  # a second time: the API's message is shown, nothing is added
    expect(page.get_by_role("alert")).to_contain_text("fullName")
    ui.shot("entity-editor")
    ui.go("/console/entities")
    expect(page.get_by_role("link", name="Customer", exact=True)).to_be_visible()
    ui.shot("entities")


def add_filter_sort_edit(ui: Screen) -> None:
    page, expect = ui.page, playwright_api.expect
    ui.new_record("Ann", "41", "Won", "1985-04-02")
    ui.new_record("Bob", "25", "Open", "1999-12-31")
    ui.new_record("Cid", "33", "Lost", "1991-07-15")
    ui.go("/console/data/Customer/new")
    page.get_by_label("age").fill("7")
    page.get_by_role("button", name="Save").click()  # fullName is not required: a record without one is fine
    ui.go("/console/data/Customer")
    expect(page.locator("table.records tbody tr")).to_have_count(4)
    page.get_by_role("link", name="age").click()
    page.get_by_role("link", name="age ▲").click()  # now descending
    expect(page.get_by_role("link", name="age ▼")).to_be_visible()
    assert ui.grid_names() == ["Ann", "Cid", "Bob", ""]
    page.get_by_label("Field 1").select_option(label="age")
    page.get_by_label("Operator 1").select_option(">")
    page.get_by_label("Value 1").fill("30")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.records tbody tr")).to_have_count(2)
    assert ui.grid_names() == ["Ann", "Cid"]
    offered = page.get_by_label("Operator 1").evaluate(VISIBLE_OPTIONS)
    assert ">" in offered and "startswith" not in offered  # only the operators a number accepts
    ui.shot("records")
    page.get_by_role("row", name="Ann").get_by_role("link").first.click()
    expect(page.get_by_text("Won")).to_be_visible()  # the choice shown by its label
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("status")).to_have_value("1")
    page.get_by_label("age").fill("200000000000000000000")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-error")).to_contain_text("'age' must be between")  # the API's message
    ui.shot("record-form")
    page.get_by_label("age").fill("42")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("dl.record")).to_contain_text("42")


def file_round_trip(ui: Screen, tmp_path: Path) -> None:
    page, expect = ui.page, playwright_api.expect
    upload = tmp_path / "contract.txt"
    upload.write_bytes(b"signed by Ann\n")
    page.get_by_label("Upload photo").set_input_files(str(upload))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("link", name="contract.txt")).to_be_visible()
    ui.shot("record")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="contract.txt").click()
    download = download_info.value
    assert download.suggested_filename == "contract.txt"
    assert Path(download.path()).read_bytes() == b"signed by Ann\n"


def import_csv(ui: Screen, tmp_path: Path) -> None:
    page, expect = ui.page, playwright_api.expect
    csv_file = tmp_path / "more.csv"
    csv_file.write_text("fullName,age,status\nDee,51,Won\nEve,19,0\nFay,not a number,1\n")
    ui.go("/console/data/Customer")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-summary")).to_have_text("2 of 3 rows imported.")
    expect(page.locator("#import-progress-text")).to_have_text("Done.")
    ui.shot("import")
    with page.expect_download() as download_info:
        page.locator("#import-errors").click()
    rejected = Path(download_info.value.path()).read_text()
    assert "Fay" in rejected and "Error" in rejected.splitlines()[0] and "Dee" not in rejected
    ui.go("/console/data/Customer?f=fullName&op=in&v=Dee,Eve")
    expect(page.locator("table.records tbody tr")).to_have_count(2)
    page.get_by_label("Select all rows").check()
    page.get_by_role("button", name="Delete selected").click()
    expect(page.locator("h1")).to_contain_text("4 records")


def create_reader(ui: Screen) -> None:
    page, expect = ui.page, playwright_api.expect
    ui.go("/console/access")
    users = page.locator("section", has=page.get_by_role("heading", name="Users"))
    users.get_by_label("Name").fill("Rita Reader")
    users.get_by_label("Login").fill("rita")
    users.get_by_label("Password").fill(PASSWORD)
    users.get_by_role("button", name="Create user").click()
    apps = page.locator("section", has=page.get_by_role("heading", name="Applications"))
    apps.get_by_label("Name").fill("Nightly robot")
    apps.get_by_role("button", name="Create application").click()
    expect(page.locator("#client-secret")).not_to_be_empty()
    assignments = page.locator("section", has=page.get_by_role("heading", name="Assignments"))
    assignments.get_by_label("Role").select_option(label="Data Reader")
    assignments.get_by_label("Principal").select_option(label="Rita Reader")
    assignments.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_text("Data Reader → Rita Reader")).to_be_visible()
    ui.shot("access")


def personal_token(ui: Screen) -> None:
    page, expect = ui.page, playwright_api.expect
    page.get_by_role("link", name="Tokens").click()
    page.get_by_label("Name").fill("nightly export")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_contain_text("rb_")
    expect(page.get_by_role("row", name="nightly export")).to_contain_text("active")
    ui.shot("tokens")
    page.get_by_role("button", name="Revoke nightly export").click()
    expect(page.get_by_role("row", name="nightly export")).to_contain_text("revoked")


def reader_sees_no_edit_controls(ui: Screen) -> None:
    page, expect = ui.page, playwright_api.expect
    ui.sign_in("rita", PASSWORD)
    expect(page.get_by_role("link", name="Access")).to_have_count(0)
    ui.go("/console/entities")
    expect(page.get_by_role("heading", name="New entity")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    ui.go("/console/data/Customer")
    expect(page.locator("table.records tbody tr")).to_have_count(4)
    for control in ("New record", "Import CSV"):
        expect(page.get_by_role("link", name=control)).to_have_count(0)
    expect(page.get_by_role("button", name="Delete selected")).to_have_count(0)
    expect(page.get_by_role("checkbox", name="Select all rows")).to_have_count(0)
    page.get_by_role("row", name="Ann").get_by_role("link").first.click()
    expect(page.locator("dl.record")).to_contain_text("Ann")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("button", name="Upload", exact=True)).to_have_count(0)
    expect(page.get_by_label("Upload photo")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete record")).to_have_count(0)
    response = page.goto(ui.url + "/console/access")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Forbidden")).to_be_visible()
    ui.shot("forbidden")
