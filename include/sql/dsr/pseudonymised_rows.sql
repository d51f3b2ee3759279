-- The rows of one table kept for the law, with the person replaced by this pseudonym.
SELECT count(*) FROM {schema}.{table} WHERE {pseudonym_column} = %(pseudonym)s
