-- Every table and column in a schema, to check policy files against the live database.
SELECT table_name, column_name
FROM information_schema.columns
WHERE table_schema = %(schema)s
