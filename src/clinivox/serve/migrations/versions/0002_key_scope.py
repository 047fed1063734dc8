"""API key scopes (user / admin) and an index on sessions.key_id for per-key listings.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scope", sa.String(16), nullable=False,
                                   server_default="user"))
    op.create_index("ix_sessions_key_id", "sessions", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_sessions_key_id", "sessions")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scope")
