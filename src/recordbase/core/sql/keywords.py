"""Words an identifier must be quoted as on SQLite or PostgreSQL (SQLite's keyword list, plus
PostgreSQL's reserved words it lacks). Quoting only these keeps unknown names errors on SQLite,
which reads an unknown double-quoted name as a string."""

KEYWORDS = frozenset(
    """
    abort action add after all alter always analyze and as asc attach autoincrement before begin
    between by cascade case cast check collate column commit conflict constraint create cross current
    current_date current_time current_timestamp database default deferrable deferred delete desc
    detach distinct do drop each else end escape except exclude exclusive exists explain fail filter
    first following for foreign from full generated glob group groups having if ignore immediate in
    index indexed initially inner insert instead intersect into is isnull join key last left like limit
    match materialized natural no not nothing notnull null nulls of offset on or order others outer
    over partition plan pragma preceding primary query raise range recursive references regexp
    reindex release rename replace restrict returning right rollback row rows savepoint select set
    table temp temporary then ties to transaction trigger unbounded union unique update using vacuum
    values view virtual when where window with without
    analyse any array asymmetric both current_catalog current_role current_schema current_user fetch
    grant lateral leading localtime localtimestamp only placing session_user some symmetric trailing
    true false user variadic authorization binary collation concurrently freeze ilike overlaps
    similar tablesample verbose
    """.split()  # noqa: SIM905 - a word list reads better as text
)
