"""replace_rows materializes a query first only when it really reads the table it replaces."""

from hedui.db import reads_itself, replace_rows, sql_text


def test_AS20_a_word_in_a_comment_or_a_cte_of_the_name_is_no_reading_of_the_table():
    """AS20: `-- Household figures …` in figures.sql and a CTE `facts as (…)` in facts.sql made replace_rows write
    the run's figures, findings and facts twice (first into a temp table, then the table). A
    reference outside comments and strings, or inside the CTE's own body, still is one."""
    for model in ("figures", "findings", "facts"):
        assert not reads_itself(sql_text(f"assess/{model}.sql"), model)
    assert not reads_itself("-- the figures\nselect 'figures' as t /* figures */", "figures")
    assert not reads_itself("with facts as (select 1 as x) select * from facts", "facts")
    assert reads_itself("select * from facts where run_date < $run_date", "facts")
    assert reads_itself("with facts as (select * from facts where run_date < '1') select * from facts", "facts")
    assert reads_itself("with a as (select 1) select * from a, facts", "facts")


def test_AS21_a_query_that_reads_its_table_still_sees_the_rows_it_replaces():
    """AS21: replace_rows over a query reading its own table (the old rows of the run) still works."""
    import duckdb

    con = duckdb.connect()
    con.sql("create table t as select '1' as run_date, 5 as v")
    n = replace_rows(con, "t", "select run_date, v + 1 as v from t where run_date = $run_date", {"run_date": "1"}, "1")
    assert n == 1 and con.sql("select v from t").fetchall() == [(6,)]
