-- Whether this role can drop a partition of the table through
-- governance.drop_partition_keeping_held: the function exists, this role may execute it, and its
-- owner owns the table (or is a superuser), which detaching and dropping require. One row:
-- NULL when it can, else the reason.
SELECT CASE
    WHEN function.oid IS NULL THEN 'governance.drop_partition_keeping_held does not exist (apply '
                                   'include/sql/schema/governance.sql)'
    WHEN NOT has_function_privilege(function.oid, 'EXECUTE') THEN 'this role may not execute '
        'governance.drop_partition_keeping_held (include/sql/schema/grants.sql grants it to governance_workflow)'
    WHEN NOT pg_has_role(function.proowner, parent.relowner, 'USAGE') THEN 'the owner of '
        'governance.drop_partition_keeping_held does not own the table (apply governance.sql as its owner)'
END AS why_not
FROM (SELECT to_regclass(quote_ident(%(schema)s) || '.' || quote_ident(%(table)s)) AS oid) AS target
JOIN pg_class AS parent ON parent.oid = target.oid
LEFT JOIN pg_proc AS function ON function.oid = to_regprocedure('governance.drop_partition_keeping_held(regclass, name)')
