-- The accounts with this email address (compared case-insensitively): the email finds the
-- person and is then forgotten. {table}, {key}, {email} come from the policy, quoted.
SELECT {key} FROM {schema}.{table} WHERE lower({email}) = lower(%(email)s) ORDER BY {key} LIMIT 2
