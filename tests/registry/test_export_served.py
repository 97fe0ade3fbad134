"""The export through a real `minegraph serve` process: bytes over a socket, streamed and whole."""

from __future__ import annotations

import csv
import io

import httpx
import openpyxl
import pytest

from support.queries import LOGIN
from support.servers import seed, serving
from settings import Settings
from spreadsheets.columns import COLUMNS
from support.sqldb import fresh_database

EXPORT_LINK = "query($kind: ExportKind!) { exportLink(kind: $kind) }"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("export")
    with fresh_database(directory) as database:
        seed(database, 300)
        with serving(database, directory / "serve.log") as running:
            conn = database.connect()
            try:
                codes = [r["code"] for r in conn.execute(
                    "SELECT code FROM mine WHERE revoked_at IS NULL ORDER BY county_code, code")]
            finally:
                conn.close()
            yield running, codes


def _post(base: str, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables}, headers=headers,
                          timeout=60, trust_env=False)
    return response.json()


def test_a_served_export_streams_every_mine_and_a_link_downloads_it(server):
    running, codes = server
    base = running.base
    token = _post(base, LOGIN, {"u": "000000-001", "p": Settings().demo_password})["data"]["login"]["token"]
    with httpx.stream("GET", f"{base}/export/mines.csv", headers={"Authorization": f"Bearer {token}"},
                      timeout=60, trust_env=False) as response:
        assert response.status_code == 200
        assert response.headers.get("transfer-encoding") == "chunked"  # streamed, not buffered
        body = response.read()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert body.startswith(b"\xef\xbb\xbf") and rows[0] == [c.label for c in COLUMNS]
    assert [r[0] for r in rows[1:]] == codes
    path = _post(base, EXPORT_LINK, {"kind": "MINES_XLSX"}, token)["data"]["exportLink"]
    response = httpx.get(f"{base}{path}", timeout=60, trust_env=False)
    assert response.status_code == 200 and int(response.headers["content-length"]) == len(response.content)
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)["矿山"]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == codes
    refused = httpx.get(f"{base}/export/mines.csv", params={"token": token}, timeout=60, trust_env=False)
    assert refused.status_code == 401 and refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
