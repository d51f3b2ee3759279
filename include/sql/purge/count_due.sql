-- How many rows a rule would touch now, and how many of them a legal hold protects.
-- Held rows are counted with the hold test in WHERE, where the planner can join the few
-- held subjects to the table, instead of running the test as a subquery for every due row;
-- eligible = due - held. One statement, so both counts read the same snapshot.
SELECT due.n - held.n AS eligible, held.n AS held
FROM (SELECT count(*) AS n FROM {table} AS t WHERE {due}) AS due,
     (SELECT count(*) AS n FROM {table} AS t WHERE {due} AND {held}) AS held
