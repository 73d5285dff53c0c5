"""Point-in-time recovery's journal on PostgreSQL: the same rows SQLite's triggers write
(emulator/userpools/ops/point_in_time_recovery.py), from PL/pgSQL trigger functions. Row images are
JSON, which keeps every digit of a double."""

from __future__ import annotations

_PG_NOW = ("COALESCE(CAST(NULLIF((SELECT value FROM emulator_state WHERE key = 'clock_frozen_at'), '') "
           "AS DOUBLE PRECISION), EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION + "
           "COALESCE((SELECT CAST(value AS DOUBLE PRECISION) FROM emulator_state WHERE key = 'clock_offset'), 0))")


def postgres_triggers(tracked: dict[str, tuple[tuple[str, ...], str]], retention: float) -> list[str]:
    """The statements that install the journal: a trigger function per tracked table (table ->
    (key columns, entity)), and one on user_pools for feature plan changes and deletions."""
    out = [f"CREATE OR REPLACE FUNCTION pitr_now() RETURNS DOUBLE PRECISION LANGUAGE sql AS $$ SELECT {_PG_NOW} $$"]
    # The time is read once per row into `t`: pitr_now() in the DELETE's condition would be read for
    # every journal row the scan meets (it is volatile), not once as an index bound.
    journal = ("INSERT INTO pitr_journal(pool_id, table_name, row_key, op, at, image) "
               "VALUES({a}.pool_id, '{t}', {k}, '{op}', t, {img});")
    for table, (key_cols, _entity) in tracked.items():
        def key(alias: str, key_cols=key_cols) -> str:
            return "concat_ws(E'\\n', " + ", ".join(f"{alias}.{c}" for c in key_cols) + ")"

        def live(alias: str) -> str:
            return f"EXISTS (SELECT 1 FROM user_pools WHERE id = {alias}.pool_id)"

        out.append(
            f"CREATE OR REPLACE FUNCTION pitr_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"DECLARE t DOUBLE PRECISION := pitr_now(); BEGIN "
            f"IF TG_OP = 'INSERT' THEN IF {live('NEW')} THEN "
            f"DELETE FROM pitr_journal WHERE pool_id = NEW.pool_id AND at < t - {retention}; "
            + journal.format(a="NEW", t=table, k=key("NEW"), op="INSERT", img="NULL") + " END IF; "
            f"ELSIF TG_OP = 'UPDATE' THEN IF {live('OLD')} THEN "
            + journal.format(a="OLD", t=table, k=key("OLD"), op="UPDATE", img="row_to_json(OLD)::text")
            + f" IF {key('NEW')} <> {key('OLD')} OR NEW.pool_id <> OLD.pool_id THEN "
            + journal.format(a="NEW", t=table, k=key("NEW"), op="INSERT", img="NULL") + " END IF; END IF; "
            f"ELSIF {live('OLD')} THEN "
            + journal.format(a="OLD", t=table, k=key("OLD"), op="DELETE", img="row_to_json(OLD)::text")
            + " END IF; RETURN NULL; END $$")
        out.append(f"DROP TRIGGER IF EXISTS pitr_{table} ON {table}")
        out.append(f"CREATE TRIGGER pitr_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION pitr_{table}()")
    tier = "({r}.data::json->>'UserPoolTier')"
    out.append(
        "CREATE OR REPLACE FUNCTION pitr_user_pools() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP = 'UPDATE' THEN IF {tier.format(r='OLD')} IS DISTINCT FROM {tier.format(r='NEW')} THEN "
        "INSERT INTO pitr_tier_changes(pool_id, at, old_tier, new_tier) VALUES(OLD.id, pitr_now(), "
        f"{tier.format(r='OLD')}, {tier.format(r='NEW')}); END IF; "
        "ELSE DELETE FROM pitr_journal WHERE pool_id = OLD.id; DELETE FROM pitr_tier_changes WHERE pool_id = OLD.id; "
        "DELETE FROM pitr_recoveries WHERE pool_id = OLD.id; END IF; RETURN NULL; END $$")
    out.append("DROP TRIGGER IF EXISTS pitr_user_pools ON user_pools")
    out.append("CREATE TRIGGER pitr_user_pools AFTER UPDATE OR DELETE ON user_pools "
               "FOR EACH ROW EXECUTE FUNCTION pitr_user_pools()")
    return out


