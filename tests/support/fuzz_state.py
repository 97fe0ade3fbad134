"""The database, read beside the service: the state a refused request must leave exactly as it was."""

from __future__ import annotations


def one(db, sql: str, *params):
    row = db.execute(sql, params).fetchone()
    return None if row is None else tuple(row)


def data_version(db):
    return one(db, "SELECT version FROM data_version")


def mine_state(db, mine_id: int) -> tuple:
    return (
        one(db, "SELECT version, lat, lng, source_datum, inside_county, location_updated_at, updated_at "
                "FROM mine WHERE id = ?", mine_id),
        [tuple(r) for r in db.execute("SELECT level, name, position, phone, updated_at, entered_by FROM guarantor "
                                      "WHERE mine_id = ? ORDER BY level", (mine_id,)).fetchall()],
        # The mine's change records. Refusals are audited too ("access.refused", written after the
        # answer, in the background): records of the attempt, not of a change, so not compared.
        one(db, "SELECT count(*) FROM audit_log WHERE mine_id = ? AND action LIKE 'mine.%'", mine_id),
        one(db, "SELECT count(*) FROM audit_log WHERE action LIKE 'mine.%'"),
        data_version(db),
    )


def account_state(db, username: str) -> tuple:
    return (
        one(db, "SELECT name, phone, email, password_hash, wechat_openid FROM account WHERE username = ?", username),
        one(db, "SELECT count(*), count(s.revoked_at) FROM auth_session s JOIN account a ON a.id = s.account_id "
                "WHERE a.username = ?", username),
    )


def sessions_state(db) -> tuple:
    return (one(db, "SELECT count(*), count(revoked_at) FROM auth_session"),
            one(db, "SELECT count(*) FROM account WHERE wechat_openid IS NOT NULL"), data_version(db))
