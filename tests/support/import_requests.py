"""Sending a spreadsheet to importMines as clients do (a GraphQL multipart request), and downloading
the mine export it round-trips with."""

from __future__ import annotations

import json

IMPORT_MINES = """
mutation Import($file: Upload!, $apply: Boolean!) {
  importMines(file: $file, apply: $apply) {
    id applied created changed unchanged rejected
    rows { rowNumber code action changes { field old new } errors { column value message code } warnings
           initialPassword }
  }
}
"""


async def send(env, username: str, data: bytes, apply: bool = False, name: str = "mines.xlsx"):
    """importMines with `data` as the uploaded file, as `username`: the whole JSON answer."""
    token = await env.token(username)
    operations = {"query": IMPORT_MINES, "variables": {"file": None, "apply": apply}}
    response = await env.client.post(
        "/graphql", headers={"Authorization": f"Bearer {token}"},
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, data, "application/octet-stream")})
    return response.json()


async def export(env, username: str, kind: str, region_code: str) -> bytes:
    """GET /export/mines.<kind> of one region with the account's token: the file as served."""
    response = await env.client.get(f"/export/mines.{kind}", params={"regionCode": region_code},
                                    headers={"Authorization": f"Bearer {await env.token(username)}"})
    assert response.status_code == 200, response.text
    return response.content


def version(db, mine_id: int) -> int:
    """The mine's row version, as the database holds it."""
    return db.execute("SELECT version FROM mine WHERE id = ?", (mine_id,)).fetchone()[0]
