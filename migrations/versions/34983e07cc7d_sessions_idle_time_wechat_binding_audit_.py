"""sessions idle time, wechat binding, audit log

Revision ID: 34983e07cc7d
Revises: fcd3a2e442ee
Create Date: 2026-11-29 21:41:44.905024
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '34983e07cc7d'
down_revision = 'fcd3a2e442ee'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('mine_id', sa.Integer(), nullable=True),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('old_value', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('new_value', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['mine_id'], ['mine.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_account_action_at', ['account_id', 'action', 'at'], unique=False)
        batch_op.create_index('ix_audit_mine_at', ['mine_id', 'at'], unique=False)

    with op.batch_alter_table('mine', schema=None) as batch_op:
        batch_op.create_index('ix_mine_lat_lng', ['lat', 'lng'], unique=False)

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wechat_openid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_account_wechat_openid', ['wechat_openid'])

    # Existing sessions count as last seen when they were created.
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute("UPDATE auth_session SET last_seen_at = created_at")
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)



def downgrade() -> None:
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')

    with op.batch_alter_table('mine', schema=None) as batch_op:
        batch_op.drop_index('ix_mine_lat_lng')

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint('uq_account_wechat_openid', type_='unique')
        batch_op.drop_column('wechat_openid')

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_mine_at')
        batch_op.drop_index('ix_audit_account_action_at')

    op.drop_table('audit_log')
