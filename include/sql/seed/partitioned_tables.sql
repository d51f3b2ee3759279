-- Which of the named app tables are partitioned now: the seeder rebuilds a table whose shape is
-- not the one it was asked for, and leaves a plain table that should stay plain alone.
SELECT c.relname
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'app' AND c.relname = ANY(%(tables)s) AND c.relkind = 'p'
ORDER BY c.relname
